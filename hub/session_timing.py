"""The citizen is told when their session will end and can ask for more time (WCAG 2.2.1, Timing Adjustable).

Every journey page carries a notice with the time the session ends (in UK time) and a "Give me more time"
button: shown from the page load when less than `WARN_BEFORE` is left, and, with JavaScript, brought up
(and announced) when that moment comes while the page is open. Asking for more time is a POST with the
session's CSRF token, so another site cannot keep a journey alive.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import g, request, url_for

from hub.policy import states as s

WARN_BEFORE = timedelta(minutes=15)
UK = ZoneInfo("Europe/London")


def session_timing(now: datetime) -> dict:
    """Template context for the notice (empty when the page belongs to no live journey)."""
    session: s.Session | None = g.get("session")
    if session is None or session.state is s.State.TIMEOUT or request.method != "GET":
        return {}
    left = session.expires_at - now
    return {
        "session_timing": {
            "expires_at": session.expires_at.isoformat(),
            "ends_at": session.expires_at.astimezone(UK).strftime("%H:%M"),
            "warn_now": left <= WARN_BEFORE,
            "warn_seconds": int(WARN_BEFORE.total_seconds()),
            "can_extend": session.extensions < s.MAX_EXTENSIONS,
            "extend_action": url_for("journey.extend"),
            "return_to": request.path,
        }
    }
