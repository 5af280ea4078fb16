"""The hub's journey state machine: one immutable `Session`, one transition table, one pure `transition`.

Every step of a journey is `transition(session, event, now) -> Session`. Anything not in `TRANSITIONS`
(or failing a guard: wrong IDP, wrong InResponseTo, an IDP that was never offered, an expired session)
raises `InvalidTransition`, so a message arriving for a session in the wrong state is a clean error.

Decisions the architecture leaves open, made here:
- Cancel at the IDP (`IdpCancelled`) returns to `SESSION_STARTED` (the company list); the selected IDP
  and the hub's request ID are cleared, so a late response from that IDP is refused.
- After `AUTHN_FAILED_ERROR`, `REQUESTER_ERROR` or `PAUSED_REGISTRATION` the citizen may pick a company
  again (`IdpSelected`). Picking again while in `IDP_SELECTED` (browser back) replaces the hub's request ID.
- `FRAUD_EVENT_DETECTED` is final: only a response to the RP follows.
- The matching-journey success from the IDP (`IdpAuthnSucceeded`) carries the ID of the AttributeQuery
  the hub is about to send and lands directly in `CYCLE_0_AND_1_MATCH_REQUEST_SENT`; the non-matching one
  (`NonMatchingSuccess`) lands in `NON_MATCHING_JOURNEY_SUCCESS`.
- Whether a no-match leads to cycle 3, account creation or a no-match response is RP configuration;
  `after_no_match` turns it into the event to apply.
- Every state except `TIMEOUT` can time out; `TIMEOUT` drops the session's personal data.

The session is a typed record: every field has one meaning, and only a transition changes it. Personal
data lives in three fields only, each as long as the journey needs it: `matching_identity` (the IDP's PID,
and the mark that the IDP's assertions, encrypted for the matching service, are held beside the session)
until matching is over; `cycle3_value` likewise; `release` (what a front end that hands identity attributes
to the service needs at the journey's end) until the answer goes to the service. A time-out drops all three.
The assertions themselves are not in the session (`hub.store.held`): `matching_identity` and
`service_assertions_held` only say that they are kept, beside it, for as long as it says so.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, ClassVar

from federation.identity import MatchingDataset
from federation.loa import LevelOfAssurance
from hub.policy.suitability import CitizenHas

DEFAULT_SESSION_LIFETIME = timedelta(minutes=90)
MAX_EXTENSIONS = 10  # WCAG 2.2.1: the citizen can extend the time limit at least ten times


class State(enum.Enum):
    SESSION_STARTED = "SESSION_STARTED"
    IDP_SELECTED = "IDP_SELECTED"
    CYCLE_0_AND_1_MATCH_REQUEST_SENT = "CYCLE_0_AND_1_MATCH_REQUEST_SENT"
    SUCCESSFUL_MATCH = "SUCCESSFUL_MATCH"
    NON_MATCHING_JOURNEY_SUCCESS = "NON_MATCHING_JOURNEY_SUCCESS"
    NO_MATCH = "NO_MATCH"
    USER_ACCOUNT_CREATED = "USER_ACCOUNT_CREATED"
    AWAITING_CYCLE3_DATA = "AWAITING_CYCLE3_DATA"
    CYCLE3_MATCH_REQUEST_SENT = "CYCLE3_MATCH_REQUEST_SENT"
    TIMEOUT = "TIMEOUT"
    MATCHING_SERVICE_REQUEST_ERROR = "MATCHING_SERVICE_REQUEST_ERROR"
    USER_ACCOUNT_CREATION_REQUEST_SENT = "USER_ACCOUNT_CREATION_REQUEST_SENT"
    AUTHN_FAILED_ERROR = "AUTHN_FAILED_ERROR"
    FRAUD_EVENT_DETECTED = "FRAUD_EVENT_DETECTED"
    REQUESTER_ERROR = "REQUESTER_ERROR"
    CYCLE_3_DATA_INPUT_CANCELLED = "CYCLE_3_DATA_INPUT_CANCELLED"
    USER_ACCOUNT_CREATION_FAILED = "USER_ACCOUNT_CREATION_FAILED"
    PAUSED_REGISTRATION = "PAUSED_REGISTRATION"


class EventType(enum.Enum):
    JOURNEY_KIND_CHOSEN = "JOURNEY_KIND_CHOSEN"
    ABOUT_YOU_ANSWERED = "ABOUT_YOU_ANSWERED"
    IDP_SELECTED = "IDP_SELECTED"
    IDP_CANCELLED = "IDP_CANCELLED"
    IDP_AUTHN_SUCCEEDED = "IDP_AUTHN_SUCCEEDED"
    NON_MATCHING_SUCCESS = "NON_MATCHING_SUCCESS"
    IDP_AUTHN_FAILED = "IDP_AUTHN_FAILED"
    IDP_PENDING = "IDP_PENDING"
    FRAUD_DETECTED = "FRAUD_DETECTED"
    IDP_REQUESTER_ERROR = "IDP_REQUESTER_ERROR"
    MATCHED = "MATCHED"
    NO_MATCH = "NO_MATCH"
    CYCLE3_REQUESTED = "CYCLE3_REQUESTED"
    CYCLE3_SUBMITTED = "CYCLE3_SUBMITTED"
    CYCLE3_CANCELLED = "CYCLE3_CANCELLED"
    ACCOUNT_CREATION_REQUESTED = "ACCOUNT_CREATION_REQUESTED"
    ACCOUNT_CREATED = "ACCOUNT_CREATED"
    ACCOUNT_CREATION_FAILED = "ACCOUNT_CREATION_FAILED"
    MATCHING_SERVICE_ERROR = "MATCHING_SERVICE_ERROR"
    MATCHING_QUERY_SENT = "MATCHING_QUERY_SENT"
    TIMED_OUT = "TIMED_OUT"
    TIMEOUT_AUDITED = "TIMEOUT_AUDITED"
    SESSION_EXTENDED = "SESSION_EXTENDED"


class RpOutcome(enum.Enum):
    """What the RP is told; the SAML layer maps each to status URIs."""

    SUCCESS = "SUCCESS"
    NO_MATCH = "NO_MATCH"
    NO_AUTHN_CONTEXT = "NO_AUTHN_CONTEXT"
    AUTHN_FAILED = "AUTHN_FAILED"
    REQUESTER = "REQUESTER"


class InvalidTransition(Exception):
    """An event the session's state does not allow, or that fails a guard. `reason` is machine-readable."""

    def __init__(self, from_state: State, event_type: EventType, reason: str = "not-allowed") -> None:
        self.from_state = from_state
        self.event_type = event_type
        self.reason = reason
        super().__init__(f"{event_type.name} refused in state {from_state.name}: {reason}")


class SessionExpired(InvalidTransition):
    def __init__(self, from_state: State, event_type: EventType) -> None:
        super().__init__(from_state, event_type, "session-expired")


class JourneyKind(enum.Enum):
    """The citizen's answer on the start page: proved their identity with a company before, or not."""

    SIGN_IN = "sign-in"
    REGISTRATION = "registration"


class FrontEnd(enum.Enum):
    """How the service started the journey, and so how its end is rendered for it."""

    SAML = "saml"
    OIDC = "oidc"


@dataclass(frozen=True)
class OidcRequest:
    """An OpenID Connect authorization request, as validated at intake (`hub.frontends.oidc.authorize`).

    No personal data: what the client sent, kept so that the journey's end can answer it. `vtr` holds the
    acceptable vectors of trust as text (the levels the IDPs are asked for are the session's
    `accepted_levels`), `claims` the identity claims requested and allowed for this client.
    """

    client_id: str
    redirect_uri: str
    state: str | None
    nonce: str | None
    code_challenge: str
    scope: tuple[str, ...]
    vtr: tuple[str, ...]
    claims: tuple[str, ...] = ()
    ui_locales: str | None = None
    max_age: int | None = None
    force_authn: bool = False  # prompt=login or max_age: the IDP must authenticate the citizen afresh


@dataclass(frozen=True)
class MatchingIdentity:
    """What the matching service is sent about the citizen: the IDP's PID for the query's Subject, and the
    IDP's assertions, encrypted for it at receipt, which are held beside the session (`hub.store.held`)
    while this is set."""

    pid: str


@dataclass(frozen=True)
class Release:
    """What a front end that hands identity to the service (SAML `standard`, OIDC) needs at the end: the
    PID it derives the service's pairwise identifier from, when the IDP authenticated the citizen, and the
    identity the IDP verified. Kept only for services whose front end releases identity."""

    pid: str
    authn_instant: datetime
    identity: MatchingDataset


# ---------------------------------------------------------------------------------------------- session


@dataclass(frozen=True)
class Session:
    """One journey, changed only by `transition`."""

    session_id: str
    state: State
    rp_entity_id: str
    authn_request_id: str
    relay_state: str | None
    acs_url: str
    accepted_levels: tuple[LevelOfAssurance, ...]
    force_authn: bool
    idp_shortlist: tuple[str, ...]
    started_at: datetime
    expires_at: datetime
    selected_idp_entity_id: str | None = None
    hub_request_id: str | None = None
    idp_level: LevelOfAssurance | None = None
    pid_hash: str | None = None
    matching_request_id: str | None = None
    # Names the journey in audit events; unlike the session ID (a bearer secret, renewed at sign-in) it
    # stays the same from the service's request to the answer. Defaults to the first session ID.
    journey_id: str = ""
    journey_kind: JourneyKind | None = None
    problem: str | None = None  # a page more specific than the state's own (e.g. a level too low)
    matching_identity: MatchingIdentity | None = None
    cycle3_value: str | None = None
    release: Release | None = None
    # EncryptedAssertions for the service (verify profile) are held beside the session (`hub.store.held`)
    service_assertions_held: bool = False
    timeout_audited: bool = False
    extensions: int = 0  # how many times the citizen asked for more time
    citizen_has: CitizenHas | None = None  # the "will it work for me" answers, to help choose a company
    front_end: FrontEnd = FrontEnd.SAML
    oidc_request: OidcRequest | None = None  # exactly when front_end is OIDC

    def __post_init__(self) -> None:
        if not self.journey_id:
            object.__setattr__(self, "journey_id", self.session_id)
        object.__setattr__(self, "accepted_levels", tuple(self.accepted_levels))
        object.__setattr__(self, "idp_shortlist", tuple(self.idp_shortlist))
        if self.started_at.tzinfo is None or self.expires_at.tzinfo is None:
            raise ValueError("session times must be timezone-aware")
        if (self.front_end is FrontEnd.OIDC) != (self.oidc_request is not None):
            raise ValueError("an OpenID Connect journey, and only one, carries its authorization request")

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    @property
    def holds_personal_data(self) -> bool:
        return any((self.matching_identity, self.cycle3_value, self.release, self.service_assertions_held))


def new_session_id() -> str:
    """256 random bits, URL-safe: the session ID is a bearer secret."""
    return secrets.token_urlsafe(32)


def start_session(
    *,
    rp_entity_id: str,
    authn_request_id: str,
    relay_state: str | None,
    acs_url: str,
    accepted_levels: tuple[LevelOfAssurance, ...],
    force_authn: bool,
    idp_shortlist: tuple[str, ...],
    now: datetime,
    lifetime: timedelta = DEFAULT_SESSION_LIFETIME,
    session_id: str | None = None,
    oidc_request: OidcRequest | None = None,
) -> Session:
    if lifetime <= timedelta(0):
        raise ValueError("session lifetime must be positive")
    if not accepted_levels:
        raise ValueError("an RP must accept at least one level of assurance")
    return Session(
        session_id=session_id or new_session_id(),
        state=State.SESSION_STARTED,
        rp_entity_id=rp_entity_id,
        authn_request_id=authn_request_id,
        relay_state=relay_state,
        acs_url=acs_url,
        accepted_levels=tuple(sorted(accepted_levels)),
        force_authn=force_authn,
        idp_shortlist=tuple(idp_shortlist),
        started_at=now,
        expires_at=now + lifetime,
        front_end=FrontEnd.OIDC if oidc_request is not None else FrontEnd.SAML,
        oidc_request=oidc_request,
    )


# ----------------------------------------------------------------------------------------------- events


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of all events; each says what it changes besides the state in its own typed fields."""

    type: ClassVar[EventType]


@dataclass(frozen=True, kw_only=True)
class JourneyKindChosen(Event):
    type: ClassVar[EventType] = EventType.JOURNEY_KIND_CHOSEN
    kind: JourneyKind


@dataclass(frozen=True, kw_only=True)
class AboutYouAnswered(Event):
    type: ClassVar[EventType] = EventType.ABOUT_YOU_ANSWERED
    has: CitizenHas


@dataclass(frozen=True, kw_only=True)
class IdpSelected(Event):
    type: ClassVar[EventType] = EventType.IDP_SELECTED
    idp_entity_id: str
    hub_request_id: str  # ID of the AuthnRequest the hub sends to this IDP


@dataclass(frozen=True, kw_only=True)
class IdpResponseEvent(Event):
    """An answer from an IDP: must come from the selected IDP, in response to the hub's request."""

    idp_entity_id: str
    in_response_to: str


@dataclass(frozen=True, kw_only=True)
class IdpCancelled(IdpResponseEvent):
    type: ClassVar[EventType] = EventType.IDP_CANCELLED
    problem: str | None = None


@dataclass(frozen=True, kw_only=True)
class IdpAuthnSucceeded(IdpResponseEvent):
    """Matching journey: the hub sends its AttributeQuery (ID `matching_request_id`) next."""

    type: ClassVar[EventType] = EventType.IDP_AUTHN_SUCCEEDED
    level: LevelOfAssurance
    matching_request_id: str
    pid_hash: str | None = None
    matching_identity: MatchingIdentity | None = None
    release: Release | None = None


@dataclass(frozen=True, kw_only=True)
class NonMatchingSuccess(IdpResponseEvent):
    type: ClassVar[EventType] = EventType.NON_MATCHING_SUCCESS
    level: LevelOfAssurance
    pid_hash: str | None = None
    service_assertions_held: bool = False
    release: Release | None = None


@dataclass(frozen=True, kw_only=True)
class IdpAuthnFailed(IdpResponseEvent):
    type: ClassVar[EventType] = EventType.IDP_AUTHN_FAILED
    problem: str | None = None


@dataclass(frozen=True, kw_only=True)
class IdpPending(IdpResponseEvent):
    type: ClassVar[EventType] = EventType.IDP_PENDING


@dataclass(frozen=True, kw_only=True)
class FraudDetected(IdpResponseEvent):
    type: ClassVar[EventType] = EventType.FRAUD_DETECTED


@dataclass(frozen=True, kw_only=True)
class IdpRequesterError(IdpResponseEvent):
    type: ClassVar[EventType] = EventType.IDP_REQUESTER_ERROR


@dataclass(frozen=True, kw_only=True)
class Matched(Event):
    type: ClassVar[EventType] = EventType.MATCHED
    service_assertions_held: bool = False


@dataclass(frozen=True, kw_only=True)
class NoMatch(Event):
    type: ClassVar[EventType] = EventType.NO_MATCH


@dataclass(frozen=True, kw_only=True)
class Cycle3Requested(Event):
    type: ClassVar[EventType] = EventType.CYCLE3_REQUESTED


@dataclass(frozen=True, kw_only=True)
class Cycle3Submitted(Event):
    """The citizen gave the cycle 3 attribute; the hub sends its second AttributeQuery."""

    type: ClassVar[EventType] = EventType.CYCLE3_SUBMITTED
    matching_request_id: str
    value: str = ""


@dataclass(frozen=True, kw_only=True)
class Cycle3Cancelled(Event):
    type: ClassVar[EventType] = EventType.CYCLE3_CANCELLED


@dataclass(frozen=True, kw_only=True)
class AccountCreationRequested(Event):
    type: ClassVar[EventType] = EventType.ACCOUNT_CREATION_REQUESTED
    matching_request_id: str


@dataclass(frozen=True, kw_only=True)
class AccountCreated(Event):
    type: ClassVar[EventType] = EventType.ACCOUNT_CREATED
    service_assertions_held: bool = False


@dataclass(frozen=True, kw_only=True)
class AccountCreationFailed(Event):
    type: ClassVar[EventType] = EventType.ACCOUNT_CREATION_FAILED


@dataclass(frozen=True, kw_only=True)
class MatchingServiceError(Event):
    type: ClassVar[EventType] = EventType.MATCHING_SERVICE_ERROR


@dataclass(frozen=True, kw_only=True)
class MatchingQuerySent(Event):
    """The hub is about to send (or, after a crash, send again) its query, with ID `matching_request_id`."""

    type: ClassVar[EventType] = EventType.MATCHING_QUERY_SENT
    matching_request_id: str


@dataclass(frozen=True, kw_only=True)
class TimedOut(Event):
    type: ClassVar[EventType] = EventType.TIMED_OUT


@dataclass(frozen=True, kw_only=True)
class SessionExtended(Event):
    """The citizen asked for more time: the session ends `lifetime` from now (at most MAX_EXTENSIONS times)."""

    type: ClassVar[EventType] = EventType.SESSION_EXTENDED
    at: datetime
    lifetime: timedelta


@dataclass(frozen=True, kw_only=True)
class TimeoutAudited(Event):
    """The time-out has been written to the audit log (once per journey)."""

    type: ClassVar[EventType] = EventType.TIMEOUT_AUDITED


EVENT_CLASSES: Mapping[EventType, type[Event]] = MappingProxyType(
    {
        cls.type: cls
        for cls in (
            JourneyKindChosen,
            AboutYouAnswered,
            IdpSelected,
            IdpCancelled,
            IdpAuthnSucceeded,
            NonMatchingSuccess,
            IdpAuthnFailed,
            IdpPending,
            FraudDetected,
            IdpRequesterError,
            Matched,
            NoMatch,
            Cycle3Requested,
            Cycle3Submitted,
            Cycle3Cancelled,
            AccountCreationRequested,
            AccountCreated,
            AccountCreationFailed,
            MatchingServiceError,
            MatchingQuerySent,
            TimedOut,
            TimeoutAudited,
            SessionExtended,
        )
    }
)

# ------------------------------------------------------------------------------------------------ table

_S = State
_E = EventType

_IDP_ANSWERS = {
    _E.IDP_SELECTED: _S.IDP_SELECTED,  # browser back, another company: a new request replaces the old
    _E.IDP_CANCELLED: _S.SESSION_STARTED,  # back to the company list
    _E.IDP_AUTHN_SUCCEEDED: _S.CYCLE_0_AND_1_MATCH_REQUEST_SENT,
    _E.NON_MATCHING_SUCCESS: _S.NON_MATCHING_JOURNEY_SUCCESS,
    _E.IDP_AUTHN_FAILED: _S.AUTHN_FAILED_ERROR,
    _E.IDP_PENDING: _S.PAUSED_REGISTRATION,
    _E.FRAUD_DETECTED: _S.FRAUD_EVENT_DETECTED,
    _E.IDP_REQUESTER_ERROR: _S.REQUESTER_ERROR,
}

_MATCH_ANSWERS = {
    _E.MATCHED: _S.SUCCESSFUL_MATCH,
    _E.NO_MATCH: _S.NO_MATCH,
    _E.ACCOUNT_CREATION_REQUESTED: _S.USER_ACCOUNT_CREATION_REQUEST_SENT,
    _E.MATCHING_SERVICE_ERROR: _S.MATCHING_SERVICE_REQUEST_ERROR,
}

# States in which the citizen may (again) answer the questions before choosing a company.
_CHOOSING = (
    _S.SESSION_STARTED,
    _S.IDP_SELECTED,
    _S.AUTHN_FAILED_ERROR,
    _S.REQUESTER_ERROR,
    _S.PAUSED_REGISTRATION,
)

_TABLE: dict[tuple[State, EventType], State] = {
    # the start page's answer and the "about you" answers (first-time citizens; they only order the company
    # list), again if the citizen goes back to them
    **{(state, event): state for state in _CHOOSING for event in (_E.JOURNEY_KIND_CHOSEN, _E.ABOUT_YOU_ANSWERED)},
    (_S.SESSION_STARTED, _E.IDP_SELECTED): _S.IDP_SELECTED,
    **{(_S.IDP_SELECTED, event): target for event, target in _IDP_ANSWERS.items()},
    # try another company
    (_S.AUTHN_FAILED_ERROR, _E.IDP_SELECTED): _S.IDP_SELECTED,
    (_S.REQUESTER_ERROR, _E.IDP_SELECTED): _S.IDP_SELECTED,
    (_S.PAUSED_REGISTRATION, _E.IDP_SELECTED): _S.IDP_SELECTED,
    # cycles 0 and 1
    **{(_S.CYCLE_0_AND_1_MATCH_REQUEST_SENT, event): target for event, target in _MATCH_ANSWERS.items()},
    (_S.CYCLE_0_AND_1_MATCH_REQUEST_SENT, _E.CYCLE3_REQUESTED): _S.AWAITING_CYCLE3_DATA,
    # cycle 3
    (_S.AWAITING_CYCLE3_DATA, _E.CYCLE3_SUBMITTED): _S.CYCLE3_MATCH_REQUEST_SENT,
    (_S.AWAITING_CYCLE3_DATA, _E.CYCLE3_CANCELLED): _S.CYCLE_3_DATA_INPUT_CANCELLED,
    **{(_S.CYCLE3_MATCH_REQUEST_SENT, event): target for event, target in _MATCH_ANSWERS.items()},
    # account creation
    (_S.USER_ACCOUNT_CREATION_REQUEST_SENT, _E.ACCOUNT_CREATED): _S.USER_ACCOUNT_CREATED,
    (_S.USER_ACCOUNT_CREATION_REQUEST_SENT, _E.ACCOUNT_CREATION_FAILED): _S.USER_ACCOUNT_CREATION_FAILED,
    (_S.USER_ACCOUNT_CREATION_REQUEST_SENT, _E.MATCHING_SERVICE_ERROR): _S.MATCHING_SERVICE_REQUEST_ERROR,
    # the query of a state that awaits the matching service is sent (again, if an earlier send was lost)
    **{
        (state, _E.MATCHING_QUERY_SENT): state
        for state in (
            _S.CYCLE_0_AND_1_MATCH_REQUEST_SENT,
            _S.CYCLE3_MATCH_REQUEST_SENT,
            _S.USER_ACCOUNT_CREATION_REQUEST_SENT,
        )
    },  # fmt: skip
    # the lifetime is checked on every step
    **{(state, _E.TIMED_OUT): _S.TIMEOUT for state in State if state is not _S.TIMEOUT},
    (_S.TIMEOUT, _E.TIMEOUT_AUDITED): _S.TIMEOUT,
    # more time, while the journey can still go on
    **{(state, _E.SESSION_EXTENDED): state for state in State if state is not _S.TIMEOUT},
}

TRANSITIONS: Mapping[tuple[State, EventType], State] = MappingProxyType(_TABLE)

# States after which only the response to the RP (or a time-out) can follow.
FINAL_STATES: frozenset[State] = frozenset(
    state
    for state in State
    if all(
        event in (_E.TIMED_OUT, _E.TIMEOUT_AUDITED, _E.SESSION_EXTENDED)
        for (source, event) in TRANSITIONS
        if source is state
    )
)

_RP_OUTCOMES: Mapping[State, RpOutcome] = MappingProxyType(
    {
        _S.SUCCESSFUL_MATCH: RpOutcome.SUCCESS,
        _S.NON_MATCHING_JOURNEY_SUCCESS: RpOutcome.SUCCESS,
        _S.USER_ACCOUNT_CREATED: RpOutcome.SUCCESS,
        _S.NO_MATCH: RpOutcome.NO_MATCH,
        _S.USER_ACCOUNT_CREATION_FAILED: RpOutcome.NO_MATCH,
        _S.CYCLE_3_DATA_INPUT_CANCELLED: RpOutcome.NO_AUTHN_CONTEXT,
        _S.TIMEOUT: RpOutcome.NO_AUTHN_CONTEXT,
        _S.AUTHN_FAILED_ERROR: RpOutcome.AUTHN_FAILED,
        _S.FRAUD_EVENT_DETECTED: RpOutcome.AUTHN_FAILED,
        _S.MATCHING_SERVICE_REQUEST_ERROR: RpOutcome.AUTHN_FAILED,
        _S.REQUESTER_ERROR: RpOutcome.REQUESTER,
        # the citizen gives up and returns to the service ("cancel")
        _S.SESSION_STARTED: RpOutcome.NO_AUTHN_CONTEXT,
        _S.IDP_SELECTED: RpOutcome.NO_AUTHN_CONTEXT,
        _S.PAUSED_REGISTRATION: RpOutcome.NO_AUTHN_CONTEXT,
    }
)


def outcome_for_rp(state: State) -> RpOutcome:
    """What the RP is told if the journey ends in `state`.

    Raises ValueError while a matching-service call is in flight or cycle 3 data is awaited (the citizen
    must cancel cycle 3 explicitly, so it is audited).
    """
    try:
        return _RP_OUTCOMES[state]
    except KeyError:
        raise ValueError(f"no response to the RP may be sent in state {state.name}") from None


AWAITING_MATCHING_SERVICE: frozenset[State] = frozenset(
    {_S.CYCLE_0_AND_1_MATCH_REQUEST_SENT, _S.CYCLE3_MATCH_REQUEST_SENT, _S.USER_ACCOUNT_CREATION_REQUEST_SENT}
)


def may_respond_to_rp(state: State) -> bool:
    return state in _RP_OUTCOMES


def after_no_match(state: State, *, cycle3_configured: bool, account_creation_configured: bool) -> EventType:
    """The next step after a no-match, from the RP's configuration: cycle 3, account creation, or none."""
    if state is _S.CYCLE_0_AND_1_MATCH_REQUEST_SENT and cycle3_configured:
        return _E.CYCLE3_REQUESTED
    if state in (_S.CYCLE_0_AND_1_MATCH_REQUEST_SENT, _S.CYCLE3_MATCH_REQUEST_SENT):
        return _E.ACCOUNT_CREATION_REQUESTED if account_creation_configured else _E.NO_MATCH
    raise ValueError(f"no matching request outstanding in state {state.name}")


# ------------------------------------------------------------------------------------------- transition


def _guard(session: Session, event: Event) -> None:
    if isinstance(event, SessionExtended) and session.extensions >= MAX_EXTENSIONS:
        raise InvalidTransition(session.state, event.type, "no-more-extensions")
    if isinstance(event, IdpSelected) and event.idp_entity_id not in session.idp_shortlist:
        raise InvalidTransition(session.state, event.type, "idp-not-offered")
    if isinstance(event, IdpResponseEvent):
        if event.idp_entity_id != session.selected_idp_entity_id:
            raise InvalidTransition(session.state, event.type, "wrong-idp")
        if session.hub_request_id is None or event.in_response_to != session.hub_request_id:
            raise InvalidTransition(session.state, event.type, "in-response-to-mismatch")


_MATCHING_ENDS = (EventType.MATCHED, EventType.NO_MATCH, EventType.ACCOUNT_CREATED,
                  EventType.ACCOUNT_CREATION_FAILED, EventType.MATCHING_SERVICE_ERROR)  # fmt: skip


def _effects(session: Session, event: Event) -> dict[str, Any]:
    """Field changes the event makes besides the state."""
    match event:
        case TimedOut():  # personal data goes when the journey can no longer succeed
            return {
                "hub_request_id": None,
                "matching_request_id": None,
                "matching_identity": None,
                "cycle3_value": None,
                "release": None,
                "service_assertions_held": False,
            }
        case TimeoutAudited():
            return {"timeout_audited": True}
        case SessionExtended():
            return {"expires_at": event.at + event.lifetime, "extensions": session.extensions + 1}
        case JourneyKindChosen():
            return {"journey_kind": event.kind}
        case AboutYouAnswered():
            return {"citizen_has": event.has}
        case IdpSelected():
            return {
                "selected_idp_entity_id": event.idp_entity_id,
                "hub_request_id": event.hub_request_id,
                "idp_level": None,
                "problem": None,
            }
        case IdpCancelled():
            return {"selected_idp_entity_id": None, "hub_request_id": None, "problem": event.problem}
        case IdpAuthnSucceeded():
            return {
                "idp_level": event.level,
                "pid_hash": event.pid_hash,
                "hub_request_id": None,
                "matching_request_id": event.matching_request_id,
                "matching_identity": event.matching_identity,
                "release": event.release,
            }
        case NonMatchingSuccess():
            return {
                "idp_level": event.level,
                "pid_hash": event.pid_hash,
                "hub_request_id": None,
                "service_assertions_held": event.service_assertions_held,
                "release": event.release,
            }
        case IdpAuthnFailed():
            return {"hub_request_id": None, "problem": event.problem}
        case IdpResponseEvent():  # the IDP's other failures: that request has had its answer
            return {"hub_request_id": None}
        case Cycle3Submitted():
            return {"matching_request_id": event.matching_request_id, "cycle3_value": event.value}
        case AccountCreationRequested() | MatchingQuerySent():
            return {"matching_request_id": event.matching_request_id}
        case Cycle3Cancelled():
            return {"matching_identity": None, "cycle3_value": None, "release": None}
    changes: dict[str, Any] = {"matching_request_id": None}
    if event.type in _MATCHING_ENDS:  # matching is over: the matching service's inputs are no longer needed
        changes.update(matching_identity=None, cycle3_value=None)
        if isinstance(event, Matched | AccountCreated):
            changes["service_assertions_held"] = event.service_assertions_held
        elif not isinstance(event, NoMatch):  # an OpenID Connect client is told "no match" with the identity
            changes["release"] = None  # no identity will be released
    return changes


def transition(session: Session, event: Event, now: datetime) -> Session:
    """Apply `event` to `session` at `now`; a new Session, or InvalidTransition (SessionExpired if late)."""
    event_type = event.type
    late = event_type is _E.TIMED_OUT or (session.state is _S.TIMEOUT and event_type is _E.TIMEOUT_AUDITED)
    if not late and session.is_expired(now):  # a time-out, and its audit, come after the expiry by nature
        raise SessionExpired(session.state, event_type)
    target = TRANSITIONS.get((session.state, event_type))
    if target is None:
        raise InvalidTransition(session.state, event_type)
    _guard(session, event)
    return replace(session, state=target, **_effects(session, event))


def check_timeout(session: Session, now: datetime) -> Session:
    """Run on every step before anything else: an expired session moves to TIMEOUT."""
    if session.state is not _S.TIMEOUT and session.is_expired(now):
        return transition(session, TimedOut(), now)
    return session
