"""The journey state machine: every allowed transition, every forbidden one, guards, time-out, outcomes."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from federation.loa import LevelOfAssurance as LoA
from hub.policy import states as st
from hub.policy.states import (
    EVENT_CLASSES,
    FINAL_STATES,
    TRANSITIONS,
    EventType,
    InvalidTransition,
    RpOutcome,
    SessionExpired,
    State,
    after_no_match,
    check_timeout,
    outcome_for_rp,
    start_session,
    transition,
)
from hub.policy.suitability import CitizenHas

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
IDP_A = "https://idp-a.example/SAML2/metadata"
IDP_B = "https://idp-b.example/SAML2/metadata"
IDP_C = "https://idp-c.example/SAML2/metadata"  # not on this session's shortlist
HUB_REQ = "_hub-request-1"
MS_REQ = "_ms-request-1"


def fresh(**changes) -> st.Session:
    session = start_session(
        rp_entity_id="https://rp.example/SAML2/metadata",
        authn_request_id="_rp-request-1",
        relay_state="relay-123",
        acs_url="https://rp.example/SAML2/ACS",
        accepted_levels=(LoA.LEVEL_2, LoA.LEVEL_1),
        force_authn=False,
        idp_shortlist=(IDP_B, IDP_A),
        now=NOW,
        session_id="session-under-test",
    )
    return dataclasses.replace(session, **changes)


def session_in(state: State) -> st.Session:
    """A session in `state` with the fields a real journey would have set on the way there."""
    fields: dict = {"state": state}
    if state is not State.SESSION_STARTED:
        fields.update(selected_idp_entity_id=IDP_A, hub_request_id=HUB_REQ)
    if state in (
        State.CYCLE_0_AND_1_MATCH_REQUEST_SENT,
        State.CYCLE3_MATCH_REQUEST_SENT,
        State.USER_ACCOUNT_CREATION_REQUEST_SENT,
    ):
        fields.update(hub_request_id=None, idp_level=LoA.LEVEL_2, matching_request_id=MS_REQ)
    return fresh(**fields)


def sample_event(event_type: EventType) -> st.Event:
    """A well-formed event of each type, consistent with `session_in` (right IDP, right InResponseTo)."""
    cls = EVENT_CLASSES[event_type]
    kwargs: dict = {}
    field_names = {f.name for f in dataclasses.fields(cls)}
    if event_type is EventType.IDP_SELECTED:
        kwargs.update(idp_entity_id=IDP_B, hub_request_id="_hub-request-2")
    elif "in_response_to" in field_names:
        kwargs.update(idp_entity_id=IDP_A, in_response_to=HUB_REQ)
    if "level" in field_names:
        kwargs["level"] = LoA.LEVEL_2
    if "matching_request_id" in field_names:
        kwargs["matching_request_id"] = "_ms-request-2"
    if "kind" in field_names:
        kwargs["kind"] = st.JourneyKind.SIGN_IN
    if "has" in field_names:
        kwargs["has"] = CitizenHas(frozenset({"uk_passport"}), frozenset({"mobile"}), True)
    if event_type is EventType.SESSION_EXTENDED:
        kwargs.update(at=NOW, lifetime=timedelta(minutes=90))
    return cls(**kwargs)


def test_every_event_type_has_one_class():
    assert set(EVENT_CLASSES) == set(EventType)
    for event_type, cls in EVENT_CLASSES.items():
        assert cls.type is event_type


@pytest.mark.parametrize(("source", "event_type"), sorted(TRANSITIONS, key=lambda pair: (pair[0].name, pair[1].name)))
def test_every_allowed_transition(source: State, event_type: EventType):
    before = session_in(source)
    after = transition(before, sample_event(event_type), NOW + timedelta(minutes=5))
    assert after.state is TRANSITIONS[(source, event_type)]
    assert before.state is source, "the old session object must not change"
    assert after.session_id == before.session_id
    assert after.rp_entity_id == before.rp_entity_id
    assert after.expires_at == before.expires_at


FORBIDDEN = [
    (state, event_type)
    for state, event_type in itertools.product(State, EventType)
    if (state, event_type) not in TRANSITIONS
]


def test_forbidden_pairs_are_most_of_the_space():
    assert len(FORBIDDEN) + len(TRANSITIONS) == len(State) * len(EventType)
    assert len(FORBIDDEN) > 250


@pytest.mark.parametrize(("source", "event_type"), FORBIDDEN)
def test_every_forbidden_transition_is_refused(source: State, event_type: EventType):
    before = session_in(source)
    with pytest.raises(InvalidTransition) as raised:
        transition(before, sample_event(event_type), NOW + timedelta(minutes=5))
    assert raised.value.from_state is source
    assert raised.value.event_type is event_type
    assert raised.value.reason == "not-allowed"
    assert source.name in str(raised.value) and event_type.name in str(raised.value)


def test_expected_shape_of_the_table():
    assert TRANSITIONS[(State.IDP_SELECTED, EventType.IDP_CANCELLED)] is State.SESSION_STARTED
    for retry_from in (State.AUTHN_FAILED_ERROR, State.REQUESTER_ERROR, State.PAUSED_REGISTRATION):
        assert TRANSITIONS[(retry_from, EventType.IDP_SELECTED)] is State.IDP_SELECTED
    assert FINAL_STATES == {
        State.SUCCESSFUL_MATCH,
        State.NON_MATCHING_JOURNEY_SUCCESS,
        State.NO_MATCH,
        State.USER_ACCOUNT_CREATED,
        State.USER_ACCOUNT_CREATION_FAILED,
        State.CYCLE_3_DATA_INPUT_CANCELLED,
        State.MATCHING_SERVICE_REQUEST_ERROR,
        State.FRAUD_EVENT_DETECTED,
        State.TIMEOUT,
    }
    for state in State:
        expected = None if state is State.TIMEOUT else State.TIMEOUT
        assert TRANSITIONS.get((state, EventType.TIMED_OUT)) is expected


def test_every_state_is_reachable_and_every_journey_can_end():
    reachable = {State.SESSION_STARTED}
    frontier = [State.SESSION_STARTED]
    while frontier:
        state = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is state and target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(State)
    for state in FINAL_STATES:
        assert outcome_for_rp(state) in RpOutcome


def test_table_is_immutable():
    with pytest.raises(TypeError):
        TRANSITIONS[(State.TIMEOUT, EventType.IDP_SELECTED)] = State.IDP_SELECTED  # type: ignore[index]


# ----------------------------------------------------------------------------------- effects and guards


def test_select_records_idp_and_request():
    after = transition(fresh(), st.IdpSelected(idp_entity_id=IDP_A, hub_request_id=HUB_REQ), NOW)
    assert after.state is State.IDP_SELECTED
    assert (after.selected_idp_entity_id, after.hub_request_id) == (IDP_A, HUB_REQ)


def test_selecting_an_idp_that_was_not_offered_is_refused():
    with pytest.raises(InvalidTransition) as raised:
        transition(fresh(), st.IdpSelected(idp_entity_id=IDP_C, hub_request_id=HUB_REQ), NOW)
    assert raised.value.reason == "idp-not-offered"


@pytest.mark.parametrize(
    "event_type",
    [EventType(t) for t in EventType if "in_response_to" in {f.name for f in dataclasses.fields(EVENT_CLASSES[t])}],
)
def test_idp_answers_must_come_from_the_selected_idp_for_our_request(event_type):
    session = session_in(State.IDP_SELECTED)
    good = sample_event(event_type)
    with pytest.raises(InvalidTransition) as wrong_idp:
        transition(session, dataclasses.replace(good, idp_entity_id=IDP_B), NOW)
    assert wrong_idp.value.reason == "wrong-idp"
    with pytest.raises(InvalidTransition) as wrong_request:
        transition(session, dataclasses.replace(good, in_response_to="_some-other-request"), NOW)
    assert wrong_request.value.reason == "in-response-to-mismatch"
    assert transition(session, good, NOW).state is TRANSITIONS[(State.IDP_SELECTED, event_type)]


def test_cancel_returns_to_company_list_and_a_late_response_is_refused():
    selected = transition(fresh(), st.IdpSelected(idp_entity_id=IDP_A, hub_request_id=HUB_REQ), NOW)
    cancelled = transition(selected, st.IdpCancelled(idp_entity_id=IDP_A, in_response_to=HUB_REQ), NOW)
    assert cancelled.state is State.SESSION_STARTED
    assert cancelled.selected_idp_entity_id is None and cancelled.hub_request_id is None
    late = st.IdpAuthnSucceeded(idp_entity_id=IDP_A, in_response_to=HUB_REQ, level=LoA.LEVEL_2, matching_request_id="x")
    with pytest.raises(InvalidTransition):
        transition(cancelled, late, NOW)
    again = transition(cancelled, st.IdpSelected(idp_entity_id=IDP_B, hub_request_id="_hub-request-2"), NOW)
    assert again.state is State.IDP_SELECTED and again.selected_idp_entity_id == IDP_B


def test_reselecting_replaces_the_request_so_the_first_idps_answer_is_refused():
    first = transition(fresh(), st.IdpSelected(idp_entity_id=IDP_A, hub_request_id=HUB_REQ), NOW)
    second = transition(first, st.IdpSelected(idp_entity_id=IDP_B, hub_request_id="_hub-request-2"), NOW)
    stale = st.IdpAuthnFailed(idp_entity_id=IDP_A, in_response_to=HUB_REQ)
    with pytest.raises(InvalidTransition) as raised:
        transition(second, stale, NOW)
    assert raised.value.reason == "wrong-idp"


@pytest.mark.parametrize(
    ("failure", "state"),
    [
        (st.IdpAuthnFailed, State.AUTHN_FAILED_ERROR),
        (st.IdpRequesterError, State.REQUESTER_ERROR),
        (st.IdpPending, State.PAUSED_REGISTRATION),
    ],
)
def test_after_a_failure_the_citizen_can_try_another_company(failure, state):
    selected = transition(fresh(), st.IdpSelected(idp_entity_id=IDP_A, hub_request_id=HUB_REQ), NOW)
    failed = transition(selected, failure(idp_entity_id=IDP_A, in_response_to=HUB_REQ), NOW)
    assert failed.state is state
    assert failed.hub_request_id is None, "the request has had its answer; a second answer is refused"
    with pytest.raises(InvalidTransition):
        transition(failed, failure(idp_entity_id=IDP_A, in_response_to=HUB_REQ), NOW)
    retry = transition(failed, st.IdpSelected(idp_entity_id=IDP_B, hub_request_id="_hub-request-2"), NOW)
    assert retry.state is State.IDP_SELECTED
    assert (retry.selected_idp_entity_id, retry.hub_request_id) == (IDP_B, "_hub-request-2")


def test_fraud_is_final():
    selected = transition(fresh(), st.IdpSelected(idp_entity_id=IDP_A, hub_request_id=HUB_REQ), NOW)
    fraud = transition(selected, st.FraudDetected(idp_entity_id=IDP_A, in_response_to=HUB_REQ), NOW)
    assert fraud.state is State.FRAUD_EVENT_DETECTED
    with pytest.raises(InvalidTransition):
        transition(fraud, st.IdpSelected(idp_entity_id=IDP_B, hub_request_id="_hub-request-2"), NOW)
    assert outcome_for_rp(fraud.state) is RpOutcome.AUTHN_FAILED


def test_full_matching_journey_with_cycle3_and_account_creation():
    s = transition(fresh(), st.IdpSelected(idp_entity_id=IDP_A, hub_request_id=HUB_REQ), NOW)
    s = transition(
        s,
        st.IdpAuthnSucceeded(
            idp_entity_id=IDP_A,
            in_response_to=HUB_REQ,
            level=LoA.LEVEL_2,
            matching_request_id="_aq-1",
            pid_hash="ab" * 32,
            matching_identity=st.MatchingIdentity("pid-1"),
        ),
        NOW,
    )
    assert s.state is State.CYCLE_0_AND_1_MATCH_REQUEST_SENT
    assert (s.idp_level, s.matching_request_id, s.hub_request_id) == (LoA.LEVEL_2, "_aq-1", None)
    assert s.pid_hash == "ab" * 32
    step = after_no_match(s.state, cycle3_configured=True, account_creation_configured=True)
    assert step is EventType.CYCLE3_REQUESTED
    s = transition(s, st.Cycle3Requested(), NOW)
    assert s.state is State.AWAITING_CYCLE3_DATA and s.matching_request_id is None
    assert s.matching_identity is not None, "cycle 3 needs the IDP's assertions again"
    s = transition(s, st.Cycle3Submitted(matching_request_id="_aq-2", value="AB123456C"), NOW)
    assert s.state is State.CYCLE3_MATCH_REQUEST_SENT and s.matching_request_id == "_aq-2"
    assert s.cycle3_value == "AB123456C"
    step = after_no_match(s.state, cycle3_configured=True, account_creation_configured=True)
    assert step is EventType.ACCOUNT_CREATION_REQUESTED
    s = transition(s, st.AccountCreationRequested(matching_request_id="_aq-3"), NOW)
    assert s.state is State.USER_ACCOUNT_CREATION_REQUEST_SENT
    s = transition(s, st.AccountCreated(service_assertions_held=True), NOW)
    assert s.state is State.USER_ACCOUNT_CREATED and s.matching_request_id is None
    assert s.service_assertions_held
    assert s.matching_identity is None and s.cycle3_value is None, "matching is over: its inputs are dropped"
    assert outcome_for_rp(s.state) is RpOutcome.SUCCESS


def test_non_matching_journey():
    s = transition(fresh(), st.IdpSelected(idp_entity_id=IDP_B, hub_request_id=HUB_REQ), NOW)
    s = transition(s, st.NonMatchingSuccess(idp_entity_id=IDP_B, in_response_to=HUB_REQ, level=LoA.LEVEL_1), NOW)
    assert s.state is State.NON_MATCHING_JOURNEY_SUCCESS and s.idp_level is LoA.LEVEL_1
    assert outcome_for_rp(s.state) is RpOutcome.SUCCESS


@pytest.mark.parametrize(
    ("state", "cycle3", "creation", "expected"),
    [
        (State.CYCLE_0_AND_1_MATCH_REQUEST_SENT, True, True, EventType.CYCLE3_REQUESTED),
        (State.CYCLE_0_AND_1_MATCH_REQUEST_SENT, True, False, EventType.CYCLE3_REQUESTED),
        (State.CYCLE_0_AND_1_MATCH_REQUEST_SENT, False, True, EventType.ACCOUNT_CREATION_REQUESTED),
        (State.CYCLE_0_AND_1_MATCH_REQUEST_SENT, False, False, EventType.NO_MATCH),
        (State.CYCLE3_MATCH_REQUEST_SENT, True, True, EventType.ACCOUNT_CREATION_REQUESTED),
        (State.CYCLE3_MATCH_REQUEST_SENT, True, False, EventType.NO_MATCH),
    ],
)
def test_after_no_match(state, cycle3, creation, expected):
    assert after_no_match(state, cycle3_configured=cycle3, account_creation_configured=creation) is expected
    assert (state, expected) in TRANSITIONS


def test_after_no_match_outside_matching_is_an_error():
    with pytest.raises(ValueError):
        after_no_match(State.IDP_SELECTED, cycle3_configured=True, account_creation_configured=True)


# -------------------------------------------------------------------------------------------- time-out


def test_lifetime_from_config():
    session = start_session(
        rp_entity_id="rp",
        authn_request_id="_r",
        relay_state=None,
        acs_url="https://rp/acs",
        accepted_levels=(LoA.LEVEL_2,),
        force_authn=True,
        idp_shortlist=(IDP_A,),
        now=NOW,
        lifetime=timedelta(minutes=10),
    )
    assert session.expires_at == NOW + timedelta(minutes=10)
    assert session.state is State.SESSION_STARTED and session.force_authn is True
    assert fresh().expires_at == NOW + st.DEFAULT_SESSION_LIFETIME


def test_expired_session_refuses_every_event_but_timeout():
    session = session_in(State.IDP_SELECTED)
    just_before = session.expires_at - timedelta(microseconds=1)
    assert transition(session, sample_event(EventType.IDP_AUTHN_FAILED), just_before).state is State.AUTHN_FAILED_ERROR
    for event_type in EventType:
        if event_type is EventType.TIMED_OUT:
            continue
        with pytest.raises(SessionExpired) as raised:
            transition(session, sample_event(event_type), session.expires_at)
        assert raised.value.reason == "session-expired"
        assert isinstance(raised.value, InvalidTransition)


@pytest.mark.parametrize("state", [s for s in State if s is not State.TIMEOUT])
def test_check_timeout_moves_every_state_to_timeout_and_drops_personal_data(state):
    session = dataclasses.replace(
        session_in(state),
        matching_identity=st.MatchingIdentity("pid"),
        cycle3_value="AB123456C",
        service_assertions_held=True,
    )
    assert session.holds_personal_data
    assert check_timeout(session, session.expires_at - timedelta(seconds=1)) is session
    timed_out = check_timeout(session, session.expires_at)
    assert timed_out.state is State.TIMEOUT
    assert not timed_out.holds_personal_data
    assert timed_out.hub_request_id is None and timed_out.matching_request_id is None
    assert outcome_for_rp(timed_out.state) is RpOutcome.NO_AUTHN_CONTEXT


def test_a_timed_out_session_is_audited_after_its_expiry():
    """The time-out page records the time-out once, always after the session expired."""
    timed_out = check_timeout(session_in(State.IDP_SELECTED), NOW + timedelta(days=1))
    audited = transition(timed_out, sample_event(EventType.TIMEOUT_AUDITED), NOW + timedelta(days=1))
    assert audited.state is State.TIMEOUT and audited.timeout_audited


def test_timeout_is_terminal():
    timed_out = check_timeout(session_in(State.IDP_SELECTED), NOW + timedelta(days=1))
    assert check_timeout(timed_out, NOW + timedelta(days=2)) is timed_out
    for event_type in EventType:
        if event_type is EventType.TIMEOUT_AUDITED:  # recorded once, and the session stays timed out
            continue
        with pytest.raises(InvalidTransition):
            transition(timed_out, sample_event(event_type), NOW + timedelta(days=2))


# --------------------------------------------------------------------------------------------- outcomes

EXPECTED_OUTCOMES = {
    State.SUCCESSFUL_MATCH: RpOutcome.SUCCESS,
    State.NON_MATCHING_JOURNEY_SUCCESS: RpOutcome.SUCCESS,
    State.USER_ACCOUNT_CREATED: RpOutcome.SUCCESS,
    State.NO_MATCH: RpOutcome.NO_MATCH,
    State.USER_ACCOUNT_CREATION_FAILED: RpOutcome.NO_MATCH,
    State.CYCLE_3_DATA_INPUT_CANCELLED: RpOutcome.NO_AUTHN_CONTEXT,
    State.TIMEOUT: RpOutcome.NO_AUTHN_CONTEXT,
    State.SESSION_STARTED: RpOutcome.NO_AUTHN_CONTEXT,
    State.IDP_SELECTED: RpOutcome.NO_AUTHN_CONTEXT,
    State.PAUSED_REGISTRATION: RpOutcome.NO_AUTHN_CONTEXT,
    State.AUTHN_FAILED_ERROR: RpOutcome.AUTHN_FAILED,
    State.FRAUD_EVENT_DETECTED: RpOutcome.AUTHN_FAILED,
    State.MATCHING_SERVICE_REQUEST_ERROR: RpOutcome.AUTHN_FAILED,
    State.REQUESTER_ERROR: RpOutcome.REQUESTER,
}


@pytest.mark.parametrize("state", list(State))
def test_outcome_for_rp(state):
    if state in EXPECTED_OUTCOMES:
        assert outcome_for_rp(state) is EXPECTED_OUTCOMES[state]
        assert st.may_respond_to_rp(state)
    else:
        assert state in {
            State.CYCLE_0_AND_1_MATCH_REQUEST_SENT,
            State.CYCLE3_MATCH_REQUEST_SENT,
            State.USER_ACCOUNT_CREATION_REQUEST_SENT,
            State.AWAITING_CYCLE3_DATA,
        }
        assert not st.may_respond_to_rp(state)
        with pytest.raises(ValueError):
            outcome_for_rp(state)


# ------------------------------------------------------------------------------------------ immutability


def test_session_is_immutable_and_typed():
    session = fresh(idp_shortlist=["a", "b"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        session.state = State.TIMEOUT  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        session.cycle3_value = "changed"  # type: ignore[misc]
    assert session.idp_shortlist == ("a", "b"), "sequences are kept as tuples"
    assert not hasattr(session, "data"), "no string bag: every field has one meaning"


def test_session_times_must_be_aware():
    with pytest.raises(ValueError):
        fresh(started_at=datetime(2030, 1, 1))


def test_start_session_validation_and_fresh_ids():
    kwargs = dict(
        rp_entity_id="rp",
        authn_request_id="_r",
        relay_state=None,
        acs_url="https://rp/acs",
        force_authn=False,
        idp_shortlist=(),
        now=NOW,
    )
    with pytest.raises(ValueError):
        start_session(accepted_levels=(), **kwargs)
    with pytest.raises(ValueError):
        start_session(accepted_levels=(LoA.LEVEL_1,), lifetime=timedelta(0), **kwargs)
    one = start_session(accepted_levels=(LoA.LEVEL_2, LoA.LEVEL_1), **kwargs)
    two = start_session(accepted_levels=(LoA.LEVEL_1,), **kwargs)
    assert one.session_id != two.session_id and len(one.session_id) >= 43
    assert one.accepted_levels == (LoA.LEVEL_1, LoA.LEVEL_2)


def test_more_time_moves_the_end_and_is_limited_to_ten_extensions():
    session = session_in(State.IDP_SELECTED)
    later = NOW + timedelta(minutes=80)
    for count in range(1, st.MAX_EXTENSIONS + 1):
        session = transition(session, st.SessionExtended(at=later, lifetime=timedelta(minutes=90)), later)
        assert session.expires_at == later + timedelta(minutes=90) and session.extensions == count
        assert session.state is State.IDP_SELECTED
    with pytest.raises(InvalidTransition) as refused:
        transition(session, st.SessionExtended(at=later, lifetime=timedelta(minutes=90)), later)
    assert refused.value.reason == "no-more-extensions"
    with pytest.raises(st.SessionExpired):  # an ended session cannot be revived
        transition(
            session_in(State.IDP_SELECTED), st.SessionExtended(at=NOW, lifetime=timedelta(1)), NOW + timedelta(days=1)
        )
