"""The stub IDP process serves the identity providers whose keys it holds and leaves out the rest."""

from __future__ import annotations

import logging
import shutil

import pytest
from stub_idp_support import Journey

from federation.config import load_federation_config
from federation.credentials import load_entity_credentials
from federation.metadata import MetadataSource
from federation.runtime import Runtime
from stub_idps.app import create_app
from tests.support.real_idp import REAL_IDP_ENTITY_ID, config_with_real_idp


@pytest.fixture(scope="module")
def real_idp_config(tmp_path_factory, keys_dir):
    path = config_with_real_idp(tmp_path_factory.mktemp("real-idp"))
    return load_federation_config(path, keys_dir=keys_dir, variables={})


def _app(config, keys_dir, signed_metadata, tmp_path):
    runtime = Runtime(config=config, keys_dir=keys_dir, var_dir=tmp_path, environ={"STUB_IDP_HEADLESS": "1"})
    source = MetadataSource.for_config(config, fetch=lambda url, timeout: signed_metadata)
    app = create_app(runtime, metadata_source=source)
    app.testing = True
    return app


def test_a_real_idp_beside_the_stubs_is_left_out_with_one_log_line(
    real_idp_config, keys_dir, signed_metadata, tmp_path, caplog
):
    with caplog.at_level(logging.INFO, logger="stub_idps.app"):
        app = _app(real_idp_config, keys_dir, signed_metadata, tmp_path)
    left_out = [r.getMessage() for r in caplog.records if "not serving identity provider" in r.getMessage()]
    assert left_out == [
        f"not serving identity provider real-idp ({REAL_IDP_ENTITY_ID}):"
        f" no signing key real-idp-signing.key in {keys_dir}"
    ]
    client = app.test_client()
    index = client.get("/").get_data(as_text=True)
    assert REAL_IDP_ENTITY_ID not in index and "https://stub-idp-two.federation.test" in index
    assert client.post("/real-idp/SAML2/SSO", data={"SAMLRequest": "x"}).status_code == 404
    hub_keys = load_entity_credentials(keys_dir, "hub")
    journey = Journey(client, real_idp_config, hub_keys, "stub-idp-two")
    assert journey.start().status_code == 303  # the stubs still work


def test_a_key_that_is_not_the_configured_certificates_is_left_out(
    real_idp_config, keys_dir, signed_metadata, tmp_path, caplog
):
    """stub-idp-one's key file replaced by stub-idp-two's: it would sign answers the hub cannot verify."""
    keys = tmp_path / "keys"
    shutil.copytree(keys_dir, keys)
    (keys / "stub-idp-one-signing.key").write_bytes((keys_dir / "stub-idp-two-signing.key").read_bytes())
    config = load_federation_config(real_idp_config.source, keys_dir=keys, variables={})
    with caplog.at_level(logging.INFO, logger="stub_idps.app"):
        app = _app(config, keys, signed_metadata, tmp_path)
    assert any(
        "not serving identity provider stub-idp-one" in r.getMessage()
        and "matches none of its signing_certificates" in r.getMessage()
        for r in caplog.records
    )
    assert app.test_client().post("/stub-idp-one/SAML2/SSO", data={"SAMLRequest": "x"}).status_code == 404


def test_no_key_at_all_stops_start_up_with_a_message(real_idp_config, keys_dir, signed_metadata, tmp_path):
    empty = tmp_path / "no-keys"
    empty.mkdir()
    with pytest.raises(ValueError, match="no identity provider of the federation config has its signing key"):
        _app(real_idp_config, empty, signed_metadata, tmp_path)
