"""Security headers, the CSP, and the SAML HTTP-POST form's escaping."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from flask import Flask, render_template

from federation.web import register_web, saml_post_fields
from federation.web.security_headers import content_security_policy, normalise_origin

HOSTILE_RELAY_STATE = '"><script>alert(1)</script>'


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize(
    "path", ["/page/start.html", "/page/redirect_to_idp.html", "/static/federation/federation-web.js"]
)
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    assert response.status_code == 200
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    csp = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    directives = csp_directives(csp)
    assert directives["default-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["font-src"] == ["'self'"]
    assert directives["form-action"] == ["'self'", "https://idp.example.test:8443", "https://rp.example.test"]
    assert all(source == "'self'" or source.startswith("'sha256-") for source in directives["script-src"])


def test_html_is_never_cached_but_static_assets_are(client):
    assert client.get("/page/start.html").headers["Cache-Control"] == "no-store"
    static = client.get("/static/federation/federation-web.js")
    assert "no-store" not in static.headers.get("Cache-Control", "")
    assert static.mimetype in ("text/javascript", "application/javascript")


def test_every_inline_script_on_a_page_is_allowed_by_its_hash(client):
    response = client.get("/page/start.html")
    html = response.get_data(as_text=True)
    inline = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    assert inline, "GOV.UK Frontend's js-enabled script is expected on every page"
    script_src = csp_directives(response.headers["Content-Security-Policy"])["script-src"]
    for body in inline:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src
    # our own script is external, a module, from our origin
    assert '<script type="module" src="/static/federation/federation-web.js"></script>' in html


def test_form_action_origins_can_follow_refreshed_config():
    origins = ["https://idp-a.example.test/SSO"]
    app = Flask(__name__)
    register_web(app, service_name="Test", form_action_origins=lambda: origins)
    app.add_url_rule("/", "index", lambda: "ok")
    client = app.test_client()
    assert "https://idp-a.example.test" in client.get("/").headers["Content-Security-Policy"]
    origins.append("https://idp-b.example.test/SSO")
    assert "https://idp-b.example.test" in client.get("/").headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "bad",
    [
        "https://evil.example; script-src *",
        "javascript:alert(1)",
        "https://user@evil.example/",
        "//no-scheme.example",
        "https://a.example,https://b.example",
    ],
)
def test_form_action_origins_cannot_inject_directives(bad):
    with pytest.raises(ValueError):
        normalise_origin(bad)
    with pytest.raises(ValueError):
        register_web(Flask(__name__), service_name="Test", form_action_origins=[bad])


def test_origins_are_reduced_to_scheme_host_port():
    assert normalise_origin("HTTPS://IdP.Example.test:8443/a/b?c=d") == "https://idp.example.test:8443"
    csp = content_security_policy(["http://127.0.0.1:8081/x", "http://127.0.0.1:8081/y"], [])
    assert csp.endswith("form-action 'self' http://127.0.0.1:8081")


def test_saml_post_page_escapes_relay_state_and_shows_a_continue_button(client, parse_html):
    response = client.get("/page/response_to_rp.html", query_string={"relay_state": HOSTILE_RELAY_STATE})
    html = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    page = parse_html(html)
    form = page.find("form", **{"data-federation-auto-submit": None})[0]
    assert form.attrs["method"] == "post" and form.attrs["action"] == "https://rp.example.test/SAML2/ACS"
    hidden = {field.attrs["name"]: field.attrs["value"] for field in page.find("input", type="hidden")}
    assert hidden == {"SAMLResponse": "PHNhbWxwOlJlc3BvbnNlLz4=", "RelayState": HOSTILE_RELAY_STATE}
    button = page.find("button", type="submit")[0]
    assert button.text.strip() == "Continue"
    assert "hidden" not in button.attrs
    assert "<noscript>" not in html  # the button is in the normal markup, visible with or without JS


def test_saml_post_page_escapes_a_hostile_action_and_request(client, parse_html):
    html = client.get(
        "/page/redirect_to_idp.html",
        query_string={"action": 'https://idp.example.test/"onmouseover="x', "saml_request": "<x>"},
    ).get_data(as_text=True)
    assert 'action="https://idp.example.test/&#34;onmouseover=&#34;x"' in html
    page = parse_html(html)
    assert page.find("input", name="SAMLRequest")[0].attrs["value"] == "<x>"
    assert page.find("input", name="RelayState")[0].attrs["value"] == "hub-relay-1"


def test_saml_post_fields_carry_exactly_one_message():
    assert saml_post_fields(saml_request=b"abc") == (("SAMLRequest", "abc"),)
    assert saml_post_fields(saml_response="r", relay_state="s") == (("SAMLResponse", "r"), ("RelayState", "s"))
    assert saml_post_fields(saml_response="r", relay_state="") == (("SAMLResponse", "r"),)
    with pytest.raises(ValueError):
        saml_post_fields()
    with pytest.raises(ValueError):
        saml_post_fields(saml_request="a", saml_response="b")


def test_saml_post_template_refuses_to_render_without_a_message(app):
    with app.test_request_context("/"):
        app.preprocess_request()
        with pytest.raises(ValueError):
            render_template("federation/saml_post.html", action="https://hub.example.test/SSO")


def test_static_files_cannot_escape_their_folder(client):
    assert client.get("/static/federation/../__init__.py").status_code == 404
    assert client.get("/static/federation/%2e%2e/__init__.py").status_code == 404
    assert client.get("/static/govuk/../../../pyproject.toml").status_code == 404


def test_register_web_rejects_an_unknown_phase():
    with pytest.raises(ValueError):
        register_web(Flask(__name__), service_name="Test", phase="gamma")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/start", "/start"),
        ("//attacker.example/", "/attacker.example/"),
        ("/\\attacker.example/", "/attacker.example/"),
        ("/\\/attacker.example", "/attacker.example"),
        ("\\\\attacker.example", "/attacker.example"),
        ("/a\\b", "/a%5Cb"),
        ("/caf\u00e9", "/caf%C3%A9"),
        ('/"><script>', "/%22%3E%3Cscript%3E"),
    ],
)
def test_local_path_never_leaves_the_site(path, expected):
    from federation.web import local_path

    assert local_path(path) == expected
