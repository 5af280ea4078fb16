"""The security headers as appended in one step: the same names, values and order as `Headers.set` gave,
a header a view set replaced in place, and the CSP built once per distinct list of form-action origins."""

from __future__ import annotations

import pytest
from flask import Flask, Response
from werkzeug.datastructures import Headers

from federation.web import register_web
from federation.web import security_headers as sh

CSP = "default-src 'self'"


def reference(headers: list[tuple[str, str]], csp: str, *, secure: bool) -> list[tuple[str, str]]:
    """What the headers were with one `Headers.set` per header (the way they were always added)."""
    result = Headers(headers)
    result.set("Content-Security-Policy", csp)
    result.set("X-Content-Type-Options", "nosniff")
    result.set("X-Frame-Options", "DENY")
    result.set("Referrer-Policy", "same-origin")
    result.set("Cross-Origin-Opener-Policy", "same-origin")
    if secure:
        result.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if (result.get("content-type") or "").partition(";")[0].strip() == "text/html":
        result.set("Cache-Control", "no-store")
        result.set("Pragma", "no-cache")
    return list(result)


@pytest.mark.parametrize("secure", [False, True])
@pytest.mark.parametrize(
    "given",
    [
        [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "3")],
        [("Content-Type", "application/json"), ("Content-Length", "2"), ("X-Request-ID", "abc")],
        [("Content-Type", "text/css"), ("Cache-Control", "public, max-age=3600")],
        [("Content-Type", "text/html"), ("cache-control", "max-age=60"), ("Set-Cookie", "a=b")],
        [("Content-Type", "text/html"), ("X-Frame-Options", "SAMEORIGIN"), ("x-frame-options", "ALLOW")],
        [("Content-Type", "TEXT/HTML")],
        [("Content-Length", "0")],
        [],
    ],
)
def test_the_same_headers_in_the_same_order_as_one_set_each(given, secure):
    response = Response(headers=Headers(given))
    response.headers.clear()
    response.headers.extend(given)
    sh.apply_security_headers(response, CSP, secure=secure)
    assert list(response.headers) == reference(given, CSP, secure=secure)


def test_a_csp_with_a_newline_is_refused_as_headers_set_refuses_it():
    with pytest.raises(ValueError):
        sh.apply_security_headers(Response("x", mimetype="text/html"), "default-src 'self'\r\nX-Evil: 1", secure=False)


def test_secure_is_read_from_the_request_when_not_given():
    app = Flask(__name__)
    with app.test_request_context("/", base_url="https://hub.example.test"):
        response = sh.apply_security_headers(Response("x"), CSP)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    with app.test_request_context("/"):
        assert "Strict-Transport-Security" not in sh.apply_security_headers(Response("x"), CSP).headers


def test_the_csp_is_built_once_per_distinct_list_of_origins(monkeypatch):
    built = []
    original = sh.content_security_policy
    monkeypatch.setattr(
        sh, "content_security_policy", lambda origins, hashes: built.append(origins) or original(origins, hashes)
    )
    origins = ["https://idp-a.example.test/SSO"]
    app = Flask(__name__)
    register_web(app, service_name="Test", form_action_origins=lambda: origins)
    app.add_url_rule("/", "index", lambda: "ok")
    client = app.test_client()
    first = [client.get("/").headers["Content-Security-Policy"] for _ in range(5)]
    assert len(built) == 1 and len(set(first)) == 1
    origins.append("https://idp-b.example.test/SSO")  # metadata refreshed: a new list, a new policy
    second = client.get("/").headers["Content-Security-Policy"]
    assert len(built) == 2
    assert second.endswith("form-action 'self' https://idp-a.example.test https://idp-b.example.test")
    origins.pop()  # back to the first list: the policy it had
    assert client.get("/").headers["Content-Security-Policy"] == first[0]
    assert len(built) == 2


def test_a_header_a_view_set_is_replaced_where_it_stood():
    app = Flask(__name__)
    register_web(app, service_name="Test")

    @app.get("/")
    def index():
        return Response("<p>x</p>", mimetype="text/html", headers={"Cache-Control": "max-age=60", "X-Mine": "1"})

    headers = list(app.test_client().get("/").headers)
    names = [name for name, _ in headers]
    assert names.count("Cache-Control") == 1
    assert names.index("Cache-Control") < names.index("X-Mine") < names.index("Content-Security-Policy")
    assert dict(headers)["Cache-Control"] == "no-store" and dict(headers)["Pragma"] == "no-cache"
