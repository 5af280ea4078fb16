"""The citizen's session with the service: the cookie holds a random ID and nothing else.

Flask's own session is a signed, not encrypted, cookie: anyone who sees it can read it, and a copy kept
before sign-out stays signed in. So the cookie here carries only a session ID (32 random bytes, base64url:
256 bits) and the data lives in the service's `Store` under that ID, with a time to live:

- cookie `rp_session`, or `__Host-rp_session` when the service is on https (then Secure, Path=/ and no
  Domain: no other host can set or shadow it); HttpOnly; SameSite=Lax; no Max-Age (gone with the browser);
- an ID the browser sends that is not of our form is replaced, and the ID is renewed when the hub's answer
  is applied (`renew`), so an ID planted in or seen from the browser before sign-in is worthless after it;
- sign-out (`end`) deletes the data in the store and issues a new ID: an old copy of the cookie then
  names nothing;
- form tokens (CSRF) are an HMAC of the session ID under the service's secret (`RP_SECRET_KEY`), so a
  visitor who never signs in costs the store nothing.

Views read the session with `current()` and save it explicitly with `BrowserSessions.save`; the cookie
itself is set after the view, only when the ID changed (`install`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, current_app, g, request

from relying_party_example.store import Store

__all__ = ["BrowserSession", "BrowserSessions", "current", "install"]

NAMESPACE = "session"
COOKIE_NAME = "rp_session"  # not "session": the hub and the stub IDPs (stub_idp_session) may share the host
SECURE_COOKIE_NAME = "__Host-" + COOKIE_NAME
_ID_BYTES = 32
_ID_FORM = re.compile(r"^[A-Za-z0-9_-]{43}$")
_EXTENSION = "relying_party_example.sessions"


def new_session_id() -> str:
    return secrets.token_urlsafe(_ID_BYTES)


def session_ref(session_id: str) -> str:
    """What a sign-in attempt records of the session that started it: a digest, never the ID itself, so
    a copy of the store does not hand out live session IDs."""
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


@dataclass
class BrowserSession:
    """One browser's session: `id` from its cookie (or new), `data` from the store (empty if none)."""

    id: str
    data: dict[str, Any] = field(default_factory=dict)
    cookie_id: str | None = None  # the ID the browser sent, if of our form

    @property
    def ref(self) -> str:
        return session_ref(self.id)

    def started_by_this_browser(self, ref: str) -> bool:
        """Whether `ref` (a sign-in attempt's record of its session) names this session (constant time)."""
        return self.cookie_id is not None and hmac.compare_digest(session_ref(self.cookie_id), ref)


class BrowserSessions:
    """Sessions of one service: load by cookie, save, renew the ID, end; form tokens."""

    def __init__(self, store: Store, ttl_seconds: int, *, secret: bytes, secure: bool) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds
        self.cookie_name = SECURE_COOKIE_NAME if secure else COOKIE_NAME
        self.secure = secure
        self._secret = secret

    def load(self, cookie_value: str | None) -> BrowserSession:
        if cookie_value is None or not _ID_FORM.match(cookie_value):
            return BrowserSession(new_session_id())
        data = self.store.get(NAMESPACE, cookie_value)
        return BrowserSession(cookie_value, data or {}, cookie_id=cookie_value)

    def save(self, session: BrowserSession) -> None:
        """Write the data under the ID (a session with no data is not kept)."""
        if session.data:
            self.store.put(NAMESPACE, session.id, session.data, self.ttl_seconds)
        else:
            self.store.delete(NAMESPACE, session.id)

    def renew(self, session: BrowserSession) -> None:
        """A new ID for the same data (call `save` next): at sign-in, so an ID known before is worth nothing."""
        self.store.delete(NAMESPACE, session.id)
        session.id = new_session_id()

    def end(self, session: BrowserSession) -> None:
        """Sign-out: the data is deleted in the store and the browser gets a new, empty session."""
        self.store.delete(NAMESPACE, session.id)
        session.id = new_session_id()
        session.data = {}

    def csrf_token(self, session: BrowserSession) -> str:
        return hmac.new(self._secret, b"csrf:" + session.id.encode("ascii"), hashlib.sha256).hexdigest()

    def csrf_valid(self, session: BrowserSession, sent: str) -> bool:
        """The form's token matches a session the browser already had (not one issued in this response)."""
        if session.cookie_id is None or session.id != session.cookie_id:
            return False
        return hmac.compare_digest(self.csrf_token(session).encode("ascii"), sent.encode("utf-8", "replace"))

    def set_cookie(self, response: Response, session: BrowserSession) -> None:
        if session.id != session.cookie_id:
            response.set_cookie(
                self.cookie_name, session.id, httponly=True, samesite="Lax", secure=self.secure, path="/"
            )


def install(app: Flask, sessions: BrowserSessions) -> None:
    """Make `current()` work in `app` and send the cookie whenever a view gave the browser a new ID."""
    app.extensions[_EXTENSION] = sessions

    @app.after_request
    def send_session_cookie(response: Response) -> Response:
        session = g.get("rp_browser_session")
        if session is not None:
            sessions.set_cookie(response, session)
        return response


def sessions_of_app() -> BrowserSessions:
    return current_app.extensions[_EXTENSION]


def current() -> BrowserSession:
    """This request's session, loaded from the store once (in the view, so a store failure gets a page)."""
    session = g.get("rp_browser_session")
    if session is None:
        sessions = sessions_of_app()
        session = g.rp_browser_session = sessions.load(request.cookies.get(sessions.cookie_name))
    return session
