"""The journey's rules for what an identity provider or a matching service answered: outcome in, the
session's next state and the audit facts out. Plain Python: no Flask, no XML, no I/O.

The caller (`hub.idp_answer`, `hub.matching_step`) has already verified the message (the protocol engines)
and afterwards saves the session, keeps the answer's assertions beside it when the session says they are
held (`hub.store.held`), and writes the audit facts. Keeping the rules here means they are tested
exhaustively without a server, and every front end (SAML `verify`, SAML `standard`, OIDC) shares them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from federation.loa import LevelOfAssurance
from hub.policy import outcomes as o
from hub.policy import states as s

PROBLEM_CANCELLED = "cancelled"  # the problem keys the citizen's pages know (federation.web.problems)
PROBLEM_LOA_TOO_LOW = "loa_too_low"


@dataclass(frozen=True)
class AuditFact:
    """One audit event the step produced (the caller adds the journey, service and company)."""

    event: str
    levels: LevelOfAssurance | None = None
    pid_hash: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    session: s.Session
    audit: tuple[AuditFact, ...] = ()


def on_idp_outcome(session: s.Session, outcome: o.IdpOutcome, *, matching_request_id: str, now: datetime) -> Step:
    """Apply the selected IDP's answer to the hub's request (InvalidTransition if out of turn).

    `matching_request_id` names the query the hub sends next if this is a matching journey's success.
    """
    ref = {"idp_entity_id": outcome.idp_entity_id, "in_response_to": outcome.in_response_to}
    match outcome:
        case o.IdpSuccess():
            release = None
            if outcome.identity is not None:
                release = s.Release(pid=outcome.pid, authn_instant=outcome.authn_instant, identity=outcome.identity)
            event: s.Event
            if outcome.for_matching_service:
                event = s.IdpAuthnSucceeded(
                    **ref,
                    level=outcome.level,
                    matching_request_id=matching_request_id,
                    pid_hash=outcome.pid_hash,
                    matching_identity=s.MatchingIdentity(outcome.pid),
                    release=release,
                )
            else:
                event = s.NonMatchingSuccess(
                    **ref,
                    level=outcome.level,
                    pid_hash=outcome.pid_hash,
                    service_assertions_held=bool(outcome.sealed_assertions),
                    release=release,
                )
            fact = AuditFact("idp_authn_succeeded", levels=outcome.level, pid_hash=outcome.pid_hash)
            return Step(s.transition(session, event, now), (fact,))
        case o.IdpFraud():
            moved = s.transition(session, s.FraudDetected(**ref), now)
            return Step(moved, (AuditFact("fraud_detected", extra={"fraud_indicator": outcome.indicator}),))
        case o.IdpAuthnFailed():
            moved = s.transition(session, s.IdpAuthnFailed(**ref, problem=outcome.problem), now)
            extra = {"reason": outcome.reason} if outcome.problem else {"status": outcome.reason}
            return Step(moved, (AuditFact("idp_authn_failed", levels=outcome.level, extra=extra),))
        case o.IdpPending():
            return Step(s.transition(session, s.IdpPending(**ref), now), (AuditFact("idp_authn_pending"),))
        case o.IdpCancelled():
            moved = s.transition(session, s.IdpCancelled(**ref, problem=PROBLEM_CANCELLED), now)
            return Step(moved, (AuditFact("no_authn_context"),))
        case o.IdpRequesterError():
            moved = s.transition(session, s.IdpRequesterError(**ref), now)
            return Step(moved, (AuditFact("requester_error", extra={"status": "requester"}),))
    raise TypeError(f"unknown IDP outcome {type(outcome).__name__}")


def on_matching_outcome(
    session: s.Session,
    outcome: o.MatchingOutcome,
    *,
    cycle3_configured: bool,
    account_creation_configured: bool,
    next_query_id: str,
    now: datetime,
) -> Step:
    """Apply the matching service's answer to the query the session awaits.

    `next_query_id` names the account-creation query, if a no-match leads to one.
    """
    state, level = session.state, session.idp_level
    cycle3 = state is s.State.CYCLE3_MATCH_REQUEST_SENT
    creating = state is s.State.USER_ACCOUNT_CREATION_REQUEST_SENT
    if state not in s.AWAITING_MATCHING_SERVICE:
        raise s.InvalidTransition(state, s.EventType.MATCHED, "no-matching-query-outstanding")
    match outcome:
        case o.MatchingFailed():
            return Step(s.transition(session, s.MatchingServiceError(), now))
        case o.AccountCreated() if creating:
            created = s.AccountCreated(service_assertions_held=bool(outcome.service_assertions))
            moved = s.transition(session, created, now)
            return Step(moved, (AuditFact("user_account_created", levels=level),))
        case o.AccountNotCreated() | o.NoRecord() if creating:
            moved = s.transition(session, s.AccountCreationFailed(), now)
            return Step(moved, (AuditFact("user_account_creation_failed", levels=level),))
        case o.RecordMatched() if not creating:
            moved = s.transition(session, s.Matched(service_assertions_held=bool(outcome.service_assertions)), now)
            return Step(moved, (AuditFact("cycle3_match" if cycle3 else "cycle01_match", levels=level),))
        case o.NoRecord():
            facts = [AuditFact("cycle3_no_match" if cycle3 else "cycle01_no_match", levels=level)]
            following = s.after_no_match(
                state, cycle3_configured=cycle3_configured, account_creation_configured=account_creation_configured
            )
            if following is s.EventType.CYCLE3_REQUESTED:
                facts.append(AuditFact("waiting_for_cycle3_attributes", levels=level))
                return Step(s.transition(session, s.Cycle3Requested(), now), tuple(facts))
            if following is s.EventType.ACCOUNT_CREATION_REQUESTED:
                moved = s.transition(session, s.AccountCreationRequested(matching_request_id=next_query_id), now)
                return Step(moved, tuple(facts))
            return Step(s.transition(session, s.NoMatch(), now), tuple(facts))
    # an answer that does not fit the query (e.g. "created" to a matching query): not to be trusted
    return Step(s.transition(session, s.MatchingServiceError(), now))
