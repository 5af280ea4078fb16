"""The stub IDPs under Flask's test client, trusting federation metadata signed here with the real metadata key.

Only the metadata *transport* is replaced (the fetch function returns bytes instead of calling the hub):
the metadata is built and signed by federation.metadata and verified by the app exactly as in production.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from stub_idp_support import Journey

from federation.credentials import load_certificate, load_entity_credentials, load_signing_credential
from federation.metadata import MetadataSource, build_federation_metadata
from federation.runtime import Runtime
from stub_idps.app import create_app


@pytest.fixture(scope="session")
def signed_metadata(federation_config, keys_dir) -> bytes:
    key = load_signing_credential(keys_dir / "metadata-signing.key", keys_dir / "metadata-signing.crt")
    return build_federation_metadata(federation_config, key, chain=[load_certificate(keys_dir / "metadata-ca.crt")])


@pytest.fixture(scope="session")
def hub_keys(keys_dir):
    return load_entity_credentials(keys_dir, "hub")


@pytest.fixture(scope="session")
def make_app(federation_config, keys_dir, signed_metadata, tmp_path_factory) -> Callable:
    def make(environ: dict[str, str] | None = None, fetch: Callable | None = None):
        var_dir = tmp_path_factory.mktemp("var")
        environ = {"STUB_IDP_HEADLESS": "1", **(environ or {})}  # the test tool's instant answers, on
        runtime = Runtime(config=federation_config, keys_dir=keys_dir, var_dir=var_dir, environ=environ)
        source = MetadataSource.for_config(federation_config, fetch=fetch or (lambda url, timeout: signed_metadata))
        app = create_app(runtime, metadata_source=source)
        app.testing = True
        return app

    return make


@pytest.fixture(scope="module")
def app(make_app):
    """One app per test module (compiling the GOV.UK templates is the slow part); a fresh browser per test."""
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def journey(client, federation_config, hub_keys) -> Callable[[str], Journey]:
    return lambda idp_name: Journey(client, federation_config, hub_keys, idp_name)
