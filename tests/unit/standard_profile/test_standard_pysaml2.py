"""pysaml2, configured as a department would, reads the hub's standard-profile Response.

The service's `Saml2Client` trusts the hub through the signed federation metadata, wants the Response
and the assertions signed, and decrypts with its encryption key pair. pysaml2 verifies and decrypts with
the `xmlsec1` command-line tool (Debian's 1.2), which knows XML-Enc 1.0's `rsa-oaep-mgf1p` but not
XML-Enc 1.1's `rsa-oaep`: a service on pysaml2 sets `key_transport: rsa-oaep-mgf1p` (the last test).
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from lxml import etree
from saml2 import BINDING_HTTP_POST
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.response import UnsolicitedResponse
from saml2.sigver import get_xmlsec_binary
from standard_support import EXPECTED_ALL, EXPECTED_MATCHING, IDP_PID, StandardFederation

from federation import xmlsecurity
from federation.config import RelyingParty
from federation.loa import LevelOfAssurance
from federation.saml import constants as c
from federation.saml.constants import MatchingOutcome
from federation.saml.standard import pairwise_id
from federation.xmlsecurity import KeyTransport

pytestmark = pytest.mark.interop  # pysaml2 runs the xmlsec1 command-line tool


@pytest.fixture(scope="module")
def metadata_file(standard: StandardFederation, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pysaml2") / "federation-metadata.xml"
    path.write_bytes(standard.metadata)
    return path


def department_client(standard: StandardFederation, rp: RelyingParty, metadata_file: Path) -> Saml2Client:
    """pysaml2's SP configuration as its documentation has a service write it, for `rp`."""
    keys = standard.keys_dir
    config = SPConfig()
    config.load(
        {
            "entityid": rp.entity_id,
            "xmlsec_binary": get_xmlsec_binary(["/usr/bin"]),
            "key_file": str(keys / "test-rp-signing.key"),
            "cert_file": str(keys / "test-rp-signing.crt"),
            "encryption_keypairs": [
                {"key_file": str(keys / "test-rp-encryption.key"), "cert_file": str(keys / "test-rp-encryption.crt")}
            ],
            "metadata": {"local": [str(metadata_file)]},
            # The catalogue's names are the profile's own, not in pysaml2's attribute maps: keep them as sent.
            "allow_unknown_attributes": True,
            "service": {
                "sp": {
                    "endpoints": {"assertion_consumer_service": [(rp.default_acs_url(), BINDING_HTTP_POST)]},
                    "name_id_format": c.NAMEID_FORMAT_PERSISTENT,
                    "authn_requests_signed": True,
                    "want_response_signed": True,
                    "want_assertions_signed": True,
                    "allow_unsolicited": False,
                    # pysaml2 reads the algorithms for what it signs here, inside service.sp, only
                    "signing_algorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                    "digest_algorithm": "http://www.w3.org/2001/04/xmlenc#sha256",
                }
            },
        }
    )
    return Saml2Client(config=config)


def read(client: Saml2Client, response: etree._Element, request_id: str):
    saml_response = base64.b64encode(xmlsecurity.to_bytes(response)).decode()
    return client.parse_authn_request_response(saml_response, BINDING_HTTP_POST, outstanding={request_id: "/"})


def test_reads_a_service_without_matching(standard: StandardFederation, metadata_file: Path) -> None:
    rp = standard.non_matching_rp
    request_id, response = standard.response(
        rp, key_transport=KeyTransport.RSA_OAEP_MGF1P, level=LevelOfAssurance.LEVEL_1
    )
    parsed = read(department_client(standard, rp, metadata_file), response, request_id)
    assert parsed.in_response_to == request_id and parsed.issuer() == standard.config.hub.entity_id
    assert parsed.name_id.text == pairwise_id(standard.idp_entity_id, rp.entity_id, IDP_PID)
    assert parsed.name_id.format == c.NAMEID_FORMAT_PERSISTENT
    assert parsed.name_id.name_qualifier == standard.config.hub.entity_id
    assert parsed.name_id.sp_name_qualifier == rp.entity_id
    assert [info[0] for info in parsed.authn_info()] == [LevelOfAssurance.LEVEL_1.uri]
    assert parsed.ava == EXPECTED_ALL


def test_reads_a_service_with_matching(standard: StandardFederation, metadata_file: Path) -> None:
    rp = standard.matching_rp
    request_id, response = standard.response(
        rp, key_transport=KeyTransport.RSA_OAEP_MGF1P, matching_outcome=MatchingOutcome.ACCOUNT_CREATED
    )
    parsed = read(department_client(standard, rp, metadata_file), response, request_id)
    assert parsed.name_id.text == pairwise_id(standard.idp_entity_id, rp.matching_service_entity_id, IDP_PID)
    assert [info[0] for info in parsed.authn_info()] == [LevelOfAssurance.LEVEL_2.uri]
    assert parsed.ava == {**EXPECTED_MATCHING, "matching_outcome": ["account-created"]}


def test_refuses_a_response_it_did_not_ask_for(standard: StandardFederation, metadata_file: Path) -> None:
    """The library's own checks are on: the positive tests above are not vacuous."""
    rp = standard.non_matching_rp
    request_id, response = standard.response(rp, key_transport=KeyTransport.RSA_OAEP_MGF1P)
    client = department_client(standard, rp, metadata_file)
    saml_response = base64.b64encode(xmlsecurity.to_bytes(response)).decode()
    with pytest.raises(UnsolicitedResponse, match=f"Unsolicited response: {request_id}"):
        client.parse_authn_request_response(saml_response, BINDING_HTTP_POST, outstanding={"_another": "/"})


def test_cannot_read_xmlenc11_rsa_oaep(
    standard: StandardFederation, metadata_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Debian's xmlsec1 1.2 cannot unwrap XML-Enc 1.1 `rsa-oaep`: such a service sets `rsa-oaep-mgf1p`.

    pysaml2 7.5 does not raise: it logs xmlsec1's failure and returns a Success response with no assertion
    (no NameID, no attributes), so a service must also check that an assertion is there (`get_subject()`).
    """
    rp = standard.non_matching_rp
    request_id, response = standard.response(rp, key_transport=KeyTransport.RSA_OAEP)
    parsed = read(department_client(standard, rp, metadata_file), response, request_id)
    assert "href=http://www.w3.org/2009/xmlenc11#rsa-oaep" in caplog.text  # xmlsec1: unknown algorithm
    assert parsed.status_ok() and parsed.assertion is None and parsed.name_id is None and parsed.ava == {}
    with pytest.raises(ValueError, match="Missing assertion"):
        parsed.get_subject()
