"""Why the hub did not sign the citizen in, and what to offer them next: the hub's return codes.

A Response without `Success` carries them in its `StatusMessage`, as `return-code=<code> offer=<offer>`
(docs/saml-profiles.md); an OpenID Connect client receives the same names as `return_code` and
`return_offer`. The status codes alone say too little to word a page (a fraud event, a matching service
that could not be reached and a company that could not prove the citizen are all `AuthnFailed`), so the
service words its page from the code, which says no more than the hub's own page did.

The names are the hub's contract with departments (docs/integration-guide.md lists them); they are kept
here, not imported from the hub, so that a department's service needs only this package.
"""

from __future__ import annotations

import enum
import re
from typing import TypeVar

__all__ = ["Offer", "ReturnCode", "parse_status_message"]


class ReturnCode(enum.Enum):
    """Why the journey did not give the service a signed-in citizen."""

    CANCELLED = "cancelled"  # went back before finishing, cancelled at the company, or would not share
    AUTHENTICATION_FAILED = "authentication_failed"  # the company could not prove who they are
    LEVEL_NOT_REACHED = "level_not_reached"  # proved, but below the level the service needs
    REGISTRATION_PENDING = "registration_pending"  # the company is still checking
    FRAUD_SUSPECTED = "fraud_suspected"  # cannot continue online
    REQUEST_REFUSED = "request_refused"  # the company could not complete the hub's request
    NO_MATCH = "no_match"  # proved, but the service's records hold no match
    ACCOUNT_NOT_CREATED = "account_not_created"  # proved, no match, and no account could be created
    DETAILS_NOT_GIVEN = "details_not_given"  # proved, no match, and the extra detail (cycle 3) not given
    MATCHING_UNAVAILABLE = "matching_unavailable"  # proved, but the service's records could not be searched
    SESSION_EXPIRED = "session_expired"  # the hub's session ended before the journey did


class Offer(enum.Enum):
    """What the service should offer the citizen next."""

    TRY_AGAIN = "try_again"
    TRY_ANOTHER_COMPANY = "try_another_company"
    COME_BACK_LATER = "come_back_later"
    TRY_LATER = "try_later"
    OTHER_WAYS = "other_ways"  # do not send them round again: offer the service's other ways


_E = TypeVar("_E", bound=enum.Enum)
_MESSAGE = re.compile(r"return-code=([a-z_]{1,40}) offer=([a-z_]{1,40})")


def parse_status_message(message: str | None) -> tuple[ReturnCode | None, Offer | None]:
    """The code and offer a StatusMessage carries; (None, None) when it carries none, and None for a name
    this version does not know (a newer hub's): the service then words its page from the status alone."""
    found = _MESSAGE.fullmatch((message or "").strip())
    if found is None:
        return None, None
    code, offer = found.groups()
    return _member(ReturnCode, code), _member(Offer, offer)


def _member(kind: type[_E], value: str) -> _E | None:
    try:
        return kind(value)
    except ValueError:
        return None
