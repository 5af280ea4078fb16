"""A fresh matching service (its own records database) per test, under a real HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ms_saml_support import Harness, running_matching_service, users


@pytest.fixture
def ms(keys_dir: Path, tmp_path: Path) -> Iterator[Harness]:
    with running_matching_service(keys_dir, tmp_path) as harness:
        yield harness


@pytest.fixture(scope="session")
def test_users() -> dict[str, dict[str, Any]]:
    return users()
