"""Signed federation metadata: built by the hub, verified against the root CA, refreshed, last good kept."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import shutil
import subprocess

import pytest

from federation import xmlsecurity as xs
from federation.credentials import load_certificate, load_signing_credential
from federation.metadata import (
    MetadataError,
    MetadataSource,
    build_federation_metadata,
    parse_federation_metadata,
)


@pytest.fixture(scope="module")
def metadata_key(keys_dir):
    return load_signing_credential(keys_dir / "metadata-signing.key", keys_dir / "metadata-signing.crt")


@pytest.fixture(scope="module")
def chain(keys_dir):
    return [load_certificate(keys_dir / "metadata-ca.crt")]


@pytest.fixture(scope="module")
def signed(federation_config, metadata_key, chain):
    return build_federation_metadata(federation_config, metadata_key, chain=chain)


def read(data, config, **kw):
    return parse_federation_metadata(
        data,
        trust_anchor=config.metadata.trust_anchor.certificate,
        metadata_issuer=config.metadata.signing_certificate.certificate.issuer,
        hub_entity_id=config.hub.entity_id,
        **kw,
    )


def test_round_trip_describes_hub_and_every_idp(signed, federation_config):
    md = read(signed, federation_config)
    assert md.hub.entity_id == federation_config.hub.entity_id
    assert md.hub.sso_url == federation_config.hub.sso_url
    assert md.hub.response_url == federation_config.hub.response_url
    assert md.hub.signing_certificates == tuple(c.certificate for c in federation_config.hub.signing_certificates)
    assert {i.entity_id for i in federation_config.identity_providers} == set(md.identity_providers)
    for idp in federation_config.identity_providers:
        assert md.identity_providers[idp.entity_id].sso_url == idp.sso_url
        assert md.signing_certificates(idp.entity_id) == tuple(c.certificate for c in idp.signing_certificates)
    assert md.valid_until > dt.datetime.now(dt.UTC) + dt.timedelta(hours=23)


def test_two_signing_certificates_for_rotation(federation_config, metadata_key, chain, keys_dir):
    next_cert = load_certificate(keys_dir / "hub-oidc-signing-next.crt")  # any certificate of the hub's CA
    current = federation_config.hub.signing_certificates[0]
    rotating = dataclasses.replace(
        federation_config,
        hub=dataclasses.replace(
            federation_config.hub,
            signing_certificates=(current, dataclasses.replace(current, certificate=next_cert)),
        ),
    )
    md = read(build_federation_metadata(rotating, metadata_key, chain=chain), federation_config)
    assert md.hub.signing_certificates == (current.certificate, next_cert)


@pytest.mark.interop
def test_xmlsec1_accepts_the_signature(signed, tmp_path, keys_dir):
    assert shutil.which("xmlsec1"), "make test installs xmlsec1"
    (tmp_path / "md.xml").write_bytes(signed)
    result = subprocess.run(
        ["xmlsec1", "--verify", "--pubkey-cert-pem", str(keys_dir / "metadata-signing.crt"),
         "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:metadata:EntitiesDescriptor", str(tmp_path / "md.xml")],
        capture_output=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()


def test_tampered_metadata_refused(signed, federation_config):
    tampered = signed.replace(b"/SAML2/SSO", b"/evil/SSO", 1)
    with pytest.raises(xs.SignatureError):
        read(tampered, federation_config)


def test_metadata_signed_by_an_idp_key_is_refused(federation_config, keys_dir):
    # The IDP's key chains to the same root, through the IDP intermediate: it must not sign metadata.
    idp_key = load_signing_credential(keys_dir / "stub-idp-one-signing.key", keys_dir / "stub-idp-one-signing.crt")
    forged = build_federation_metadata(federation_config, idp_key, chain=[load_certificate(keys_dir / "idp-ca.crt")])
    with pytest.raises(MetadataError) as err:
        read(forged, federation_config)
    assert err.value.reason == "wrong-issuer"


def test_expired_metadata_refused(federation_config, metadata_key, chain):
    old = build_federation_metadata(
        federation_config, metadata_key, chain=chain, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    )
    with pytest.raises(MetadataError) as err:
        read(old, federation_config)
    assert err.value.reason == "expired"


def test_missing_chain_refused(federation_config, metadata_key):
    with pytest.raises(MetadataError) as err:
        read(build_federation_metadata(federation_config, metadata_key), federation_config)
    assert err.value.reason == "chain-missing"


def test_source_keeps_last_good_copy(signed, federation_config, caplog):
    served = {"body": signed}

    def fetch(url, timeout):
        if isinstance(served["body"], Exception):
            raise served["body"]
        return served["body"]

    source = MetadataSource.for_config(federation_config, fetch=fetch)
    good = source.current
    served["body"] = signed.replace(b"/SAML2/SSO", b"/evil/SSO", 1)
    with caplog.at_level(logging.ERROR):
        assert source.refresh() is False
    assert "keeping the last good copy" in caplog.text
    assert source.current is good
    served["body"] = OSError("connection refused")
    assert source.refresh() is False
    assert source.current is good
    served["body"] = signed
    assert source.refresh() is True
