"""Assertions held beside a session (`hub.store.held`): bound to their session and kind, reached under a
renewed ID, kept exactly as long as the session, gone with the journey; and the journey lock's step writes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from federation.loa import LevelOfAssurance as LoA
from hub.policy.states import MatchingIdentity, Session, State, start_session
from hub.session_lock import NAMESPACE, journey_step
from hub.store import MemoryStore, SessionCodec, SessionRepository
from hub.store.held import Held
from tests.support.hand_clock import HandClock

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
ASSERTIONS = ("PHNhbWw+b25lPC9zYW1sPg==", "PHNhbWw+dHdvPC9zYW1sPg==")


@pytest.fixture
def clock() -> HandClock:
    return HandClock()


@pytest.fixture
def sessions(clock: HandClock) -> SessionRepository:
    return SessionRepository(
        MemoryStore(clock=clock), SessionCodec(bytes(range(32))), timedelta(minutes=90), grace=timedelta(minutes=15)
    )


def awaiting_matching() -> Session:
    session = start_session(
        rp_entity_id="https://rp.example",
        authn_request_id="_rp-1",
        relay_state=None,
        acs_url="https://rp.example/acs",
        accepted_levels=(LoA.LEVEL_2,),
        force_authn=False,
        idp_shortlist=("https://idp-a",),
        now=NOW,
    )
    return dataclasses.replace(
        session, state=State.CYCLE_0_AND_1_MATCH_REQUEST_SENT, matching_identity=MatchingIdentity("pid-1")
    )


def applied(sessions: SessionRepository, session: Session) -> Session:
    """The session renewed as the IDP's answer is applied, its assertions held beside it."""
    with sessions.store.writes() as writes:
        return sessions.renew(session, now=NOW, writes=writes, held={Held.FOR_MATCHING_SERVICE: ASSERTIONS})


def test_the_session_blob_does_not_carry_the_assertions(sessions):
    session = applied(sessions, awaiting_matching())
    blob = sessions.store.load(session.session_id)
    assert len(blob) < 1500, "the session is light: its assertions are beside it"
    assert sessions.get_with(session.session_id, Held.FOR_MATCHING_SERVICE, NOW) == (session, ASSERTIONS)


def test_a_renewed_id_reaches_them_and_the_old_one_nothing(sessions):
    before = awaiting_matching()
    session = applied(sessions, before)
    assert session.session_id != before.session_id
    assert sessions.get_with(session.session_id, Held.FOR_MATCHING_SERVICE, NOW)[1] == ASSERTIONS
    assert sessions.get_with(before.session_id, Held.FOR_MATCHING_SERVICE, NOW) == (None, ())
    assert sessions.store.get(Held.FOR_MATCHING_SERVICE.value, before.session_id) is None


def test_another_session_cannot_read_them_even_given_the_blob(sessions):
    mine = applied(sessions, awaiting_matching())
    other = applied(sessions, awaiting_matching())
    blob = sessions.store.get(Held.FOR_MATCHING_SERVICE.value, mine.session_id)
    assert sessions.read_held(other, Held.FOR_MATCHING_SERVICE, blob) == (), "bound to the session's ID"
    sessions.store.put(Held.FOR_MATCHING_SERVICE.value, other.session_id, blob, 60)  # moved in the store
    assert sessions.get_with(other.session_id, Held.FOR_MATCHING_SERVICE, NOW) == (other, ())


def test_one_kind_cannot_pass_for_the_other(sessions):
    session = applied(sessions, awaiting_matching())
    blob = sessions.store.get(Held.FOR_MATCHING_SERVICE.value, session.session_id)
    for_service = dataclasses.replace(session, service_assertions_held=True)
    assert sessions.read_held(for_service, Held.FOR_SERVICE, blob) == (), "bound to its kind"


def test_a_session_that_does_not_say_it_holds_them_reads_none(sessions):
    session = applied(sessions, awaiting_matching())
    blob = sessions.store.get(Held.FOR_MATCHING_SERVICE.value, session.session_id)
    assert (
        sessions.read_held(dataclasses.replace(session, matching_identity=None), Held.FOR_MATCHING_SERVICE, blob) == ()
    )


def test_renew_is_given_exactly_what_the_session_holds(sessions):
    with pytest.raises(ValueError), sessions.store.writes() as writes:
        sessions.renew(awaiting_matching(), now=NOW, writes=writes)  # holds the IDP's assertions: not given
    with pytest.raises(ValueError), sessions.store.writes() as writes:
        sessions.renew(awaiting_matching(), now=NOW, writes=writes, held={Held.FOR_SERVICE: ASSERTIONS})


def test_they_live_exactly_as_long_as_the_session(sessions, clock):
    session = applied(sessions, awaiting_matching())
    ttl = sessions.ttl_seconds(session, NOW)
    clock.now = ttl - 10
    sessions.put(session, now=NOW)  # a later save sets their TTL to the session's again
    clock.now = 2 * ttl - 20
    assert sessions.get_with(session.session_id, Held.FOR_MATCHING_SERVICE, NOW) == (session, ASSERTIONS)
    clock.now = 2 * ttl
    assert sessions.store.get(Held.FOR_MATCHING_SERVICE.value, session.session_id) is None
    assert sessions.store.load(session.session_id) is None


def test_they_are_gone_when_the_journey_ends(sessions):
    session = applied(sessions, awaiting_matching())
    with sessions.store.writes() as writes:
        sessions.keep(session, Held.FOR_SERVICE, ("rp-assertion",), now=NOW, writes=writes)
    sessions.end(session.session_id)
    assert sessions.store.load(session.session_id) is None
    for kind in Held:
        assert sessions.store.get(kind.value, session.session_id) is None


def test_dropped_when_no_longer_needed(sessions):
    session = applied(sessions, awaiting_matching())
    with sessions.store.writes() as writes:
        sessions.drop(session.session_id, Held.FOR_MATCHING_SERVICE, writes=writes)
    assert sessions.store.get(Held.FOR_MATCHING_SERVICE.value, session.session_id) is None


# ------------------------------------------------------------------------------------------ the journey step


def a_hub(sessions: SessionRepository) -> SimpleNamespace:
    config = SimpleNamespace(matching_service_timeout_seconds=5)
    return SimpleNamespace(store=sessions.store, sessions=sessions, config=config, now=lambda: NOW)


def test_a_step_reads_the_session_and_its_assertions_and_sends_its_writes_before_the_release(sessions):
    session = applied(sessions, awaiting_matching())
    hub = a_hub(sessions)
    with journey_step(hub, session.session_id, beside=Held.FOR_MATCHING_SERVICE) as step:
        assert step.held and step.session == session
        assert sessions.read_held(step.session, Held.FOR_MATCHING_SERVICE, step.beside) == ASSERTIONS
        sessions.put(dataclasses.replace(session, cycle3_value="AB123456C"), now=NOW, writes=step.writes)
        assert sessions.get(session.session_id, NOW).cycle3_value is None, "sent when the step ends"
        with journey_step(hub, session.session_id, wait_seconds=0) as second:
            assert not second.held and second.session is None, "one step at a time"
    assert sessions.get(session.session_id, NOW).cycle3_value == "AB123456C"
    assert sessions.store.try_lock(NAMESPACE, session.session_id, 5) is not None, "released with the writes"


def test_a_step_that_fails_sends_nothing_and_releases_the_lock(sessions):
    session = applied(sessions, awaiting_matching())
    with pytest.raises(RuntimeError), journey_step(a_hub(sessions), session.session_id) as step:
        sessions.put(dataclasses.replace(session, cycle3_value="AB123456C"), now=NOW, writes=step.writes)
        raise RuntimeError("the step failed")
    assert sessions.get(session.session_id, NOW).cycle3_value is None
    assert sessions.store.try_lock(NAMESPACE, session.session_id, 5) is not None
