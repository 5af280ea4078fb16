"""The app factory: health check, its own signed metadata, the local matcher in process (`builtin:`) or over
HTTP (a URL: no records database here), never the contract on the public listener, start-up refusals."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

import pytest
import requests
from cryptography import x509

from federation import xmlsecurity
from federation.config import ConfigError, FederationConfig
from federation.credentials import load_certificate
from federation.runtime import Runtime
from federation.saml import constants as c
from matching_service.app import create_app
from matching_service.local_matcher_inprocess import InProcessLocalMatcher
from matching_service.local_matching_auth import LocalMatchingTokenError

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
TOKEN = "ms-app-tests-local-matching-token-" + "z" * 20


SEPARATE_MATCHER = "http://127.0.0.1:9/local-matching"


def _separate(config: FederationConfig, url: str = SEPARATE_MATCHER) -> FederationConfig:
    """The demo federation with its matching service calling a local matcher of its own at `url`."""
    ms = dataclasses.replace(config.matching_services[0], local_matching_url=url)
    return dataclasses.replace(config, matching_services=(ms,))


def _runtime(config: FederationConfig, keys_dir: Path, var_dir: Path, **environ: str) -> Runtime:
    return Runtime(
        config=config, keys_dir=keys_dir, var_dir=var_dir, environ={"LOCAL_MATCHING_TOKEN": TOKEN, **environ}
    )


def _never_fetch(url: str, timeout: float) -> bytes:
    raise requests.ConnectionError("no hub here: these endpoints need no federation metadata")


@pytest.fixture(params=["separate-matcher", "builtin-matcher"])
def client(request, federation_config, keys_dir, tmp_path):
    config = _separate(federation_config) if request.param == "separate-matcher" else federation_config
    return create_app(_runtime(config, keys_dir, tmp_path), metadata_fetch=_never_fetch).test_client()


def test_healthcheck(client):
    answer = client.get("/healthcheck")
    # alive, and saying that the federation metadata is not loaded yet (the hub is not up)
    assert answer.status_code == 200 and answer.get_json() == {"status": "ok", "metadata": "loading"}


def test_with_a_separate_matcher_the_public_process_opens_no_records_database(federation_config, keys_dir, tmp_path):
    create_app(_runtime(_separate(federation_config), keys_dir, tmp_path), metadata_fetch=_never_fetch)
    assert not (tmp_path / "matching-service.sqlite3").exists()  # the local matcher's, on its own listener


def test_the_builtin_matcher_opens_the_records_in_process_without_a_token(federation_config, keys_dir, tmp_path):
    runtime = Runtime(config=federation_config, keys_dir=keys_dir, var_dir=tmp_path, environ={})
    app = create_app(runtime, metadata_fetch=_never_fetch)
    assert isinstance(app.extensions["matching_service"]._local, InProcessLocalMatcher)
    assert (tmp_path / "matching-service.sqlite3").exists()


@pytest.mark.parametrize("path", ["/local-matching/match", "/local-matching/create-user", "/local-matching/"])
@pytest.mark.parametrize("authorization", [None, f"Bearer {TOKEN}"])
def test_the_local_matching_contract_is_not_served_on_the_public_listener(client, path, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    body = {"matchId": "x", "hashedPid": "a" * 64, "levelOfAssurance": "LEVEL_2"}
    assert client.post(path, json=body, headers=headers).status_code == 404
    assert client.get(path, headers=headers).status_code == 404


def test_a_separate_matcher_without_a_local_matching_token_refuses_to_start(federation_config, keys_dir, tmp_path):
    runtime = Runtime(config=_separate(federation_config), keys_dir=keys_dir, var_dir=tmp_path, environ={})
    with pytest.raises(LocalMatchingTokenError, match="LOCAL_MATCHING_TOKEN"):
        create_app(runtime, metadata_fetch=_never_fetch)


def test_metadata_is_signed_by_the_matching_service(client, federation_config, keys_dir):
    answer = client.get("/matching-service/SAML2/metadata")
    assert answer.status_code == 200 and answer.content_type == "application/samlmetadata+xml"
    ms = federation_config.matching_services[0]
    document = xmlsecurity.parse_xml(answer.data)
    signed = xmlsecurity.verify(document, [load_certificate(keys_dir / "test-rp-ms-signing.crt")])
    assert signed.tag == f"{{{MD}}}EntityDescriptor" and signed.get("entityID") == ms.entity_id
    assert signed.get("validUntil")
    authority = signed.find(f"{{{MD}}}AttributeAuthorityDescriptor")
    service = authority.find(f"{{{MD}}}AttributeService")
    assert service.get("Binding") == c.BINDING_SOAP and service.get("Location") == ms.attribute_query_url

    def certificates(use: str) -> list[x509.Certificate]:
        path = f"{{{MD}}}KeyDescriptor[@use='{use}']//{{{c.DS_NS}}}X509Certificate"
        return [x509.load_der_x509_certificate(base64.b64decode(e.text)) for e in authority.findall(path)]

    assert certificates("signing") == [cert.certificate for cert in ms.signing_certificates]
    assert certificates("encryption") == [ms.encryption_certificate.certificate]


def test_metadata_does_not_verify_with_another_key(client, keys_dir):
    document = xmlsecurity.parse_xml(client.get("/matching-service/SAML2/metadata").data)
    with pytest.raises(xmlsecurity.SignatureError):
        xmlsecurity.verify(document, [load_certificate(keys_dir / "test-rp-signing.crt")])


def test_unknown_matching_service_name_refuses_to_start(federation_config, keys_dir, tmp_path):
    with pytest.raises(ConfigError, match="no matching service named 'nobody'"):
        create_app(_runtime(federation_config, keys_dir, tmp_path, MATCHING_SERVICE_NAME="nobody"))


def test_keys_the_federation_does_not_know_refuse_to_start(federation_config, keys_dir, tmp_path):
    ms = federation_config.matching_services[0]
    foreign = dataclasses.replace(ms, signing_certificates=federation_config.relying_parties[0].signing_certificates)
    config = dataclasses.replace(federation_config, matching_services=(foreign,))
    with pytest.raises(ConfigError, match="signing_certificates"):
        create_app(_runtime(config, keys_dir, tmp_path))
