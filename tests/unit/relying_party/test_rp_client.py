"""The client library on its own: what a department calls, and the hub status -> scenario table.

The `verify` profile here; the `standard` profile's reading is in test_hub_client_standard.py."""

from __future__ import annotations

import base64
import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from rp_support import (
    HASHED_PID,
    IDP_PID,
    account_creation_attributes,
    hub_response,
    idp_assertions,
    matching_service_assertion,
)

from federation import xmlsecurity
from federation.config import ConfigError
from federation.loa import LevelOfAssurance
from federation.saml import (
    SamlValidationError,
    Status,
    decode_post,
    new_id,
    parse_authn_request,
    parse_redirect_authn_request,
)
from federation.saml import constants as c
from federation.saml.standard import pairwise_id
from hub_client import HubClient, HubResponseError, Offer, ReturnCode, Scenario
from hub_client.return_codes import parse_status_message


@pytest.fixture
def matching(fed, metadata) -> HubClient:
    return HubClient(fed.config, fed.matching_rp, fed.rp, metadata)


@pytest.fixture
def non_matching(fed, metadata) -> HubClient:
    return HubClient(fed.config, fed.non_matching_rp, fed.rp, metadata)


def test_start_sign_in_targets_the_hub_sso_from_metadata(matching, fed):
    request_id, post = matching.start_sign_in("state-1")
    assert post.url == fed.config.hub.sso_url
    assert post.field_name == "SAMLRequest"
    assert post.relay_state == "state-1"
    assert request_id.startswith("_")


def test_the_post_binding_request_is_signed_and_names_no_acs_or_level(matching, fed):
    request_id, post = matching.start_sign_in()
    request = parse_authn_request(
        decode_post(post.value),
        certificates_for_issuer=lambda issuer: (
            [fed.rp.signing.certificate] if issuer == fed.matching_rp.entity_id else []
        ),
        expected_destination=fed.config.hub.sso_url,
        now=datetime.now(UTC),
    )
    assert request.id == request_id and request.issuer == fed.matching_rp.entity_id
    assert request.acs_url is None and request.acs_index is None and request.requested_loas == ()


def test_the_redirect_binding_signs_the_query_string_as_the_hub_checks_it(matching, fed):
    request_id, url = matching.start_sign_in_redirect("state-2")
    sso_url, _, query = url.partition("?")
    assert sso_url == fed.config.hub.sso_url
    redirect = parse_redirect_authn_request(
        query,
        certificates_for_issuer=lambda issuer: (
            [fed.rp.signing.certificate] if issuer == fed.matching_rp.entity_id else []
        ),
        expected_destination=fed.config.hub.sso_url,
        now=datetime.now(UTC),
    )
    assert redirect.request.id == request_id and redirect.relay_state == "state-2"
    tampered = query.replace("RelayState=state-2", "RelayState=state-3")
    with pytest.raises(SamlValidationError) as refused:
        parse_redirect_authn_request(
            tampered,
            certificates_for_issuer=lambda issuer: [fed.rp.signing.certificate],
            expected_destination=fed.config.hub.sso_url,
            now=datetime.now(UTC),
        )
    assert refused.value.reason == "signature-invalid"


@pytest.mark.parametrize("start", ["start_sign_in", "start_sign_in_redirect"])
def test_relay_state_longer_than_80_bytes_is_refused(matching, start):
    with pytest.raises(ValueError, match="80"):
        getattr(matching, start)("x" * 81)


def test_for_service_finds_the_service_by_name_or_entity_id_and_checks_its_keys(fed, keys_dir, metadata):
    by_name = HubClient.for_service(
        fed.config, "test-rp-standard", keys_dir, keys_name="test-rp", metadata_source=metadata
    )
    assert by_name.relying_party == fed.standard_rp
    by_id = HubClient.for_service(
        fed.config, fed.standard_rp.entity_id, keys_dir, keys_name="test-rp", metadata_source=metadata
    )
    assert by_id.relying_party == fed.standard_rp and by_id.acs_url == fed.standard_rp.default_acs_url()
    with pytest.raises(ConfigError, match="no such relying party"):
        HubClient.for_service(fed.config, "nobody", keys_dir, keys_name="test-rp", metadata_source=metadata)
    with pytest.raises(ConfigError, match="signing_certificates.*'stub-idp-two' signing key"):
        HubClient.for_service(fed.config, "test-rp", keys_dir, keys_name="stub-idp-two", metadata_source=metadata)


@pytest.mark.parametrize(
    ("status", "scenario"),
    [
        (Status(c.STATUS_RESPONDER, c.STATUS_NO_MATCH), Scenario.NO_MATCH),
        (Status(c.STATUS_RESPONDER, c.STATUS_MULTIPLE_MATCH), Scenario.NO_MATCH),
        (Status(c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT), Scenario.CANCELLATION),
        (Status(c.STATUS_RESPONDER, c.STATUS_AUTHN_FAILED), Scenario.AUTHENTICATION_FAILED),
        (Status(c.STATUS_RESPONDER), Scenario.AUTHENTICATION_FAILED),
        (Status(c.STATUS_RESPONDER, c.STATUS_CREATE_FAILURE), Scenario.AUTHENTICATION_FAILED),
        (Status(c.STATUS_REQUESTER), Scenario.REQUEST_ERROR),
        (Status(c.STATUS_REQUESTER, c.STATUS_REQUEST_DENIED), Scenario.REQUEST_ERROR),
        (Status(c.STATUS_VERSION_MISMATCH), Scenario.REQUEST_ERROR),
    ],
)
def test_hub_status_to_scenario(matching, fed, status, scenario):
    request_id, _ = matching.start_sign_in()
    outcome = matching.handle_response(
        hub_response(fed, fed.matching_rp, in_response_to=request_id, status=status), expected_request_id=request_id
    )
    assert outcome.scenario is scenario
    assert not outcome.scenario.is_verified
    assert outcome.identifier is None and outcome.level_of_assurance is None
    assert outcome.status == status


def test_the_return_code_and_offer_come_from_the_status_message(matching, fed):
    request_id, _ = matching.start_sign_in()
    status = Status(c.STATUS_RESPONDER, c.STATUS_AUTHN_FAILED, message="return-code=fraud_suspected offer=other_ways")
    outcome = matching.handle_response(
        hub_response(fed, fed.matching_rp, in_response_to=request_id, status=status), expected_request_id=request_id
    )
    assert outcome.scenario is Scenario.AUTHENTICATION_FAILED  # the status says "not signed in"
    assert outcome.return_code is ReturnCode.FRAUD_SUSPECTED and outcome.offer is Offer.OTHER_WAYS  # and why


@pytest.mark.parametrize(
    ("message", "code", "offer"),
    [
        ("return-code=no_match offer=other_ways", ReturnCode.NO_MATCH, Offer.OTHER_WAYS),
        (" return-code=session_expired offer=try_again\n", ReturnCode.SESSION_EXPIRED, Offer.TRY_AGAIN),
        ("return-code=something_new offer=try_again", None, Offer.TRY_AGAIN),  # a newer hub's code
        ("no code here", None, None),
        ("return-code=no_match", None, None),
        ("return-code=no_match offer=other_ways and more", None, None),
        (None, None, None),
    ],
)
def test_parse_status_message(message, code, offer):
    assert parse_status_message(message) == (code, offer)


def test_the_client_knows_every_code_and_offer_the_hub_sends():
    from hub.policy import return_codes

    assert {code.code for code in return_codes.ALL} == {code.value for code in ReturnCode}
    assert {offer.value for offer in return_codes.Offer} == {offer.value for offer in Offer}
    for code in return_codes.ALL:  # the hub's StatusMessage reads back as the same code and offer
        from hub.frontends.saml_verify import status_message

        assert parse_status_message(status_message(code)) == (ReturnCode(code.code), Offer(code.offer.value))


def test_success_match_gives_hashed_pid_and_loa(matching, fed):
    request_id, _ = matching.start_sign_in()
    assertion = matching_service_assertion(fed, in_response_to=request_id)
    outcome = matching.handle_response(
        hub_response(fed, fed.matching_rp, in_response_to=request_id, assertions=[assertion]),
        expected_request_id=request_id,
    )
    assert outcome.scenario is Scenario.SUCCESS_MATCH
    assert outcome.identifier == HASHED_PID
    assert outcome.level_of_assurance is LevelOfAssurance.LEVEL_2
    assert outcome.account_creation_attributes == ()


def test_account_creation_returns_the_attributes(matching, fed):
    request_id, _ = matching.start_sign_in()
    assertion = matching_service_assertion(fed, in_response_to=request_id, attributes=account_creation_attributes())
    outcome = matching.handle_response(
        hub_response(fed, fed.matching_rp, in_response_to=request_id, assertions=[assertion]),
        expected_request_id=request_id,
    )
    assert outcome.scenario is Scenario.ACCOUNT_CREATION
    assert [a.name for a in outcome.account_creation_attributes] == ["FIRST_NAME", "SURNAME", "DATE_OF_BIRTH"]
    assert outcome.identifier == HASHED_PID


def test_a_response_is_accepted_once(matching, fed):
    request_id, _ = matching.start_sign_in()
    assertion = matching_service_assertion(fed, in_response_to=request_id)
    saml = hub_response(fed, fed.matching_rp, in_response_to=request_id, assertions=[assertion])
    matching.handle_response(saml, expected_request_id=request_id)
    with pytest.raises(HubResponseError) as refused:
        matching.handle_response(saml, expected_request_id=request_id)
    assert refused.value.reason == "replayed-response"


def test_success_without_an_assertion_is_refused(matching, fed):
    request_id, _ = matching.start_sign_in()
    with pytest.raises(HubResponseError) as refused:
        matching.handle_response(
            hub_response(fed, fed.matching_rp, in_response_to=request_id), expected_request_id=request_id
        )
    assert refused.value.reason == "missing-assertion"


def test_two_matching_service_assertions_are_refused(matching, fed):
    request_id, _ = matching.start_sign_in()
    assertions = [matching_service_assertion(fed, in_response_to=request_id) for _ in range(2)]
    with pytest.raises(HubResponseError) as refused:
        matching.handle_response(
            hub_response(fed, fed.matching_rp, in_response_to=request_id, assertions=assertions),
            expected_request_id=request_id,
        )
    assert refused.value.reason == "wrong-assertion-count"


def test_assertion_from_another_issuer_is_refused(matching, fed):
    # Signed by a real IDP with its own key: a valid signature, but not from our matching service.
    request_id, _ = matching.start_sign_in()
    assertion = matching_service_assertion(
        fed, in_response_to=request_id, signer=fed.idp_two.signing, issuer=fed.idp_two_entity_id
    )
    with pytest.raises(HubResponseError) as refused:
        matching.handle_response(
            hub_response(fed, fed.matching_rp, in_response_to=request_id, assertions=[assertion]),
            expected_request_id=request_id,
        )
    assert refused.value.reason == "unknown-issuer"


def test_non_matching_identity_verified(non_matching, fed):
    request_id, _ = non_matching.start_sign_in()
    outcome = non_matching.handle_response(
        hub_response(fed, fed.non_matching_rp, in_response_to=request_id, assertions=idp_assertions(fed)),
        expected_request_id=request_id,
    )
    assert outcome.scenario is Scenario.IDENTITY_VERIFIED
    assert outcome.level_of_assurance is LevelOfAssurance.LEVEL_2
    assert outcome.matching_dataset is not None and outcome.matching_dataset.surnames[0].value == "Example"


def test_non_matching_services_get_a_pairwise_identifier_never_the_idp_pid(fed, metadata):
    """The IDP's assertions carry its own PID; each service sees only its own pairwise identifier."""
    identifiers = []
    for rp in (
        fed.non_matching_rp,
        dataclasses.replace(fed.non_matching_rp, entity_id="https://other.federation.test"),
    ):
        client = HubClient(fed.config, rp, fed.rp, metadata)
        request_id, _ = client.start_sign_in()
        outcome = client.handle_response(
            hub_response(fed, rp, in_response_to=request_id, assertions=idp_assertions(fed)),
            expected_request_id=request_id,
        )
        assert outcome.identifier == pairwise_id(fed.idp_two_entity_id, rp.entity_id, IDP_PID)
        assert IDP_PID not in repr(dataclasses.astuple(outcome))  # nowhere in the outcome, whatever the field
        identifiers.append(outcome.identifier)
    assert identifiers[0] != identifiers[1]


def test_non_matching_assertions_addressed_to_someone_else_are_refused(non_matching, fed):
    request_id, _ = non_matching.start_sign_in()
    with pytest.raises(HubResponseError) as refused:
        non_matching.handle_response(
            hub_response(
                fed,
                fed.non_matching_rp,
                in_response_to=request_id,
                assertions=idp_assertions(fed, audience=fed.non_matching_rp.entity_id),
            ),
            expected_request_id=request_id,
        )
    assert refused.value.reason == "wrong-audience"


def test_non_matching_needs_both_idp_assertions(non_matching, fed):
    request_id, _ = non_matching.start_sign_in()
    with pytest.raises(HubResponseError) as refused:
        non_matching.handle_response(
            hub_response(fed, fed.non_matching_rp, in_response_to=request_id, assertions=idp_assertions(fed)[:1]),
            expected_request_id=request_id,
        )
    assert refused.value.reason == "wrong-assertion-count"


def test_stale_response_is_refused(fed, metadata):
    later = HubClient(
        fed.config, fed.matching_rp, fed.rp, metadata, clock=lambda: datetime.now(UTC) + timedelta(minutes=10)
    )
    request_id = new_id()
    saml = hub_response(fed, fed.matching_rp, in_response_to=request_id, status=Status(c.STATUS_REQUESTER))
    with pytest.raises(HubResponseError) as refused:
        later.handle_response(saml, expected_request_id=request_id)
    assert refused.value.reason == "issue-instant-stale"


def test_encrypted_for_someone_else_is_refused(matching, fed):
    from federation.saml import build_assertion, encrypt_assertion

    request_id, _ = matching.start_sign_in()
    rp = fed.matching_rp
    assertion = build_assertion(
        issuer=fed.ms_entity_id,
        name_id=HASHED_PID,
        audience=rp.entity_id,
        recipient=rp.default_acs_url(),
        in_response_to=request_id,
        credential=fed.matching_service.signing,
        now=datetime.now(UTC),
        level_of_assurance=LevelOfAssurance.LEVEL_2,
    )
    wrong = encrypt_assertion(assertion, fed.hub.encryption.certificate)
    with pytest.raises(HubResponseError) as refused:
        matching.handle_response(
            hub_response(fed, rp, in_response_to=request_id, assertions=[wrong]), expected_request_id=request_id
        )
    assert refused.value.reason == "decryption-failed"


def test_request_id_answered_reads_in_response_to_to_find_the_attempt(matching, fed):
    request_id, _ = matching.start_sign_in()
    saml = hub_response(fed, fed.matching_rp, in_response_to=request_id, status=Status(c.STATUS_REQUESTER))
    assert matching.request_id_answered(saml) == request_id


@pytest.mark.parametrize(
    ("saml", "reason"),
    [
        ("not base64!", "invalid-base64"),
        (base64.b64encode(b"<x/>").decode(), "no-in-response-to"),
        (base64.b64encode(b'<x InResponseTo="' + b"_" * 300 + b'"/>').decode(), "no-in-response-to"),
        (base64.b64encode(b'<!DOCTYPE x [<!ENTITY e "e">]><x InResponseTo="_1"/>').decode(), "doctype"),
    ],
)
def test_request_id_answered_refuses_what_is_not_an_answer(matching, saml, reason):
    with pytest.raises(HubResponseError) as refused:
        matching.request_id_answered(saml)
    assert refused.value.reason == reason


def test_a_received_response_is_parsed_once_and_verified_as_the_posted_text_is(matching, fed, monkeypatch):
    request_id, _ = matching.start_sign_in()
    assertion = matching_service_assertion(fed, in_response_to=request_id)
    saml = hub_response(fed, fed.matching_rp, in_response_to=request_id, assertions=[assertion])
    parsed: list[int] = []
    parse_xml = xmlsecurity.parse_xml
    monkeypatch.setattr(xmlsecurity, "parse_xml", lambda *a, **k: (parsed.append(1), parse_xml(*a, **k))[1])
    received = matching.receive_response(saml)
    outcome = matching.handle_response(received, expected_request_id=received.in_response_to)
    assert outcome.scenario is Scenario.SUCCESS_MATCH and outcome.identifier == HASHED_PID
    assert len(parsed) == 2, "the Response once, the decrypted assertion once: the Response is not parsed again"


def test_a_received_response_signed_by_another_key_is_refused(matching, fed):
    request_id, _ = matching.start_sign_in()
    saml = hub_response(fed, fed.matching_rp, in_response_to=request_id, signer=fed.rp.signing)
    received = matching.receive_response(saml)
    with pytest.raises(HubResponseError) as refused:
        matching.handle_response(received, expected_request_id=received.in_response_to)
    assert refused.value.reason == "signature-invalid"
