"""python3-saml (OneLogin), configured as a department would, reads the hub's standard-profile Response.

Strict mode, signed Responses and signed, encrypted assertions required, deprecated algorithms refused,
the hub's signing certificate and the service's own key: nothing here is loosened for the hub. The
library decrypts with the `xmlsec` binding (libxmlsec1 in process) and checks every document against the
SAML schemas, which is why `rsa-oaep` sends no `xenc11:MGF` element (see the last test).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from lxml import etree
from onelogin.saml2.errors import OneLogin_Saml2_ValidationError
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings
from standard_support import EXPECTED_ALL, EXPECTED_MATCHING, IDP_PID, MDS, StandardFederation

from federation import xmlsecurity
from federation.config import RelyingParty
from federation.loa import LevelOfAssurance
from federation.saml import constants as c
from federation.saml.constants import MatchingOutcome
from federation.saml.response import Status, build_response, encrypt_assertion
from federation.saml.standard import build_standard_assertion, pairwise_id, released_attributes
from federation.xmlsecurity import KeyTransport
from tests.support.examples import load_example

BOTH = pytest.mark.parametrize("key_transport", list(KeyTransport))


def department_settings(standard: StandardFederation, rp: RelyingParty) -> OneLogin_Saml2_Settings:
    """python3-saml's settings for `rp` as the integration guide has a department write them."""
    keys, hub = standard.keys_dir, standard.config.hub
    settings = load_example("python3_saml_settings").saml_settings(
        entity_id=rp.entity_id,
        acs_url=rp.default_acs_url(),
        # python3-saml has one SP key for signing requests and decrypting: the encryption key pair
        certificate_pem=(keys / "test-rp-encryption.crt").read_text(),
        private_key_pem=(keys / "test-rp-encryption.key").read_text(),
        hub_entity_id=hub.entity_id,
        hub_sso_url=hub.sso_url,
        hub_certificate_pem=(keys / "hub-signing.crt").read_text(),
    )
    return OneLogin_Saml2_Settings(settings, custom_base_path=None)


def posted_to(rp: RelyingParty) -> dict[str, str]:
    """The request data python3-saml wants: the ACS URL the Response was POSTed to (it checks Destination)."""
    url = urlsplit(rp.default_acs_url())
    return {"https": "on" if url.scheme == "https" else "off", "http_host": url.netloc, "script_name": url.path}


def read(standard: StandardFederation, rp: RelyingParty, response: etree._Element, request_id: str):
    saml_response = base64.b64encode(xmlsecurity.to_bytes(response)).decode()
    parsed = OneLogin_Saml2_Response(department_settings(standard, rp), saml_response)
    assert parsed.is_valid(posted_to(rp), request_id, raise_exceptions=True) is True
    return parsed


@BOTH
def test_reads_a_service_without_matching(standard: StandardFederation, key_transport: KeyTransport) -> None:
    rp = standard.non_matching_rp
    request_id, response = standard.response(rp, key_transport=key_transport, level=LevelOfAssurance.LEVEL_1)
    parsed = read(standard, rp, response, request_id)
    assert parsed.encrypted is True
    assert parsed.get_nameid() == pairwise_id(standard.idp_entity_id, rp.entity_id, IDP_PID)
    assert parsed.get_nameid_format() == c.NAMEID_FORMAT_PERSISTENT
    assert parsed.get_nameid_nq() == standard.config.hub.entity_id
    assert parsed.get_nameid_spnq() == rp.entity_id
    assert parsed.get_authn_contexts() == [LevelOfAssurance.LEVEL_1.uri]
    assert parsed.get_issuers() == [standard.config.hub.entity_id]
    assert parsed.get_in_response_to() == request_id
    assert parsed.get_attributes() == EXPECTED_ALL


@BOTH
def test_reads_a_service_with_matching(standard: StandardFederation, key_transport: KeyTransport) -> None:
    rp = standard.matching_rp
    request_id, response = standard.response(rp, key_transport=key_transport, matching_outcome=MatchingOutcome.MATCH)
    parsed = read(standard, rp, response, request_id)
    # the matching service's hashed PID: the key the department's records already use
    assert parsed.get_nameid() == pairwise_id(standard.idp_entity_id, rp.matching_service_entity_id, IDP_PID)
    assert parsed.get_authn_contexts() == ["urn:uk:gov:cabinet-office:tc:saml:authn-context:level2"]
    assert parsed.get_attributes() == EXPECTED_MATCHING


def test_refuses_the_response_for_another_request(standard: StandardFederation) -> None:
    """The library's own checks are on: the positive tests above are not vacuous."""
    rp = standard.non_matching_rp
    _, response = standard.response(rp, key_transport=KeyTransport.RSA_OAEP)
    saml_response = base64.b64encode(xmlsecurity.to_bytes(response)).decode()
    parsed = OneLogin_Saml2_Response(department_settings(standard, rp), saml_response)
    with pytest.raises(OneLogin_Saml2_ValidationError, match="InResponseTo"):
        parsed.is_valid(posted_to(rp), "_another-request", raise_exceptions=True)


def test_refuses_the_response_for_another_service(standard: StandardFederation) -> None:
    rp, other = standard.non_matching_rp, standard.matching_rp
    request_id, response = standard.response(rp, key_transport=KeyTransport.RSA_OAEP)
    saml_response = base64.b64encode(xmlsecurity.to_bytes(response)).decode()
    parsed = OneLogin_Saml2_Response(department_settings(standard, other), saml_response)
    assert parsed.is_valid(posted_to(other), request_id) is False
    assert (
        parsed.get_error()
        == f"The response was received at {other.default_acs_url()} instead of {rp.default_acs_url()}"
    )


def test_cannot_read_xmlenc11_oaep_with_an_mgf_element(standard: StandardFederation) -> None:
    """Why `rsa-oaep` sends no MGF element: python3-saml's schema check refuses `xenc11:MGF`.

    A Response, hub-signed, whose key transport names `mgf1sha1` (the very algorithm our `rsa-oaep` stands
    for by default) fails the XML-Enc 1.0 schema's strict wildcard before any decryption is tried.
    """
    rp, hub = standard.non_matching_rp, standard.config.hub
    now = datetime.now(UTC)
    assertion = build_standard_assertion(
        issuer=hub.entity_id,
        name_id="pairwise-id",
        rp_entity_id=rp.entity_id,
        acs_url=rp.default_acs_url(),
        in_response_to="_request-1",
        level=LevelOfAssurance.LEVEL_2,
        authn_instant=now,
        attributes=released_attributes(MDS, ["surname"]),
        credential=standard.hub.signing,
        now=now,
    )
    encrypted = encrypt_assertion(assertion, rp.encryption_certificate.certificate)
    method = encrypted.find("xenc:EncryptedData/ds:KeyInfo/xenc:EncryptedKey/xenc:EncryptionMethod", xmlsecurity.NS)
    etree.SubElement(method, f"{{{xmlsecurity.XENC11}}}MGF", Algorithm=xmlsecurity.XENC11 + "mgf1sha1")
    response = build_response(
        issuer=hub.entity_id,
        in_response_to="_request-1",
        status=Status(c.STATUS_SUCCESS),
        credential=standard.hub.signing,
        now=now,
        destination=rp.default_acs_url(),
        assertions=[encrypted],
    )
    saml_response = base64.b64encode(xmlsecurity.to_bytes(response)).decode()
    parsed = OneLogin_Saml2_Response(department_settings(standard, rp), saml_response)
    with pytest.raises(OneLogin_Saml2_ValidationError, match="Not match the saml-schema-protocol-2.0.xsd"):
        parsed.is_valid(posted_to(rp), "_request-1", raise_exceptions=True)
