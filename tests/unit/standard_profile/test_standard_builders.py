"""federation.saml.standard: the subject, the released attributes, the assertion and the Response.

Everything is built with the development PKI and read back with our own validating parser (the hub's
signature verified, the service's key decrypting), so each test checks what travels, not what we meant.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from standard_support import EXPECTED_ALL, EXPECTED_MATCHING, IDP_PID, MDS, StandardFederation

from federation import xmlsecurity
from federation.loa import LevelOfAssurance
from federation.saml import Address, MatchingDataset, MdsValue, SamlValidationError
from federation.saml import constants as c
from federation.saml.assertion import parse_assertion
from federation.saml.constants import SAML_NS, STANDARD_ATTRIBUTES, XSI_NS, MatchingOutcome, q
from federation.saml.hashed_pid import hashed_pid
from federation.saml.response import ResponseData, parse_response
from federation.saml.standard import (
    _EXTRACTORS,
    STANDARD_ASSERTION_VALIDITY,
    ReleasedAttribute,
    build_standard_assertion,
    pairwise_id,
    released_attributes,
    standard_attribute_statement,
    subject_id,
)
from federation.xmlsecurity import KeyTransport

IDP = "https://stub-idp-two.federation.test"
RP = "https://service.example.gov.uk/saml"
MS = "https://service.example.gov.uk/matching"
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


# --- the subject ----------------------------------------------------------------------------------------


def test_pairwise_id_is_the_hashed_pid_formula() -> None:
    expected = hashlib.sha256(f"{IDP}{RP}{IDP_PID}".encode()).hexdigest()
    assert pairwise_id(IDP, RP, IDP_PID) == expected == hashed_pid(IDP, RP, IDP_PID)
    assert len(expected) == 64 and IDP_PID not in expected


def test_subject_is_the_matching_services_hashed_pid_or_a_pairwise_id() -> None:
    with_ms = subject_id(idp_entity_id=IDP, rp_entity_id=RP, matching_service_entity_id=MS, pid=IDP_PID)
    without = subject_id(idp_entity_id=IDP, rp_entity_id=RP, matching_service_entity_id=None, pid=IDP_PID)
    assert with_ms == hashed_pid(IDP, MS, IDP_PID)  # what the department's matching service already keys on
    assert without == pairwise_id(IDP, RP, IDP_PID)
    other_rp = subject_id(idp_entity_id=IDP, rp_entity_id=RP + "/other", matching_service_entity_id=None, pid=IDP_PID)
    assert len({with_ms, without, other_rp}) == 3  # two services cannot link a citizen by NameID


# --- the attributes ---------------------------------------------------------------------------------------


def _as_dict(released: tuple[ReleasedAttribute, ...]) -> dict[str, tuple[tuple[str, ...], bool]]:
    return {a.name: (a.values, a.verified) for a in released}


def test_one_extractor_per_catalogue_name_in_order() -> None:
    assert tuple(_EXTRACTORS) == STANDARD_ATTRIBUTES


def test_current_values_with_their_verified_flags() -> None:
    released = released_attributes(MDS, STANDARD_ATTRIBUTES)
    assert [a.name for a in released] == list(STANDARD_ATTRIBUTES)
    assert _as_dict(released) == {
        "first_name": (("Siân",), True),  # the current one, not "Jane" (closed with a To date)
        "middle_names": (("Olwen Mair",), False),  # joined; unverified as soon as one is
        "surname": (("O'Brien-Jones",), True),
        "date_of_birth": (("1985-07-14",), True),
        "gender": (("FEMALE",), False),  # unverified values are released, flagged
        "address_lines": (("Flat 2", "10 Heol y Frenhines", "Caerdydd"), True),
        "postcode": (("CF10 2BH",), True),
        "uprn": (("100100106420",), True),
    }


def test_in_the_order_the_service_asked() -> None:
    assert [a.name for a in released_attributes(MDS, ["uprn", "first_name"])] == ["uprn", "first_name"]
    assert released_attributes(MDS, []) == ()


def test_absent_or_closed_values_are_not_released() -> None:
    mds = MatchingDataset(
        first_names=(MdsValue("Jane", True, to_date=date(2001, 3, 1)),),  # only a former name
        surnames=(MdsValue("Jones", False),),
        current_address=Address(lines=("1 High Street", " "), postcode=None, verified=False),
    )
    released = _as_dict(released_attributes(mds, STANDARD_ATTRIBUTES))
    assert released == {
        "surname": (("Jones",), False),
        "address_lines": (("1 High Street",), False),  # the blank line is dropped
    }


def test_an_address_that_has_ended_is_not_current() -> None:
    mds = MatchingDataset(current_address=Address(lines=("1 Old Road",), postcode="LS1 1AA", to_date=date(2020, 1, 1)))
    assert released_attributes(mds, ["address_lines", "postcode"]) == ()


def test_unknown_names_are_refused() -> None:
    with pytest.raises(ValueError, match="'MDS_firstname' is not a standard profile attribute"):
        released_attributes(MDS, ["MDS_firstname"])
    with pytest.raises(ValueError, match="not a standard profile attribute"):
        ReleasedAttribute("nino", ("AB123456C",), True)
    with pytest.raises(ValueError, match="at least one non-empty"):
        ReleasedAttribute("surname", (), True)
    with pytest.raises(ValueError, match="at least one non-empty"):
        ReleasedAttribute("surname", ("",), True)


def test_attribute_statement_plain_strings_with_companions() -> None:
    statement = standard_attribute_statement(
        released_attributes(MDS, ["first_name", "address_lines"]), [(c.MATCHING_OUTCOME, "match")]
    )
    attributes = statement.findall(q(SAML_NS, "Attribute"))
    assert [a.get("Name") for a in attributes] == [
        "first_name",
        "first_name_verified",
        "address_lines",
        "address_lines_verified",
        "matching_outcome",
    ]
    assert {a.get("NameFormat") for a in attributes} == {"urn:oasis:names:tc:SAML:2.0:attrname-format:basic"}
    assert all(a.get("FriendlyName") is None for a in attributes)
    values = statement.findall(f"{q(SAML_NS, 'Attribute')}/{q(SAML_NS, 'AttributeValue')}")
    assert {v.get(q(XSI_NS, "type")) for v in values} == {"xs:string"}
    assert all(v.nsmap["xs"] == "http://www.w3.org/2001/XMLSchema" for v in values)
    assert [[v.text for v in a] for a in attributes] == [
        ["Siân"],
        ["true"],
        ["Flat 2", "10 Heol y Frenhines", "Caerdydd"],
        ["true"],
        ["match"],
    ]


@pytest.mark.parametrize(
    "extra",
    [
        [("surname", "x")],  # a catalogue name
        [("surname_verified", "false")],  # a companion
        [(c.MATCHING_OUTCOME, "match"), (c.MATCHING_OUTCOME, "account-created")],
    ],
)
def test_an_extra_attribute_cannot_shadow_another(extra) -> None:
    with pytest.raises(ValueError, match="appears twice"):
        standard_attribute_statement(released_attributes(MDS, ["surname"]), extra)


# --- the assertion ----------------------------------------------------------------------------------------


def _assertion(standard: StandardFederation, **overrides) -> etree._Element:
    rp = standard.non_matching_rp
    args = dict(
        issuer=standard.config.hub.entity_id,
        name_id="a-pairwise-id",
        rp_entity_id=rp.entity_id,
        acs_url=rp.default_acs_url(),
        in_response_to="_rp-request-1",
        level=LevelOfAssurance.LEVEL_2,
        authn_instant=NOW - timedelta(minutes=1),
        attributes=released_attributes(MDS, ["surname"]),
        credential=standard.hub.signing,
        now=NOW,
    )
    args.update(overrides)
    return build_standard_assertion(**args)


def test_assertion_shape(standard: StandardFederation) -> None:
    rp, hub = standard.non_matching_rp, standard.config.hub
    assertion = xmlsecurity.parse_xml(xmlsecurity.to_bytes(_assertion(standard)))  # as a receiver reads it
    xmlsecurity.verify(assertion, [standard.hub.signing.certificate])  # signed by the hub
    path = {"saml": SAML_NS}
    assert assertion.findtext("saml:Issuer", namespaces=path) == hub.entity_id
    name_id = assertion.find("saml:Subject/saml:NameID", path)
    assert (name_id.text, name_id.get("Format")) == ("a-pairwise-id", c.NAMEID_FORMAT_PERSISTENT)
    assert (name_id.get("NameQualifier"), name_id.get("SPNameQualifier")) == (hub.entity_id, rp.entity_id)
    confirmation = assertion.find("saml:Subject/saml:SubjectConfirmation", path)
    assert confirmation.get("Method") == c.SUBJECT_CONFIRMATION_BEARER
    data = confirmation.find("saml:SubjectConfirmationData", path)
    expires = "2026-11-22T10:05:00.000Z"  # five minutes: read once, at the ACS
    assert dict(data.attrib) == {
        "Recipient": rp.default_acs_url(),
        "InResponseTo": "_rp-request-1",
        "NotOnOrAfter": expires,
    }
    conditions = assertion.find("saml:Conditions", path)
    assert (conditions.get("NotBefore"), conditions.get("NotOnOrAfter")) == ("2026-11-22T10:00:00.000Z", expires)
    assert [a.text for a in conditions.iterfind("saml:AudienceRestriction/saml:Audience", path)] == [rp.entity_id]
    authn = assertion.find("saml:AuthnStatement", path)
    assert authn.get("AuthnInstant") == "2026-11-22T09:59:00.000Z"
    class_ref = authn.findtext("saml:AuthnContext/saml:AuthnContextClassRef", namespaces=path)
    assert class_ref == "urn:uk:gov:cabinet-office:tc:saml:authn-context:level2"
    names = [a.get("Name") for a in assertion.iterfind("saml:AttributeStatement/saml:Attribute", path)]
    assert names == ["surname", "surname_verified"]
    assert STANDARD_ASSERTION_VALIDITY == timedelta(minutes=5)


def test_assertion_without_attributes_has_no_statement(standard: StandardFederation) -> None:
    assertion = _assertion(standard, attributes=(), level=LevelOfAssurance.LEVEL_1)
    assert assertion.find(q(SAML_NS, "AttributeStatement")) is None  # the schema forbids an empty one
    uri = assertion.findtext(f".//{q(SAML_NS, 'AuthnContextClassRef')}")
    assert uri == LevelOfAssurance.LEVEL_1.uri


def test_our_parser_reads_it_and_refuses_it_elsewhere(standard: StandardFederation) -> None:
    rp, hub = standard.non_matching_rp, standard.config.hub
    assertion = xmlsecurity.to_bytes(_assertion(standard, now=datetime.now(UTC), authn_instant=datetime.now(UTC)))
    lookup = {hub.entity_id: [standard.hub.signing.certificate]}.get
    common = dict(certificates_for_issuer=lambda issuer: lookup(issuer) or [], now=datetime.now(UTC))
    data = parse_assertion(
        assertion,
        expected_audience=rp.entity_id,
        expected_recipient=rp.default_acs_url(),
        expected_in_response_to="_rp-request-1",
        **common,
    )
    assert data.level_of_assurance is LevelOfAssurance.LEVEL_2 and data.name_id == "a-pairwise-id"
    assert data.values("surname") == ("O'Brien-Jones",) and data.values("surname_verified") == ("true",)
    with pytest.raises(SamlValidationError) as info:
        parse_assertion(
            assertion,
            expected_audience=standard.matching_rp.entity_id,
            expected_recipient=rp.default_acs_url(),
            expected_in_response_to="_rp-request-1",
            **common,
        )
    assert info.value.reason == "wrong-audience"


# --- the Response -----------------------------------------------------------------------------------------


def _read(standard: StandardFederation, rp, response: etree._Element, request_id: str) -> ResponseData:
    hub = standard.config.hub
    return parse_response(
        xmlsecurity.to_bytes(response),
        certificates_for_issuer=lambda issuer: [standard.hub.signing.certificate] if issuer == hub.entity_id else [],
        expected_destination=rp.default_acs_url(),
        expected_in_response_to=request_id,
        expected_audience=rp.entity_id,
        decryption_credentials=[standard.rp.encryption],
        now=datetime.now(UTC),
    )


def _key_transport_of(response: etree._Element) -> str:
    path = "saml:EncryptedAssertion/xenc:EncryptedData/ds:KeyInfo/xenc:EncryptedKey/xenc:EncryptionMethod"
    return response.find(path, {**xmlsecurity.NS, "saml": SAML_NS}).get("Algorithm")


@pytest.mark.parametrize(
    ("key_transport", "algorithm"),
    [(KeyTransport.RSA_OAEP, xmlsecurity.RSA_OAEP_11), (KeyTransport.RSA_OAEP_MGF1P, xmlsecurity.RSA_OAEP_MGF1P)],
)
def test_response_for_a_service_without_matching(standard: StandardFederation, key_transport, algorithm) -> None:
    rp = standard.non_matching_rp
    request_id, response = standard.response(rp, key_transport=key_transport)
    assert _key_transport_of(response) == algorithm  # the service's own key transport
    result = _read(standard, rp, response, request_id)
    assert result.issuer == standard.config.hub.entity_id and result.status.is_success
    assert result.destination == rp.default_acs_url() and result.in_response_to == request_id
    (received,) = result.assertions  # one assertion, the hub's
    assert received.data.issuer == standard.config.hub.entity_id
    assert received.data.name_id == pairwise_id(standard.idp_entity_id, rp.entity_id, IDP_PID)
    assert {a.name: list(a.values) for a in received.data.attributes} == EXPECTED_ALL


def test_response_for_a_service_with_matching(standard: StandardFederation) -> None:
    rp = standard.matching_rp
    request_id, response = standard.response(
        rp, key_transport=KeyTransport.RSA_OAEP, matching_outcome=MatchingOutcome.MATCH
    )
    (received,) = _read(standard, rp, response, request_id).assertions
    assert received.data.name_id == hashed_pid(standard.idp_entity_id, rp.matching_service_entity_id, IDP_PID)
    assert {a.name: list(a.values) for a in received.data.attributes} == EXPECTED_MATCHING


def test_only_the_service_can_decrypt_it(standard: StandardFederation) -> None:
    rp = standard.non_matching_rp
    _, response = standard.response(rp, key_transport=KeyTransport.RSA_OAEP)
    encrypted = response.find(f"{q(SAML_NS, 'EncryptedAssertion')}/{q(xmlsecurity.XENC, 'EncryptedData')}")
    with pytest.raises(xmlsecurity.DecryptionError):
        xmlsecurity.decrypt(encrypted, [standard.hub.encryption])
    assert "Siân".encode() not in xmlsecurity.to_bytes(response)  # nothing readable on the way


def test_matching_outcome_exactly_for_services_with_matching(standard: StandardFederation) -> None:
    with pytest.raises(ValueError, match="matching outcome"):
        standard.response(standard.matching_rp, key_transport=KeyTransport.RSA_OAEP)
    with pytest.raises(ValueError, match="matching outcome"):
        standard.response(
            standard.non_matching_rp, key_transport=KeyTransport.RSA_OAEP, matching_outcome=MatchingOutcome.MATCH
        )


def test_refuses_a_verify_service(standard: StandardFederation) -> None:
    verify = dataclasses.replace(standard.non_matching_rp, saml_profile=c.SamlProfile.VERIFY, attributes=())
    with pytest.raises(ValueError, match="does not use the standard profile"):
        standard.response(verify, key_transport=KeyTransport.RSA_OAEP)


def test_the_guide_documents_the_whole_catalogue() -> None:
    guide = (Path(__file__).parents[3] / "docs" / "saml-profiles.md").read_text(encoding="utf-8")
    section = guide.split("## The attribute catalogue")[1].split("\n## ")[0]
    documented = re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE)
    assert tuple(documented) == STANDARD_ATTRIBUTES == (
        "first_name", "middle_names", "surname", "date_of_birth", "gender", "address_lines", "postcode", "uprn",
    )  # fmt: skip
