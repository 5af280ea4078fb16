"""One standard-profile federation per test session, on the session's development PKI."""

from __future__ import annotations

from pathlib import Path

import pytest
from standard_support import StandardFederation, standard_federation


@pytest.fixture(scope="session")
def standard(keys_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> StandardFederation:
    return standard_federation(keys_dir, tmp_path_factory.mktemp("standard-profile"))
