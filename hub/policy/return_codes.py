"""Structured return codes: why a journey did not give the service a signed-in citizen, and what the service
should offer them next. One table, used by every front end: OpenID Connect (the `return_code` and
`return_offer` parameters of the error response, for clients configured with `return_codes`) and SAML
(the Response's StatusMessage). Like GOV.UK One Login's `returnCode`, but named, and documented in
docs/oidc.md and docs/saml-profiles.md.

The code comes from the state the journey ended in and the problem the citizen was shown; it never says
more than the citizen's own page did (no personal data, no fraud indicator).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hub.policy.states import State

PROBLEM_LOA_TOO_LOW = "loa_too_low"  # federation.web.problems.LOA_TOO_LOW (policy imports no web module)


class Offer(enum.Enum):
    """What the service should offer the citizen next."""

    TRY_AGAIN = "try_again"  # start again now: they may choose the same or another company
    TRY_ANOTHER_COMPANY = "try_another_company"  # that company could not prove who they are; another may
    COME_BACK_LATER = "come_back_later"  # the company is still checking: try again when it says so
    TRY_LATER = "try_later"  # something on our side failed; nothing the citizen did
    OTHER_WAYS = "other_ways"  # do not send them round again: offer the service's other ways (post, in person)


@dataclass(frozen=True)
class ReturnCode:
    code: str
    offer: Offer


CANCELLED = ReturnCode("cancelled", Offer.TRY_AGAIN)
LEVEL_NOT_REACHED = ReturnCode("level_not_reached", Offer.TRY_ANOTHER_COMPANY)
AUTHENTICATION_FAILED = ReturnCode("authentication_failed", Offer.TRY_ANOTHER_COMPANY)
REGISTRATION_PENDING = ReturnCode("registration_pending", Offer.COME_BACK_LATER)
FRAUD_SUSPECTED = ReturnCode("fraud_suspected", Offer.OTHER_WAYS)
REQUEST_REFUSED = ReturnCode("request_refused", Offer.TRY_AGAIN)
NO_MATCH = ReturnCode("no_match", Offer.OTHER_WAYS)
ACCOUNT_NOT_CREATED = ReturnCode("account_not_created", Offer.OTHER_WAYS)
DETAILS_NOT_GIVEN = ReturnCode("details_not_given", Offer.TRY_AGAIN)
MATCHING_UNAVAILABLE = ReturnCode("matching_unavailable", Offer.TRY_LATER)
SESSION_EXPIRED = ReturnCode("session_expired", Offer.TRY_AGAIN)

_BY_STATE: dict[State, ReturnCode] = {
    State.SESSION_STARTED: CANCELLED,
    State.IDP_SELECTED: CANCELLED,
    State.AUTHN_FAILED_ERROR: AUTHENTICATION_FAILED,
    State.PAUSED_REGISTRATION: REGISTRATION_PENDING,
    State.FRAUD_EVENT_DETECTED: FRAUD_SUSPECTED,
    State.REQUESTER_ERROR: REQUEST_REFUSED,
    State.NO_MATCH: NO_MATCH,
    State.USER_ACCOUNT_CREATION_FAILED: ACCOUNT_NOT_CREATED,
    State.CYCLE_3_DATA_INPUT_CANCELLED: DETAILS_NOT_GIVEN,
    State.MATCHING_SERVICE_REQUEST_ERROR: MATCHING_UNAVAILABLE,
    State.TIMEOUT: SESSION_EXPIRED,
}

ALL: tuple[ReturnCode, ...] = tuple(dict.fromkeys((*_BY_STATE.values(), LEVEL_NOT_REACHED)))


def return_code(state: State, problem: str | None = None) -> ReturnCode | None:
    """The code for a journey that ended in `state` (None for a success: there is nothing to explain)."""
    if state is State.AUTHN_FAILED_ERROR and problem == PROBLEM_LOA_TOO_LOW:
        return LEVEL_NOT_REACHED
    return _BY_STATE.get(state)
