"""A fresh matching service (its own records database) per test, under a real HTTP server; its local matcher
over HTTP on a server of its own, or built in (each test runs with both)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ms_saml_support import Harness, running_matching_service, users


@pytest.fixture(params=["separate-matcher", "builtin-matcher"])
def ms(request: pytest.FixtureRequest, keys_dir: Path, tmp_path: Path) -> Iterator[Harness]:
    """Every SAML test runs against both ways of reaching the local matcher: they must answer alike."""
    separate = request.param == "separate-matcher"
    with running_matching_service(keys_dir, tmp_path, separate_local_matcher=separate) as harness:
        yield harness


@pytest.fixture(scope="session")
def test_users() -> dict[str, dict[str, Any]]:
    return users()
