"""The stub IDPs' real Responses read by `federation.saml.idp_response`, the hub's reading of an IDP's answer."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from federation import xmlsecurity
from federation.credentials import load_entity_credentials
from federation.loa import LevelOfAssurance
from federation.saml import SamlValidationError
from federation.saml import constants as c
from federation.saml.idp_response import (
    HubEnd,
    IdpAnswerKind,
    check_returned_level,
    parse_idp_response,
    read_idp_answer,
)
from stub_idps.responses import HubEndpoint, IdpSigner, Outcome, build_idp_response
from stub_idps.users import load_users

REQUEST_ID = "_hub-request-for-profile-tests"
L1, L2, L3 = LevelOfAssurance.LEVEL_1, LevelOfAssurance.LEVEL_2, LevelOfAssurance.LEVEL_3


@pytest.fixture(scope="module")
def setting(federation_config, keys_dir):
    hub_keys = load_entity_credentials(keys_dir, "hub")
    idp = next(i for i in federation_config.identity_providers if i.name == "stub-idp-two")
    signer = IdpSigner(idp.name, idp.entity_id, load_entity_credentials(keys_dir, idp.name).signing)
    hub = HubEndpoint(
        federation_config.hub.entity_id, federation_config.hub.response_url, hub_keys.encryption.certificate
    )
    return federation_config, idp, signer, hub, hub_keys


def _answer(setting, outcome: Outcome, *, signer=None):
    config, idp, own_signer, hub, hub_keys = setting
    alice = next(u for u in load_users() if u.username == "alice")
    xml = build_idp_response(
        outcome=outcome,
        idp=signer or own_signer,
        hub=hub,
        in_response_to=REQUEST_ID,
        now=datetime.now(UTC),
        user=alice if outcome.needs_user else None,
        level=L2,
        ip_address="192.0.2.10",
    )
    response = parse_idp_response(
        xmlsecurity.parse_xml(xml),
        idp_entity_id=idp.entity_id,
        idp_certificates=[cert.certificate for cert in idp.signing_certificates],
        is_another_idp=lambda issuer: config.identity_provider(issuer) is not None,
        hub=HubEnd(config.hub.entity_id, config.hub.response_url),
        request_id=REQUEST_ID,
        decryption=[hub_keys.encryption],
        now=datetime.now(UTC),
        clock_skew=config.clock_skew,
    )
    return read_idp_answer(response)


@pytest.mark.parametrize(
    ("outcome", "kind", "failure"),
    [
        (Outcome.SUCCESS, IdpAnswerKind.SUCCESS, None),
        (Outcome.CANCEL, IdpAnswerKind.CANCEL, None),
        (Outcome.PENDING, IdpAnswerKind.PENDING, None),
        (Outcome.AUTHN_FAILED, IdpAnswerKind.AUTHN_FAILED, "authn-failed"),
        (Outcome.UPLIFT_FAILED, IdpAnswerKind.AUTHN_FAILED, c.STATUS_DETAIL_UPLIFT_FAILED),
        (Outcome.REQUESTER_ERROR, IdpAnswerKind.REQUESTER_ERROR, None),
        (Outcome.REQUEST_DENIED, IdpAnswerKind.REQUESTER_ERROR, None),
        (Outcome.FRAUD_DF01, IdpAnswerKind.FRAUD, None),
    ],
)
def test_every_stub_outcome_means_what_the_profile_says(setting, outcome, kind, failure):
    answer = _answer(setting, outcome)
    assert answer.kind is kind and answer.failure == failure
    if kind is IdpAnswerKind.SUCCESS:
        assert answer.level is L2 and answer.assertions.matching_dataset.matching_dataset is not None
    if kind is IdpAnswerKind.FRAUD:
        assert answer.fraud.gpg45_status == "DF01" and answer.fraud.fraud_event_id


def test_an_answer_from_another_idp_of_the_federation_is_named(setting, keys_dir):
    config = setting[0]
    three = next(i for i in config.identity_providers if i.name == "stub-idp-three")
    other = IdpSigner(three.name, three.entity_id, load_entity_credentials(keys_dir, three.name).signing)
    with pytest.raises(SamlValidationError) as refused:
        _answer(setting, Outcome.CANCEL, signer=other)
    assert refused.value.refusal == (
        "issuer-not-selected-idp:'https://stub-idp-three.federation.test'"
        " (the hub's request went to https://stub-idp-two.federation.test)"
    )


def test_fraud_without_its_attributes_names_the_missing_one(setting):
    response = _answer(setting, Outcome.FRAUD_FI01).response
    assertions = tuple(
        replace(
            a, data=replace(a.data, attributes=tuple(x for x in a.data.attributes if x.name != c.FECI_GPG45_STATUS))
        )
        for a in response.assertions
    )
    with pytest.raises(SamlValidationError) as refused:
        read_idp_answer(replace(response, assertions=assertions))
    assert refused.value.refusal == (
        "fraud-response-without-fraud-attributes:FECI_GPG45Status"
        " (a levelX assertion carries both, one text value each)"
    )


@pytest.mark.parametrize(
    ("level", "requested", "comparison", "refusal"),
    [
        (L2, (L1, L2), "minimum", None),
        (L2, (L1,), "minimum", None),
        (L1, (L2,), "minimum", "loa-below-minimum:LEVEL_1 (the hub asked for at least LEVEL_2)"),
        (L3, (L2,), "minimum", "loa-not-certified:LEVEL_3 (certified for LEVEL_1, LEVEL_2)"),
        (L2, (L1,), "exact", "loa-not-requested:LEVEL_2 (asked: LEVEL_1, exact)"),
    ],
)
def test_the_level_rule(level, requested, comparison, refusal):
    if refusal is None:
        check_returned_level(level, requested=requested, comparison=comparison, certified=(L1, L2))
        return
    with pytest.raises(SamlValidationError) as refused:
        check_returned_level(level, requested=requested, comparison=comparison, certified=(L1, L2))
    assert refused.value.refusal == refusal
