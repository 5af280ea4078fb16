"""The problems the citizen error page (``hub/templates/error.html``) knows how to explain.

Views pass one of these keys as ``problem`` and answer with the HTTP status given here, so the page text
and the status cannot drift apart. Journey outcomes that are not our fault (cancelled, no match, fraud...)
are ordinary pages (200); broken requests are 400; our own or a partner's outage is 502/503.
"""

from __future__ import annotations

from types import MappingProxyType

SESSION_TIMEOUT = "session_timeout"
NO_ELIGIBLE_COMPANIES = "no_eligible_companies"
CANCELLED = "cancelled"
AUTHN_FAILED = "authn_failed"
FRAUD = "fraud"
PENDING_REGISTRATION = "pending_registration"
REQUESTER_ERROR = "requester_error"
LOA_TOO_LOW = "loa_too_low"
MATCHING_SERVICE_ERROR = "matching_service_error"
NO_MATCH = "no_match"
SERVICE_UNAVAILABLE = "service_unavailable"
BAD_REQUEST = "bad_request"
COOKIES_MISSING = "cookies_missing"
ANSWER_FROM_ANOTHER_BROWSER = "answer_from_another_browser"
IN_PROGRESS = "in_progress"
PAGE_NOT_FOUND = "page_not_found"
TOO_MANY_REQUESTS = "too_many_requests"
GENERIC = "generic"

PROBLEM_STATUS = MappingProxyType(
    {
        SESSION_TIMEOUT: 400,
        NO_ELIGIBLE_COMPANIES: 200,
        CANCELLED: 200,
        AUTHN_FAILED: 200,
        FRAUD: 200,
        PENDING_REGISTRATION: 200,
        REQUESTER_ERROR: 200,
        LOA_TOO_LOW: 200,
        MATCHING_SERVICE_ERROR: 502,
        NO_MATCH: 200,
        SERVICE_UNAVAILABLE: 503,
        BAD_REQUEST: 400,
        COOKIES_MISSING: 400,
        ANSWER_FROM_ANOTHER_BROWSER: 400,
        IN_PROGRESS: 200,
        PAGE_NOT_FOUND: 404,
        TOO_MANY_REQUESTS: 429,
        GENERIC: 500,
    }
)

PROBLEMS: tuple[str, ...] = tuple(PROBLEM_STATUS)


def problem_status(problem: str) -> int:
    """HTTP status for a problem key; unknown keys are a server error (the generic page)."""
    return PROBLEM_STATUS.get(problem, 500)
