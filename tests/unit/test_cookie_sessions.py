"""Flask's cookie session with its serializer kept between requests: the same cookies, signed and checked
the same way, and a new serializer when the keys change."""

from __future__ import annotations

from flask import Flask, session
from flask.sessions import SecureCookieSessionInterface

from federation.cookie_sessions import SteadyCookieSessions, steady_sessions


def make_app(secret: bytes = b"k" * 32, *, steady: bool = True) -> Flask:
    app = Flask(__name__)
    app.secret_key = secret

    @app.get("/set/<value>")
    def set_value(value: str) -> str:
        session["value"] = value
        return "set"

    @app.get("/get")
    def get_value() -> str:
        return session.get("value", "(none)")

    if steady:
        steady_sessions(app)
    return app


def cookie_after_set(app: Flask, value: str) -> str:
    client = app.test_client()
    client.get(f"/set/{value}")
    return client.get_cookie("session").value


def read_with(app: Flask, cookie: str) -> str:
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client.get("/get").get_data(as_text=True)


def test_the_steady_interface_is_given_to_an_app_with_flasks_default():
    assert isinstance(make_app().session_interface, SteadyCookieSessions)
    app = Flask(__name__)

    class Custom(SecureCookieSessionInterface):
        pass

    app.session_interface = Custom()
    steady_sessions(app)
    assert type(app.session_interface) is Custom


def test_cookies_are_the_same_both_ways():
    steady, plain = make_app(), make_app(steady=False)
    assert read_with(plain, cookie_after_set(steady, "from-steady")) == "from-steady"
    assert read_with(steady, cookie_after_set(plain, "from-plain")) == "from-plain"


def test_a_tampered_or_foreign_cookie_is_refused():
    cookie = cookie_after_set(make_app(), "mine")
    assert read_with(make_app(), cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")) == "(none)"
    assert read_with(make_app(b"another key" * 3), cookie) == "(none)"


def test_the_serializer_is_built_once_per_set_of_keys(monkeypatch):
    app = make_app()
    built = []
    original = SecureCookieSessionInterface.get_signing_serializer
    monkeypatch.setattr(
        SecureCookieSessionInterface,
        "get_signing_serializer",
        lambda self, app: built.append(1) or original(self, app),
    )
    client = app.test_client()
    client.get("/set/a")
    for _ in range(5):
        assert client.get("/get").get_data(as_text=True) == "a"
    assert len(built) == 1
    cookie = client.get_cookie("session").value
    app.secret_key = b"n" * 32  # a new key: a new serializer, and the old cookie no longer verifies
    assert read_with(app, cookie) == "(none)"
    app.config["SECRET_KEY_FALLBACKS"] = [b"k" * 32]  # the old key as a fallback: it verifies again
    assert read_with(app, cookie) == "a"
    assert len(built) == 3


def test_an_app_without_a_secret_key_opens_no_session():
    app = Flask(__name__)
    steady_sessions(app)
    with app.test_request_context("/"):
        from flask import request

        assert app.session_interface.open_session(app, request) is None
