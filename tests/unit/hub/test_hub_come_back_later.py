"""Coming back later and continuing elsewhere: the remembered-company policy, the codes, and the handoff steps.

The handoff steps run on the real in-memory store and session repository (the same code the hub runs), with
a clock the test moves, so a code or request that has run out of time is seen to do nothing.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest

from federation.loa import LevelOfAssurance as LoA
from hub.handoff import CODES, Collected, Handoff, Moved
from hub.policy import handoff as codes
from hub.policy import remembered as r
from hub.policy import states as st
from hub.store.crypto import SessionCodec
from hub.store.memory import MemoryStore
from hub.store.repository import SessionRepository

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
IDP, OTHER_IDP = "https://idp.example", "https://other-idp.example"
RP, OTHER_RP = "https://rp.example", "https://other-rp.example"


def session(rp: str = RP) -> st.Session:
    return st.start_session(
        rp_entity_id=rp,
        authn_request_id="_rp-1",
        relay_state=None,
        acs_url="https://rp.example/acs",
        accepted_levels=(LoA.LEVEL_2,),
        force_authn=False,
        idp_shortlist=(IDP, OTHER_IDP),
        now=NOW,
    )


def selected(idp: str = IDP, rp: str = RP) -> st.Session:
    return st.transition(session(rp), st.IdpSelected(idp_entity_id=idp, hub_request_id="_req"), NOW)


def paused(idp: str = IDP, rp: str = RP) -> st.Session:
    event = st.IdpPending(idp_entity_id=idp, in_response_to="_req")
    return st.transition(selected(idp, rp), event, NOW)


def succeeded(idp: str = IDP) -> st.Session:
    event = st.NonMatchingSuccess(idp_entity_id=idp, in_response_to="_req", level=LoA.LEVEL_2)
    return st.transition(selected(idp), event, NOW)


# ------------------------------------------------------------------------------------ remembered company


def test_a_paused_registration_remembers_the_company_for_thirty_days():
    decision = r.after_step(None, paused(), NOW)
    assert decision.change is r.Change.SET
    assert decision.remembered == r.RememberedCompany(IDP, RP, r.Reason.PAUSED, NOW + timedelta(days=30))


def test_a_fresh_remembered_pause_is_not_sent_again_but_an_old_one_is_renewed():
    fresh = r.paused(IDP, RP, NOW)
    assert r.after_step(fresh, paused(), NOW + timedelta(hours=1)).change is r.Change.KEEP
    later = NOW + timedelta(days=20)
    renewed = r.after_step(fresh, paused(), later)
    assert renewed.change is r.Change.SET and renewed.remembered.expires_at == later + r.PAUSED_LIFETIME


def test_a_remembered_company_applies_only_to_its_service_and_until_it_expires():
    remembered = r.paused(IDP, RP, NOW)
    assert remembered.applies_to(RP, NOW + timedelta(days=29))
    assert not remembered.applies_to(OTHER_RP, NOW)
    assert not remembered.applies_to(RP, NOW + timedelta(days=30))
    assert not r.single_idp(IDP, RP, NOW).applies_to(RP, NOW + timedelta(minutes=60))


def test_success_with_the_remembered_company_forgets_it():
    assert r.after_step(r.paused(IDP, RP, NOW), succeeded(), NOW).change is r.Change.CLEAR


def test_choosing_another_company_for_that_service_forgets_it():
    assert r.after_step(r.paused(IDP, RP, NOW), selected(OTHER_IDP), NOW).change is r.Change.CLEAR
    # going back to the same company (the resume itself) keeps it until that journey succeeds
    assert r.after_step(r.paused(IDP, RP, NOW), selected(IDP), NOW).change is r.Change.KEEP
    # another service's journey leaves it alone
    assert r.after_step(r.paused(IDP, RP, NOW), selected(OTHER_IDP, OTHER_RP), NOW).change is r.Change.KEEP


def test_a_single_company_start_is_used_once():
    assert r.after_step(r.single_idp(IDP, RP, NOW), selected(IDP), NOW).change is r.Change.CLEAR
    assert r.after_step(r.single_idp(IDP, RP, NOW), session(), NOW).change is r.Change.KEEP


def test_the_record_survives_its_own_serialisation_and_refuses_anything_else():
    remembered = r.single_idp(IDP, RP, NOW)
    assert r.RememberedCompany.from_dict(remembered.to_dict()) == remembered
    for broken in ({}, {**remembered.to_dict(), "reason": "forever"}, {**remembered.to_dict(), "expires": "soon"}):
        with pytest.raises((KeyError, ValueError)):
            r.RememberedCompany.from_dict(broken)
    with pytest.raises(ValueError):
        r.RememberedCompany.from_dict({**remembered.to_dict(), "expires": "2030-05-01T12:00:00"})  # no zone


# ------------------------------------------------------------------------------------------------ codes


def test_codes_are_eight_characters_from_an_unambiguous_alphabet():
    for ambiguous in "01ILO":
        assert ambiguous not in codes.ALPHABET
    drawn = {codes.new_code() for _ in range(200)}
    assert len(drawn) == 200
    assert all(len(code) == 8 and set(code) <= set(codes.ALPHABET) for code in drawn)


def test_a_typed_code_is_read_as_the_citizen_meant_it():
    assert codes.normalise_code("abcd-2345") == "ABCD2345"
    assert codes.normalise_code(" ABCD 2345 ") == "ABCD2345"
    assert codes.display_code("ABCD2345") == "ABCD-2345"
    for wrong in ("", "ABCD234", "ABCD23456", "ABCD-0123", "ABCDI234", None, 12345678, "A" * 40):
        assert codes.normalise_code(wrong) is None


def test_only_journeys_choosing_a_company_may_move():
    assert codes.may_move(st.State.SESSION_STARTED)
    assert codes.may_move(st.State.PAUSED_REGISTRATION)
    for state in (st.State.CYCLE_0_AND_1_MATCH_REQUEST_SENT, st.State.SUCCESSFUL_MATCH, st.State.TIMEOUT):
        assert not codes.may_move(state)


# ------------------------------------------------------------------------------------------ handoff steps


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def monotonic(self) -> float:
        return (self.now - NOW).total_seconds()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def handoff(clock):
    store = MemoryStore(clock=clock.monotonic)
    sessions = SessionRepository(store, SessionCodec(secrets.token_bytes(32)), timedelta(minutes=90))
    return Handoff(store, sessions)


@pytest.fixture
def laptop(handoff):
    journey = session()
    handoff.sessions.put(journey, now=NOW)
    return journey


def test_a_confirmed_code_moves_the_journey_to_the_device_that_entered_it(handoff, laptop, clock):
    issued = handoff.issue(laptop, clock.now)
    assert handoff.issued(laptop.session_id, clock.now) == issued
    claim = handoff.redeem(issued.code, clock.now)
    assert claim and handoff.pending(laptop.session_id, clock.now)
    assert handoff.collect(claim, clock.now) is Collected.WAITING  # nothing moves before the laptop says yes
    renewed = handoff.confirm(laptop, clock.now)
    assert renewed is not None and renewed.session_id != laptop.session_id
    assert renewed.journey_id == laptop.journey_id
    assert handoff.sessions.get(laptop.session_id, clock.now) is None  # the laptop's session stops working
    assert handoff.moved(laptop.session_id)
    assert handoff.moved_from(laptop.session_id) == RP  # the laptop's page names the service
    collected = handoff.collect(claim, clock.now)
    assert isinstance(collected, Moved) and collected.session_id == renewed.session_id
    assert len(collected.device_key) >= 43
    assert handoff.collect(claim, clock.now) is Collected.UNKNOWN  # once only


def moved_to_phone(handoff, laptop, clock) -> str:
    """The laptop's journey, moved: the device key the phone's browser holds."""
    claim = handoff.redeem(handoff.issue(laptop, clock.now).code, clock.now)
    handoff.confirm(laptop, clock.now)
    collected = handoff.collect(claim, clock.now)
    assert isinstance(collected, Moved)
    return collected.device_key


def test_the_device_a_journey_moved_to_may_have_its_answer_once(handoff, laptop, clock):
    device = moved_to_phone(handoff, laptop, clock)
    assert handoff.moved_here(device, RP, "_rp-1", clock.now) == "https://rp.example/acs"
    assert handoff.moved_here(device, RP, "_rp-1", clock.now) is None  # once only


@pytest.mark.parametrize(
    ("device", "service", "request_id"),
    [
        ("", RP, "_rp-1"),  # a browser without the cookie
        ("x" * 43, RP, "_rp-1"),  # a made-up key
        (None, OTHER_RP, "_rp-1"),  # the right key, for another service
        (None, RP, "_rp-2"),  # the right key, for another of the service's requests
    ],
)
def test_no_other_browser_service_or_request_has_the_device_say_yes(
    handoff, laptop, clock, device, service, request_id
):
    key = moved_to_phone(handoff, laptop, clock)
    assert handoff.moved_here(key if device is None else device, service, request_id, clock.now) is None
    assert handoff.moved_here(key, RP, "_rp-1", clock.now) is not None  # a wrong question did not spend it


def test_the_device_key_runs_out_with_the_journey_and_can_be_forgotten(handoff, laptop, clock):
    key = moved_to_phone(handoff, laptop, clock)
    later = clock.now + handoff.sessions.lifetime + handoff.sessions.grace
    assert handoff.moved_here(key, RP, "_rp-1", later) is None
    key = moved_to_phone(handoff, laptop_again(handoff), clock)
    handoff.forget_device(key)
    assert handoff.moved_here(key, RP, "_rp-1", clock.now) is None


def laptop_again(handoff) -> st.Session:
    journey = session()
    handoff.sessions.put(journey, now=NOW)
    return journey


def test_a_code_works_once(handoff, laptop, clock):
    code = handoff.issue(laptop, clock.now).code
    assert handoff.redeem(code, clock.now) is not None
    assert handoff.redeem(code, clock.now) is None
    assert handoff.issued(laptop.session_id, clock.now) is None


def test_an_expired_code_does_nothing(handoff, laptop, clock):
    code = handoff.issue(laptop, clock.now).code
    clock.now += codes.CODE_LIFETIME
    assert handoff.redeem(code, clock.now) is None
    assert not handoff.pending(laptop.session_id, clock.now)


def test_a_sealed_code_entry_past_its_expiry_does_nothing_even_if_the_store_still_has_it(handoff, laptop, clock):
    code = handoff.issue(laptop, clock.now).code
    assert handoff.store.get(CODES, code) is not None
    assert handoff.redeem(code, clock.now + codes.CODE_LIFETIME + timedelta(seconds=1)) is None


def test_a_request_not_confirmed_in_time_does_nothing(handoff, laptop, clock):
    claim = handoff.redeem(handoff.issue(laptop, clock.now).code, clock.now)
    clock.now += codes.CLAIM_LIFETIME
    assert handoff.confirm(laptop, clock.now) is None
    assert handoff.collect(claim, clock.now) is Collected.UNKNOWN
    assert handoff.sessions.get(laptop.session_id, clock.now) is not None  # still the laptop's


def test_a_declined_request_is_gone(handoff, laptop, clock):
    claim = handoff.redeem(handoff.issue(laptop, clock.now).code, clock.now)
    handoff.decline(laptop.session_id, clock.now)
    assert handoff.collect(claim, clock.now) is Collected.UNKNOWN
    assert handoff.confirm(laptop, clock.now) is None


def test_a_new_code_replaces_the_old_one(handoff, laptop, clock):
    first = handoff.issue(laptop, clock.now).code
    second = handoff.issue(laptop, clock.now).code
    assert handoff.redeem(first, clock.now) is None
    assert handoff.redeem(second, clock.now) is not None


def test_a_claim_cannot_be_confirmed_by_another_journey(handoff, laptop, clock):
    other = session()
    handoff.sessions.put(other, now=NOW)
    claim = handoff.redeem(handoff.issue(laptop, clock.now).code, clock.now)
    assert handoff.confirm(other, clock.now) is None
    assert handoff.collect(claim, clock.now) is Collected.WAITING
