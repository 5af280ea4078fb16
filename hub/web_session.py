"""The citizen's hub session in the browser: one cookie holding a random session ID, and CSRF tokens.

The cookie is HttpOnly and SameSite=Lax (Secure when served over TLS). An IDP's POST back to the hub is
cross-site, so the cookie does not come with it: that view finds the session from the Response's
InResponseTo instead and answers 303 to a page of ours, a top-level GET that carries the cookie again.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Response, current_app, g, request

from hub.policy.states import Session
from hub.services import HubServices

COOKIE_NAME = "hub_session"
IDP_REQUEST_PREFIX = "idp-request:"


def services() -> HubServices:
    return current_app.extensions["hub"]


def current_session() -> Session | None:
    """The session named by the cookie (in TIMEOUT if it has expired), or None."""
    session_id = request.cookies.get(COOKIE_NAME)
    if not session_id or len(session_id) > 100:
        return None
    session = services().sessions.get(session_id, services().now())
    if session is not None:
        g.hub_session_id = session.session_id
    return session


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


def remember_idp_request(hub_request_id: str, session_id: str) -> None:
    ttl = int(services().config.session_lifetime.total_seconds())
    services().store.save(IDP_REQUEST_PREFIX + hub_request_id, session_id.encode(), ttl)


def session_for_idp_request(hub_request_id: str) -> str | None:
    value = services().store.load(IDP_REQUEST_PREFIX + hub_request_id)
    return value.decode() if value else None
