"""Flask's signed-cookie session without its per-request set-up cost.

Flask's `SecureCookieSessionInterface` builds a new itsdangerous serializer on every request, whether or
not the request carries a session cookie, and itsdangerous checks each new one by serializing an empty
dict: about a sixth of a stub IDP's health check. The serializer depends only on the app's secret key and
its fallbacks, so `SteadyCookieSessions` builds it once per set of keys (a new key, e.g. set by a test, gets
a new one). Signing, verification, the cookie and its lifetime are Flask's own, unchanged. An app without a
secret key (the hub, the example service, the matching service) opens no session either way.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class SteadyCookieSessions(SecureCookieSessionInterface):
    """`SecureCookieSessionInterface` with its serializer kept while the keys stay the same."""

    def __init__(self) -> None:
        self._built: tuple[tuple[object, ...], URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        built = self._built
        if built is None or built[0] != keys:
            built = (keys, super().get_signing_serializer(app))
            self._built = built  # one tuple swapped whole: another thread sees the old pair or the new one
        return built[1]


def steady_sessions(app: Flask) -> None:
    """Give `app` the steady interface if it has Flask's default one (a custom interface is left alone)."""
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = SteadyCookieSessions()
