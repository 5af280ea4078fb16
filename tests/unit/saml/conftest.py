"""Real keys for the SAML tests: self-signed certificates made once per test session."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from saml_support import Keys, make_keys


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("saml-keys"))


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
