"""Vectors of trust, their Verify levels and `vot`; the return-code table; the OIDC request in the session."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from federation import vectors_of_trust as vot
from federation.loa import LevelOfAssurance as L
from hub.policy import return_codes as rc
from hub.policy.states import FrontEnd, OidcRequest, State, start_session
from hub.store.crypto import SessionCodec


@pytest.mark.parametrize(
    ("text", "confidence", "two_factor"),
    [("Cl", 0, False), ("Cl.Cm", 0, True), ("Cl.Cm.P0", 0, True), ("Cl.Cm.P2", 2, True), ("P2.Cm.Cl", 2, True)],
)
def test_vectors_parse_in_any_order(text, confidence, two_factor):
    assert vot.parse_vector(text) == vot.Vector(confidence, two_factor)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("Cl.P2", "needs Cl.Cm"),
        ("Cl.Cm.P1.P2", "more than one identity confidence"),
        ("Cm", "no credential component"),
        ("P2", "no credential component"),
        ("Cl.Cl", "twice"),
        ("Cl.Cx", "unknown component"),
        ("Cl..Cm", "dot-separated"),
        ("", "short text"),
        (2, "short text"),
    ],
)
def test_bad_vectors_name_the_rule_they_break(text, rule):
    with pytest.raises(vot.VectorError, match=rule):
        vot.parse_vector(text)


def test_vtr_is_a_short_non_empty_list_without_repeats():
    assert vot.parse_vtr(["Cl.Cm.P2", "Cl.Cm"]) == (vot.Vector(2, True), vot.Vector(0, True))
    for bad in ([], "Cl.Cm", ["Cl.Cm", "Cl.Cm"], ["Cl"] * 6):
        with pytest.raises(vot.VectorError):
            vot.parse_vtr(bad)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("Cl", L.LEVEL_1),
        ("Cl.Cm", L.LEVEL_2),
        ("Cl.Cm.P1", L.LEVEL_2),
        ("Cl.Cm.P2", L.LEVEL_2),
        ("Cl.Cm.P3", L.LEVEL_3),
    ],
)
def test_each_vector_asks_the_lowest_level_that_meets_both_dimensions(text, level):
    assert vot.level_for(vot.parse_vector(text)) is level


def test_vot_holds_only_what_was_reached():
    asked = vot.parse_vtr(["Cl.Cm.P2", "Cl"])
    assert str(vot.vector_of_trust(asked, L.LEVEL_2)) == "Cl.Cm.P2"
    assert str(vot.vector_of_trust(asked, L.LEVEL_1)) == "Cl"  # two factors and P2 were not reached
    assert vot.vector_of_trust(vot.parse_vtr(["Cl.Cm.P3"]), L.LEVEL_2) is None
    assert vot.levels_for(asked) == (L.LEVEL_1, L.LEVEL_2)


def test_every_failure_state_has_a_return_code_and_success_has_none():
    for state in (State.SUCCESSFUL_MATCH, State.NON_MATCHING_JOURNEY_SUCCESS, State.USER_ACCOUNT_CREATED):
        assert rc.return_code(state) is None
    assert rc.return_code(State.FRAUD_EVENT_DETECTED) == rc.ReturnCode("fraud_suspected", rc.Offer.OTHER_WAYS)
    assert rc.return_code(State.AUTHN_FAILED_ERROR, "loa_too_low") is rc.LEVEL_NOT_REACHED
    assert rc.return_code(State.AUTHN_FAILED_ERROR) is rc.AUTHENTICATION_FAILED
    assert rc.return_code(State.MATCHING_SERVICE_REQUEST_ERROR).offer is rc.Offer.TRY_LATER
    assert len({code.code for code in rc.ALL}) == len(rc.ALL)


def test_an_oidc_journey_keeps_its_request_through_the_session_codec():
    request = OidcRequest(
        client_id="c", redirect_uri="https://rp.example/cb", state="s", nonce="n", code_challenge="x" * 43,
        scope=("openid",), vtr=("Cl.Cm.P2",), claims=("given_name",), ui_locales="cy", max_age=60, force_authn=True,
    )  # fmt: skip
    now = datetime.now(UTC)
    session = start_session(
        rp_entity_id="c", authn_request_id="_oidc-1", relay_state=None, acs_url=request.redirect_uri,
        accepted_levels=(L.LEVEL_2,), force_authn=True, idp_shortlist=(), now=now, oidc_request=request,
    )  # fmt: skip
    codec = SessionCodec(b"k" * 32)
    decoded = codec.decode(session.session_id, codec.encode(session))
    assert decoded.front_end is FrontEnd.OIDC and decoded.oidc_request == request
    assert decoded.state is State.SESSION_STARTED
