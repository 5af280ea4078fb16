"""The citizen's hub session in the browser: one cookie holding a random session ID, and CSRF tokens.

The cookie is HttpOnly and SameSite=Lax (Secure when served over TLS). An IDP's POST back to the hub is
cross-site, so the cookie does not come with it: that view finds the session from the Response's
InResponseTo (through the request index kept here, in a namespace of its own) and parks the answer until a
top-level GET that carries the cookie again claims it (`hub.idp_answer`).
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Response, current_app, g, request

from hub.policy.states import Session
from hub.services import HubServices
from hub.store.base import QueuedWrites
from hub.store.held import Held

COOKIE_NAME = "hub_session"
IDP_REQUESTS = "idp-request"  # store namespace: the hub's request ID to an IDP -> the session that sent it
ANSWERED = b""  # ... or this, once the request's answer has been applied


def services() -> HubServices:
    return current_app.extensions["hub"]


def bind(session: Session | None) -> Session | None:
    """`session` is this request's (its CSRF token is derived from its ID); None changes nothing."""
    if session is not None:
        g.hub_session_id = session.session_id
    return session


def current_session() -> Session | None:
    """The session named by the cookie (in TIMEOUT if it has expired), or None."""
    session_id = request.cookies.get(COOKIE_NAME)
    if not session_id:
        return None
    return bind(services().sessions.get(session_id, services().now()))  # None for anything but a live session


def current_session_with(kind: Held) -> tuple[Session | None, tuple[str, ...]]:
    """`current_session`, with the assertions of `kind` held beside it, read in the same round trip."""
    session, held = services().sessions.get_with(request.cookies.get(COOKIE_NAME, ""), kind, services().now())
    return bind(session), held


def set_session_cookie(response: Response, session_id: str) -> Response:
    response.set_cookie(COOKIE_NAME, session_id, httponly=True, samesite="Lax", secure=request.is_secure, path="/")
    return response


def csrf_token() -> str:
    session_id = g.get("hub_session_id")
    if not session_id:
        return ""
    return hmac.new(services().secret, b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()


def csrf_valid() -> bool:
    expected = csrf_token()
    return bool(expected) and hmac.compare_digest(expected, request.form.get("csrf_token", ""))


def remember_idp_request(hub_request_id: str, session_id: str, *, writes: QueuedWrites | None = None) -> None:
    """Index the hub's request to a company by its ID (with `writes`: when that `store.writes()` block ends)."""
    ttl = int(services().config.session_lifetime.total_seconds())
    (writes or services().store).put(IDP_REQUESTS, hub_request_id, session_id.encode(), ttl)


def session_for_idp_request(value: bytes | None) -> str | None:
    """From the request's index entry (`IDP_REQUESTS`, as read): the ID of the session that sent it; "" once it
    has had its answer; None if never sent."""
    return None if value is None else value.decode()


def mark_idp_request_answered(hub_request_id: str, *, writes: QueuedWrites | None = None) -> None:
    """The request has had its answer (and its session a new ID): another answer to it is refused by name."""
    ttl = int(services().config.session_lifetime.total_seconds())
    (writes or services().store).put(IDP_REQUESTS, hub_request_id, ANSWERED, ttl)
