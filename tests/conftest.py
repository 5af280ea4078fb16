"""Fixtures shared by every test suite: one development PKI per test session, and the demo federation."""

from __future__ import annotations

from pathlib import Path

import pytest

from federation.config import FederationConfig, load_federation_config
from federation.demo import DEMO_CONFIG
from keys.generate import generate


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete development PKI, generated once per session (about two seconds)."""
    directory = tmp_path_factory.mktemp("pki") / "keys"
    generate(directory)
    return directory


@pytest.fixture(scope="session")
def demo_config_path() -> Path:
    return DEMO_CONFIG


@pytest.fixture(scope="session")
def federation_config(keys_dir: Path, demo_config_path: Path) -> FederationConfig:
    """The demo federation with its default localhost URLs (the environment is deliberately ignored)."""
    return load_federation_config(demo_config_path, keys_dir=keys_dir, variables={})
