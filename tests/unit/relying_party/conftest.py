"""The example service built from the demo federation, reading metadata signed in the test."""

from __future__ import annotations

import pytest
from rp_support import Parties, parties

from federation.runtime import Runtime
from relying_party_example.app import create_app


@pytest.fixture(scope="session")
def fed(keys_dir, federation_config) -> Parties:
    return parties(keys_dir, federation_config)


@pytest.fixture(scope="module")
def app(fed, keys_dir, federation_config, tmp_path_factory):
    """One app per module (templates compile once); each test gets its own browser (`client`)."""
    runtime = Runtime(
        config=federation_config,
        keys_dir=keys_dir,
        var_dir=tmp_path_factory.mktemp("rp-var"),
        environ={"RP_SECRET_KEY": "test-secret"},
    )
    app = create_app(runtime, metadata_fetch=lambda url, timeout: fed.metadata)
    yield app
    app.extensions["relying_party_example"]["metadata"].stop()


@pytest.fixture
def client(app):
    return app.test_client()
