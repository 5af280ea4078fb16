"""The client library reading the `standard` profile: the hub's one signed assertion, typed.

The happy paths use the hub's own builder (`build_standard_response`, as hub/frontends/saml_standard.py
calls it); the refusals build the same assertion with `build_assertion` and a statement changed in one
place, signed with real keys, so each test is about one check.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from lxml import etree
from rp_support import IDP_PID, STANDARD_MDS, hub_response, idp_assertions, standard_response

from federation import xmlsecurity
from federation.config import RelyingParty
from federation.loa import LevelOfAssurance
from federation.saml import MatchingDataset, MdsValue, Status, build_assertion, encode_post
from federation.saml import constants as c
from federation.saml.constants import SAML_NS, XSI_NS, MatchingOutcome, q
from federation.saml.response import build_response, encrypt_assertion
from federation.saml.standard import (
    ReleasedAttribute,
    pairwise_id,
    released_attributes,
    standard_attribute_statement,
)
from hub_client import HubClient, HubResponseError, Scenario


def client_for(fed, metadata, rp: RelyingParty) -> HubClient:
    return HubClient(fed.config, rp, fed.rp, metadata)


@pytest.fixture
def standard(fed, metadata) -> HubClient:
    return client_for(fed, metadata, fed.standard_rp)


def with_matching(fed) -> RelyingParty:
    """test-rp-standard as a service with a matching service (the demo has none such)."""
    return dataclasses.replace(fed.standard_rp, matching_service_entity_id=fed.matching_rp.matching_service_entity_id)


def now() -> datetime:
    return datetime.now(UTC)


def statement(rp: RelyingParty, extra: tuple[tuple[str, str], ...] = ()) -> etree._Element:
    return standard_attribute_statement(released_attributes(STANDARD_MDS, rp.attributes), extra)


def hub_assertion(fed, rp: RelyingParty, request_id: str, **changes) -> etree._Element:
    """The standard profile's assertion as the hub signs it (no attributes), with `changes` to its fields."""
    hub = fed.config.hub.entity_id
    fields = dict(
        issuer=hub,
        name_id=pairwise_id(fed.idp_two_entity_id, rp.entity_id, IDP_PID),
        audience=rp.entity_id,
        recipient=rp.default_acs_url(),
        in_response_to=request_id,
        credential=fed.hub.signing,
        now=now(),
        level_of_assurance=LevelOfAssurance.LEVEL_2,
        sp_name_qualifier=rp.entity_id,
        name_qualifier=hub,
    )
    fields.update(changes)
    return build_assertion(**fields)


def crafted_response(fed, rp: RelyingParty, request_id: str, attribute_statement=None, **changes) -> str:
    """A hub-signed Response whose one assertion is the standard one with `changes` to its fields."""
    element = statement(rp) if attribute_statement is None else attribute_statement
    assertion = hub_assertion(fed, rp, request_id, attribute_statement_element=element, **changes)
    encrypted = encrypt_assertion(assertion, rp.encryption_certificate.certificate)
    return hub_response(fed, rp, in_response_to=request_id, assertions=[encrypted])


def refused_with(client: HubClient, saml: str, request_id: str) -> str:
    with pytest.raises(HubResponseError) as refused:
        client.handle_response(saml, expected_request_id=request_id)
    return refused.value.reason


def attribute_element(element: etree._Element, name: str) -> etree._Element:
    return element.find(f"{q(SAML_NS, 'Attribute')}[@Name='{name}']")


def add_value(attribute: etree._Element, text: str) -> None:
    value = etree.SubElement(attribute, q(SAML_NS, "AttributeValue"))
    value.set(q(XSI_NS, "type"), c.XS_STRING)
    value.text = text


# --- what a standard service reads --------------------------------------------------------------------------


def test_a_standard_sign_in_gives_the_pairwise_identifier_the_level_and_typed_attributes(standard, fed):
    rp = fed.standard_rp
    request_id, _ = standard.start_sign_in()
    outcome = standard.handle_response(standard_response(fed, rp, request_id), expected_request_id=request_id)
    assert outcome.scenario is Scenario.IDENTITY_VERIFIED
    assert outcome.identifier == pairwise_id(fed.idp_two_entity_id, rp.entity_id, IDP_PID)
    assert outcome.level_of_assurance is LevelOfAssurance.LEVEL_2
    assert outcome.attributes == (  # in the order the service's config lists them
        ReleasedAttribute("first_name", ("Alice",), verified=False),
        ReleasedAttribute("surname", ("Evans",), verified=True),
        ReleasedAttribute("date_of_birth", ("1985-03-14",), verified=True),
        ReleasedAttribute("address_lines", ("12 Orchard Road", "Bristol"), verified=True),
        ReleasedAttribute("postcode", ("BS7 8QT",), verified=True),
    )
    assert outcome.attribute("surname").values == ("Evans",) and outcome.attribute("gender") is None
    assert outcome.account_creation_attributes == () and outcome.matching_dataset is None


def test_what_the_idp_did_not_assert_is_absent(standard, fed):
    request_id, _ = standard.start_sign_in()
    sparse = MatchingDataset(surnames=(MdsValue("Evans", True),))
    saml = standard_response(fed, fed.standard_rp, request_id, matching_dataset=sparse)
    outcome = standard.handle_response(saml, expected_request_id=request_id)
    assert outcome.attributes == (ReleasedAttribute("surname", ("Evans",), verified=True),)


def test_a_service_without_attributes_gets_the_identifier_and_level_only(fed, metadata):
    bare = dataclasses.replace(fed.standard_rp, attributes=())
    client = client_for(fed, metadata, bare)
    request_id, _ = client.start_sign_in()
    outcome = client.handle_response(standard_response(fed, bare, request_id), expected_request_id=request_id)
    assert outcome.scenario is Scenario.IDENTITY_VERIFIED and outcome.attributes == ()
    assert outcome.identifier == pairwise_id(fed.idp_two_entity_id, bare.entity_id, IDP_PID)


@pytest.mark.parametrize(
    ("matching_outcome", "scenario"),
    [(MatchingOutcome.MATCH, Scenario.SUCCESS_MATCH), (MatchingOutcome.ACCOUNT_CREATED, Scenario.ACCOUNT_CREATION)],
)
def test_a_service_with_a_matching_service_reads_the_matching_outcome(fed, metadata, matching_outcome, scenario):
    rp = with_matching(fed)
    client = client_for(fed, metadata, rp)
    request_id, _ = client.start_sign_in()
    saml = standard_response(fed, rp, request_id, matching_outcome=matching_outcome)
    outcome = client.handle_response(saml, expected_request_id=request_id)
    assert outcome.scenario is scenario
    # the matching service's hashed PID: the key the department's records already use
    assert outcome.identifier == pairwise_id(fed.idp_two_entity_id, rp.matching_service_entity_id, IDP_PID)
    assert [a.name for a in outcome.attributes] == list(rp.attributes)


def test_an_attribute_the_service_did_not_ask_for_is_dropped(fed, metadata, caplog):
    asks_less = dataclasses.replace(fed.standard_rp, attributes=("surname",))
    client = client_for(fed, metadata, asks_less)
    request_id, _ = client.start_sign_in()
    outcome = client.handle_response(
        standard_response(fed, fed.standard_rp, request_id), expected_request_id=request_id
    )
    assert outcome.attributes == (ReleasedAttribute("surname", ("Evans",), verified=True),)
    assert "dropped first_name" in caplog.text and "Alice" not in caplog.text


def test_the_outcome_never_shows_personal_data_in_its_repr(standard, fed):
    request_id, _ = standard.start_sign_in()
    outcome = standard.handle_response(
        standard_response(fed, fed.standard_rp, request_id), expected_request_id=request_id
    )
    shown = repr(outcome)
    assert "IDENTITY_VERIFIED" in shown and "LEVEL_2" in shown
    assert "Evans" not in shown and outcome.identifier not in shown


def test_failures_are_outcomes_as_in_the_verify_profile(standard, fed):
    request_id, _ = standard.start_sign_in()
    status = Status(c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT)
    outcome = standard.handle_response(
        hub_response(fed, fed.standard_rp, in_response_to=request_id, status=status), expected_request_id=request_id
    )
    assert outcome.scenario is Scenario.CANCELLATION and outcome.identifier is None and outcome.attributes == ()


# --- what a standard service refuses --------------------------------------------------------------------------


def test_the_same_answer_twice_is_refused(standard, fed):
    request_id, _ = standard.start_sign_in()
    saml = standard_response(fed, fed.standard_rp, request_id)
    standard.handle_response(saml, expected_request_id=request_id)
    assert refused_with(standard, saml, request_id) == "replayed-response"


def test_an_answer_to_another_request_is_refused(standard, fed):
    request_id, _ = standard.start_sign_in()
    saml = standard_response(fed, fed.standard_rp, request_id)
    other, _ = standard.start_sign_in()
    assert refused_with(standard, saml, other) == "wrong-in-response-to"


OTHER_SERVICE = "https://test-rp-nonmatching.federation.test"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (lambda fed: {"in_response_to": "_another-request"}, "wrong-in-response-to"),
        (lambda fed: {"issuer": fed.idp_two_entity_id, "credential": fed.idp_two.signing}, "unknown-issuer"),
        (lambda fed: {"credential": fed.idp_two.signing}, "signature-invalid"),
        (lambda fed: {"audience": OTHER_SERVICE}, "wrong-audience"),
        (lambda fed: {"recipient": OTHER_SERVICE + "/SAML2/SSO/POST"}, "wrong-recipient"),
        (lambda fed: {"sp_name_qualifier": OTHER_SERVICE}, "wrong-name-qualifier"),
        (lambda fed: {"name_qualifier": fed.idp_two_entity_id}, "wrong-name-qualifier"),
        # the IDP's own PID must never reach a service as its identifier
        (lambda fed: {"name_id": IDP_PID}, "bad-nameid"),
        (lambda fed: {"level_of_assurance": None}, "missing-authn-statement"),
        (lambda fed: {"level_of_assurance": None, "fraud": True}, "fraud-assertion"),
    ],
    ids=[
        "another-request",
        "signed-by-an-idp",
        "hub-issuer-idp-key",
        "another-audience",
        "another-recipient",
        "another-sp-name-qualifier",
        "another-name-qualifier",
        "raw-pid",
        "no-level",
        "fraud",
    ],
)
def test_a_changed_assertion_is_refused(standard, fed, changes, reason):
    request_id, _ = standard.start_sign_in()
    saml = crafted_response(fed, fed.standard_rp, request_id, **changes(fed))
    assert refused_with(standard, saml, request_id) == reason


def test_a_level_below_the_service_s_lowest_is_refused(fed, metadata):
    level2_only = dataclasses.replace(fed.standard_rp, levels_of_assurance=(LevelOfAssurance.LEVEL_2,))
    client = client_for(fed, metadata, level2_only)
    request_id, _ = client.start_sign_in()
    saml = standard_response(fed, level2_only, request_id, level=LevelOfAssurance.LEVEL_1)
    assert refused_with(client, saml, request_id) == "loa-too-low"


def test_two_assertions_are_refused(standard, fed):
    request_id, _ = standard.start_sign_in()
    rp = fed.standard_rp
    one = hub_assertion(fed, rp, request_id)
    encrypted = [encrypt_assertion(one, rp.encryption_certificate.certificate) for _ in range(2)]
    saml = hub_response(fed, rp, in_response_to=request_id, assertions=encrypted)
    assert refused_with(standard, saml, request_id) == "wrong-assertion-count"


def test_the_verify_profile_s_idp_assertions_are_refused(standard, fed):
    request_id, _ = standard.start_sign_in()
    saml = hub_response(fed, fed.standard_rp, in_response_to=request_id, assertions=idp_assertions(fed))
    assert refused_with(standard, saml, request_id) == "wrong-assertion-count"


def test_a_verify_service_refuses_a_standard_answer(fed, metadata):
    """The profile comes from the service's config, never from what arrives."""
    verify_rp = fed.non_matching_rp
    client = client_for(fed, metadata, verify_rp)
    request_id, _ = client.start_sign_in()
    as_standard = dataclasses.replace(
        fed.standard_rp,
        entity_id=verify_rp.entity_id,
        assertion_consumer_services=verify_rp.assertion_consumer_services,
    )
    saml = standard_response(fed, as_standard, request_id)
    # in the verify profile only the identity provider may vouch for the identity, never the hub
    assert refused_with(client, saml, request_id) == "unknown-issuer"


def test_matching_outcome_only_with_a_matching_service(fed, metadata, standard):
    rp = fed.standard_rp
    request_id, _ = standard.start_sign_in()
    saml = crafted_response(fed, rp, request_id, attribute_statement=statement(rp, ((c.MATCHING_OUTCOME, "match"),)))
    assert refused_with(standard, saml, request_id) == "unexpected-matching-outcome"
    matching = with_matching(fed)
    client = client_for(fed, metadata, matching)
    request_id, _ = client.start_sign_in()
    saml = crafted_response(fed, matching, request_id, name_id="ab" * 32)
    assert refused_with(client, saml, request_id) == "missing-matching-outcome"
    request_id, _ = client.start_sign_in()
    unknown = statement(matching, ((c.MATCHING_OUTCOME, "probably"),))
    saml = crafted_response(fed, matching, request_id, name_id="ab" * 32, attribute_statement=unknown)
    assert refused_with(client, saml, request_id) == "bad-attribute-value"


def _changed(rp: RelyingParty, change) -> etree._Element:
    element = statement(rp)
    change(element)
    return element


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda s: s.remove(attribute_element(s, "surname_verified")), "verified-flag-mismatch"),
        (lambda s: s.remove(attribute_element(s, "surname")), "verified-flag-mismatch"),
        (lambda s: add_value(attribute_element(s, "surname"), "Smith"), "bad-attribute-value"),
        (lambda s: add_value(attribute_element(s, "surname_verified"), "true"), "bad-attribute-value"),
        (lambda s: setattr(attribute_element(s, "surname_verified")[0], "text", "yes"), "bad-attribute-value"),
        (lambda s: setattr(attribute_element(s, "surname")[0], "text", "  "), "bad-attribute-value"),
        (lambda s: attribute_element(s, "surname").set("Name", "nickname"), "unknown-attribute"),
    ],
    ids=[
        "attribute-without-flag",
        "flag-without-attribute",
        "two-surnames",
        "two-flags",
        "flag-not-a-boolean",
        "empty-value",
        "outside-the-catalogue",
    ],
)
def test_a_statement_outside_the_profile_is_refused(standard, fed, change, reason):
    request_id, _ = standard.start_sign_in()
    saml = crafted_response(fed, fed.standard_rp, request_id, attribute_statement=_changed(fed.standard_rp, change))
    assert refused_with(standard, saml, request_id) == reason


def test_a_value_that_is_not_text_is_refused(standard, fed):
    """A Verify-typed value (ida:PersonNameType) is not the standard profile's plain string."""
    rp = fed.standard_rp
    request_id, _ = standard.start_sign_in()
    typed = statement(rp)
    value = attribute_element(typed, "date_of_birth")[0]
    value.getparent().replace(
        value,
        etree.fromstring(
            f'<saml:AttributeValue xmlns:saml="{SAML_NS}" xmlns:xsi="{XSI_NS}" xmlns:ida="{c.IDA_NS}" '
            'xsi:type="ida:DateType">1985-03-14</saml:AttributeValue>'
        ),
    )
    saml = crafted_response(fed, rp, request_id, attribute_statement=typed)
    assert refused_with(standard, saml, request_id) == "bad-attribute-value"


def test_an_unencrypted_assertion_is_refused(standard, fed):
    rp = fed.standard_rp
    request_id, _ = standard.start_sign_in()
    response = build_response(
        issuer=fed.config.hub.entity_id,
        in_response_to=request_id,
        status=Status(c.STATUS_SUCCESS),
        credential=fed.hub.signing,
        now=now(),
        destination=rp.default_acs_url(),
        assertions=[hub_assertion(fed, rp, request_id)],
    )
    assert refused_with(standard, encode_post(xmlsecurity.to_bytes(response)), request_id) == "unencrypted-assertion"
