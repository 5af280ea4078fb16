"""The journey policy: every IDP outcome and every matching outcome, in every state that awaits one.

Plain functions of typed outcomes (no server, no XML), so the whole space is walked here.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest

from federation.identity import MatchingDataset, MdsValue
from federation.loa import LevelOfAssurance as LoA
from hub.policy import journey
from hub.policy import outcomes as o
from hub.policy import states as st
from hub.policy.states import State

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
IDP = "https://idp.example"
REQ = "_hub-request-1"
REF = {"idp_entity_id": IDP, "in_response_to": REQ}
IDENTITY = MatchingDataset(
    first_names=(MdsValue("Alice", verified=True),), date_of_birth=MdsValue(date(1980, 1, 2), verified=True)
)


def awaiting_idp() -> st.Session:
    session = st.start_session(
        rp_entity_id="https://rp.example",
        authn_request_id="_rp-1",
        relay_state=None,
        acs_url="https://rp.example/acs",
        accepted_levels=(LoA.LEVEL_2,),
        force_authn=False,
        idp_shortlist=(IDP,),
        now=NOW,
    )
    return st.transition(session, st.IdpSelected(idp_entity_id=IDP, hub_request_id=REQ), NOW)


def success(**changes) -> o.IdpSuccess:
    fields = dict(
        **REF,
        level=LoA.LEVEL_2,
        pid="pid-1",
        pid_hash="ab" * 32,
        authn_instant=NOW,
        sealed_assertions=("enc-1", "enc-2"),
    )
    fields.update(changes)
    return o.IdpSuccess(**fields)


def apply_idp(outcome: o.IdpOutcome) -> journey.Step:
    return journey.on_idp_outcome(awaiting_idp(), outcome, matching_request_id="_aq-1", now=NOW)


# --- identity providers' answers ------------------------------------------------------------------------------


def test_a_matching_success_awaits_the_matching_service_with_its_assertions_held_beside_the_session():
    step = apply_idp(success())
    session = step.session
    assert session.state is State.CYCLE_0_AND_1_MATCH_REQUEST_SENT
    assert session.matching_identity == st.MatchingIdentity("pid-1"), "the PID; the assertions are not in it"
    assert session.release is None, "a verify-profile service is not handed identity attributes"
    assert session.idp_level is LoA.LEVEL_2 and session.pid_hash == "ab" * 32
    assert session.matching_request_id == "_aq-1" and session.hub_request_id is None
    assert [f.event for f in step.audit] == ["idp_authn_succeeded"]
    assert step.audit[0].pid_hash == "ab" * 32 and step.audit[0].levels is LoA.LEVEL_2


def test_a_non_matching_success_keeps_what_goes_to_the_service():
    step = apply_idp(success(for_matching_service=False))
    assert step.session.state is State.NON_MATCHING_JOURNEY_SUCCESS
    assert step.session.service_assertions_held
    assert step.session.matching_identity is None


def test_identity_is_kept_only_when_the_front_end_releases_it():
    step = apply_idp(success(for_matching_service=False, sealed_assertions=(), identity=IDENTITY))
    assert step.session.release == st.Release(pid="pid-1", authn_instant=NOW, identity=IDENTITY)


@pytest.mark.parametrize(
    ("outcome", "state", "event", "problem"),
    [
        (o.IdpCancelled(**REF), State.SESSION_STARTED, "no_authn_context", journey.PROBLEM_CANCELLED),
        (o.IdpPending(**REF), State.PAUSED_REGISTRATION, "idp_authn_pending", None),
        (o.IdpRequesterError(**REF), State.REQUESTER_ERROR, "requester_error", None),
        (o.IdpFraud(**REF, indicator="DF01"), State.FRAUD_EVENT_DETECTED, "fraud_detected", None),
        (o.IdpAuthnFailed(**REF), State.AUTHN_FAILED_ERROR, "idp_authn_failed", None),
        (
            o.IdpAuthnFailed(**REF, reason="loa-below-minimum", problem="loa_too_low", level=LoA.LEVEL_1),
            State.AUTHN_FAILED_ERROR,
            "idp_authn_failed",
            "loa_too_low",
        ),
    ],
)
def test_every_failure_has_its_state_page_and_audit(outcome, state, event, problem):
    step = apply_idp(outcome)
    assert step.session.state is state
    assert step.session.problem == problem
    assert [f.event for f in step.audit] == [event]
    assert not step.session.holds_personal_data


def test_audit_facts_carry_the_reason_and_indicator_not_the_citizen():
    fraud = apply_idp(o.IdpFraud(**REF, indicator="DF01")).audit[0]
    assert dict(fraud.extra) == {"fraud_indicator": "DF01"}
    loa = apply_idp(o.IdpAuthnFailed(**REF, reason="loa-below-minimum", problem="loa_too_low")).audit[0]
    assert dict(loa.extra) == {"reason": "loa-below-minimum"}
    plain = apply_idp(o.IdpAuthnFailed(**REF, reason="authn-failed")).audit[0]
    assert dict(plain.extra) == {"status": "authn-failed"}


def test_an_answer_to_another_request_or_from_another_idp_is_refused():
    with pytest.raises(st.InvalidTransition):
        apply_idp(o.IdpCancelled(idp_entity_id=IDP, in_response_to="_another"))
    with pytest.raises(st.InvalidTransition):
        apply_idp(o.IdpCancelled(idp_entity_id="https://other-idp.example", in_response_to=REQ))


def test_outcomes_survive_parking_unchanged():
    for outcome in (
        success(identity=IDENTITY),
        o.IdpCancelled(**REF),
        o.IdpFraud(**REF, indicator="IT01"),
        o.IdpAuthnFailed(**REF, reason="x", problem="loa_too_low", level=LoA.LEVEL_1),
    ):
        assert o.outcome_from_dict(outcome.to_dict()) == outcome
    with pytest.raises(ValueError):
        o.outcome_from_dict({"kind": "success"})
    with pytest.raises(ValueError):
        o.outcome_from_dict({"kind": "no-such-kind"})


# --- matching services' answers -------------------------------------------------------------------------------


def awaiting(state: State) -> st.Session:
    session = apply_idp(success(identity=IDENTITY)).session
    if state is State.CYCLE3_MATCH_REQUEST_SENT:
        session = st.transition(session, st.Cycle3Requested(), NOW)
        session = st.transition(session, st.Cycle3Submitted(matching_request_id="_aq-2", value="AB123456C"), NOW)
    elif state is State.USER_ACCOUNT_CREATION_REQUEST_SENT:
        session = st.transition(session, st.AccountCreationRequested(matching_request_id="_aq-3"), NOW)
    assert session.state is state
    return session


def apply_match(state: State, outcome: o.MatchingOutcome, *, cycle3: bool = True, creation: bool = True):
    return journey.on_matching_outcome(
        awaiting(state),
        outcome,
        cycle3_configured=cycle3,
        account_creation_configured=creation,
        next_query_id="_aq-next",
        now=NOW,
    )


MATCHED = o.RecordMatched(service_assertions=("ms-assertion",))
CREATED = o.AccountCreated(service_assertions=("ms-assertion",))

CASES = [
    # state, outcome, cycle 3 configured, account creation configured -> state, audit events
    (State.CYCLE_0_AND_1_MATCH_REQUEST_SENT, MATCHED, True, True, State.SUCCESSFUL_MATCH, ["cycle01_match"]),
    (
        State.CYCLE_0_AND_1_MATCH_REQUEST_SENT,
        o.NoRecord(),
        True,
        True,
        State.AWAITING_CYCLE3_DATA,
        ["cycle01_no_match", "waiting_for_cycle3_attributes"],
    ),
    (
        State.CYCLE_0_AND_1_MATCH_REQUEST_SENT,
        o.NoRecord(),
        False,
        True,
        State.USER_ACCOUNT_CREATION_REQUEST_SENT,
        ["cycle01_no_match"],
    ),
    (State.CYCLE_0_AND_1_MATCH_REQUEST_SENT, o.NoRecord(), False, False, State.NO_MATCH, ["cycle01_no_match"]),
    (State.CYCLE3_MATCH_REQUEST_SENT, MATCHED, True, True, State.SUCCESSFUL_MATCH, ["cycle3_match"]),
    (
        State.CYCLE3_MATCH_REQUEST_SENT,
        o.NoRecord(),
        True,
        True,
        State.USER_ACCOUNT_CREATION_REQUEST_SENT,
        ["cycle3_no_match"],
    ),
    (State.CYCLE3_MATCH_REQUEST_SENT, o.NoRecord(), True, False, State.NO_MATCH, ["cycle3_no_match"]),
    (
        State.USER_ACCOUNT_CREATION_REQUEST_SENT,
        CREATED,
        True,
        True,
        State.USER_ACCOUNT_CREATED,
        ["user_account_created"],
    ),
    (
        State.USER_ACCOUNT_CREATION_REQUEST_SENT,
        o.AccountNotCreated(),
        True,
        True,
        State.USER_ACCOUNT_CREATION_FAILED,
        ["user_account_creation_failed"],
    ),
]


@pytest.mark.parametrize(("state", "outcome", "cycle3", "creation", "target", "events"), CASES)
def test_matching_answers(state, outcome, cycle3, creation, target, events):
    step = apply_match(state, outcome, cycle3=cycle3, creation=creation)
    assert step.session.state is target
    assert [f.event for f in step.audit] == events
    if target in (State.SUCCESSFUL_MATCH, State.USER_ACCOUNT_CREATED):
        assert step.session.service_assertions_held
        assert step.session.release is not None, "kept for a front end that releases identity"
    if target in (State.AWAITING_CYCLE3_DATA, State.USER_ACCOUNT_CREATION_REQUEST_SENT):
        assert step.session.matching_identity is not None, "needed for the next query"
    else:
        assert step.session.matching_identity is None and step.session.cycle3_value is None
    if target is State.USER_ACCOUNT_CREATION_FAILED:
        assert not step.session.holds_personal_data
    if target is State.NO_MATCH:  # only the identity an OpenID Connect client may be given, with "no-match"
        assert step.session.matching_identity is None and step.session.cycle3_value is None
        assert step.session.release is not None


@pytest.mark.parametrize("state", sorted(st.AWAITING_MATCHING_SERVICE, key=lambda s: s.value))
def test_a_failed_call_ends_on_the_matching_service_error_with_nothing_kept(state):
    step = apply_match(state, o.MatchingFailed(reason="timeout"))
    assert step.session.state is State.MATCHING_SERVICE_REQUEST_ERROR
    assert not step.session.holds_personal_data
    assert step.audit == ()


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        (State.CYCLE_0_AND_1_MATCH_REQUEST_SENT, CREATED),  # "created" to a matching query
        (State.CYCLE3_MATCH_REQUEST_SENT, o.AccountNotCreated()),
        (State.USER_ACCOUNT_CREATION_REQUEST_SENT, MATCHED),  # "match" to an account-creation query
    ],
)
def test_an_answer_that_does_not_fit_the_query_is_not_trusted(state, outcome):
    assert apply_match(state, outcome).session.state is State.MATCHING_SERVICE_REQUEST_ERROR


def test_no_matching_answer_without_an_outstanding_query():
    session = apply_idp(success(for_matching_service=False)).session
    with pytest.raises(st.InvalidTransition):
        journey.on_matching_outcome(
            session,
            MATCHED,
            cycle3_configured=True,
            account_creation_configured=True,
            next_query_id="_x",
            now=NOW,
        )


def test_a_late_answer_finds_the_session_timed_out():
    session = awaiting(State.CYCLE_0_AND_1_MATCH_REQUEST_SENT)
    late = session.expires_at + timedelta(seconds=1)
    with pytest.raises(st.SessionExpired):
        journey.on_matching_outcome(
            session, MATCHED, cycle3_configured=True, account_creation_configured=True, next_query_id="_x", now=late
        )
    assert dataclasses.replace(st.check_timeout(session, late)).state is State.TIMEOUT
