"""Web hardening of the hub's citizen pages: every form carries a CSRF token and a POST without the right
one is refused; the session cookie is HttpOnly, SameSite=Lax, Secure over TLS; every response carries the
security headers (CSP without 'unsafe-inline', frame-ancestors 'none', nosniff, Referrer-Policy)."""

from __future__ import annotations

import pytest
import requests
from flask import Response

from federation.runtime import Runtime
from tests.e2e.journey import IDP_TWO, at_idp_headless, start_at_service
from tests.faults.faults_support import form_fields, log_text, running_federation, shared_hub_env
from tests.support.browser_client import BrowserClient, Page

SAML_FIELDS = {"SAMLRequest", "SAMLResponse"}


@pytest.fixture(scope="module")
def federation(keys_dir, tmp_path_factory):
    with running_federation(tmp_path_factory.mktemp("web-hardening"), keys_dir, **shared_hub_env()) as running:
        yield running


def _record_hub_responses(browser: BrowserClient, hub: str) -> list[requests.Response]:
    seen: list[requests.Response] = []

    def hook(response, *args, **kwargs):
        if response.url.startswith(hub):
            seen.append(response)

    browser.http.hooks["response"].append(hook)
    return seen


def _citizen_forms(page: Page) -> list:
    """The page's POST forms except SAML auto-post forms (those are cross-site by design, and signed)."""
    return [
        form
        for form in page.forms()
        if (form.get("method") or "get").lower() == "post" and not SAML_FIELDS & set(form_fields(form))
    ]


def _assert_forms_carry_tokens(page: Page) -> str:
    forms = _citizen_forms(page)
    assert forms, f"no citizen form on {page.url}"
    tokens = {form_fields(form).get("csrf_token") for form in forms}
    assert len(tokens) == 1 and len(next(iter(tokens)) or "") == 64, (page.url, tokens)
    return tokens.pop()


def _refused(browser: BrowserClient, url: str, data: dict) -> None:
    page = browser.post(url, data)
    assert page.status == 400, (url, page.status, page.heading)


@pytest.mark.e2e
def test_every_citizen_form_is_protected_by_the_csrf_token(federation, browser):
    hub = federation.url("hub")
    other_browser = BrowserClient()
    try:
        other_page = start_at_service(other_browser, federation)
        other_token = _assert_forms_carry_tokens(other_page)
    finally:
        other_browser.http.close()

    page = start_at_service(browser, federation)
    token = _assert_forms_carry_tokens(page)
    assert token != other_token
    log_before = len(log_text(federation, "hub"))
    tampered = token[:-1] + ("1" if token[-1] == "0" else "0")
    for bad in ({}, {"csrf_token": ""}, {"csrf_token": other_token}, {"csrf_token": tampered}):
        _refused(browser, hub + "/start", {**bad, "verified_before": "yes"})
    page = browser.submit(page, page.form(), {"verified_before": "yes"})  # the right token still works
    assert page.url.endswith("/choose-a-certified-company"), (page.url, page.heading)

    assert _assert_forms_carry_tokens(page) == token
    _refused(browser, hub + "/choose-a-certified-company", {"entity_id": "https://stub-idp-two.federation.test"})
    _refused(browser, hub + "/choose-a-certified-company", {"entity_id": "x", "csrf_token": other_token})
    page = browser.submit(page, page.form(button=f"Choose {IDP_TWO}"))
    page = at_idp_headless(browser, page, "nora")  # no match in cycles 0 and 1: the cycle 3 question
    assert page.url.endswith("/cycle3"), (page.url, page.heading)

    # The IDP's answer renewed the session ID, and with it the token: the pre-sign-in one stops working.
    renewed = _assert_forms_carry_tokens(page)
    assert renewed != token
    assert len(_citizen_forms(page)) == 3  # the answer, "cancel" and "give me more time"
    _refused(browser, hub + "/cycle3", {"cycle3_value": "ZX 99 99 99 D"})
    _refused(browser, hub + "/cycle3", {"cycle3_value": "ZX 99 99 99 D", "csrf_token": token})
    _refused(browser, hub + "/cycle3/cancel", {})
    _refused(browser, hub + "/cycle3/cancel", {"csrf_token": other_token})
    page = browser.get(hub + "/cycle3")
    assert page.url.endswith("/cycle3"), "a refused form must not move the journey on"
    page = browser.submit(page, page.form(button="Continue"), {"cycle3_value": "ZX 99 99 99 D"})
    assert page.status == 200 and "could not find your records" in page.heading, page.heading

    refusals = log_text(federation, "hub")[log_before:].count("form refused: csrf-token-invalid")
    assert refusals == 10, refusals  # 4 on /start, 2 on the company list, 4 on cycle 3


@pytest.mark.e2e
def test_security_headers_and_cookie_flags_on_every_hub_response(federation, browser):
    hub = federation.url("hub")
    seen = _record_hub_responses(browser, hub)
    page = start_at_service(browser, federation)
    page = browser.submit(page, page.form(), {"verified_before": "no"})
    page = browser.get(page.link("Continue"))
    page = browser.submit(page, page.form(), {"documents": "uk_passport", "phones": "mobile"})  # about you
    page = browser.submit(page, page.form(button=f"Choose {IDP_TWO}"))
    at_idp_headless(browser, page, "alice", outcome="authn-failed")
    for path in ("/", "/healthcheck", "/no-such-page", "/SAML2/SSO", "/SAML2/metadata/federation"):
        browser.http.get(hub + path, timeout=10)
    browser.http.post(hub + "/", timeout=10)  # 405
    browser.http.post(hub + "/start", data={"verified_before": "yes"}, timeout=10)  # csrf: 400
    browser.http.get(hub + "/static/federation/federation-web.js", timeout=10)
    statuses = {r.status_code for r in seen}
    assert {200, 303, 400, 404, 405} <= statuses, statuses
    for response in seen:
        where = f"{response.request.method} {response.url} -> {response.status_code}"
        csp = response.headers.get("Content-Security-Policy", "")
        directives = {part.strip().split(" ")[0]: part.strip() for part in csp.split(";") if part.strip()}
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, where
        assert directives.get("frame-ancestors") == "frame-ancestors 'none'", where
        assert directives.get("default-src") == "default-src 'self'", where
        assert directives.get("object-src") == "object-src 'none'", where
        assert directives.get("form-action", "").startswith("form-action 'self'"), where
        assert response.headers.get("X-Content-Type-Options") == "nosniff", where
        assert response.headers.get("X-Frame-Options") == "DENY", where
        assert response.headers.get("Referrer-Policy") in ("same-origin", "no-referrer", "strict-origin"), where
        if response.headers.get("Content-Type", "").startswith("text/html"):
            assert response.headers.get("Cache-Control") == "no-store", where

    cookies = [r.headers["Set-Cookie"] for r in seen if "hub_session=" in r.headers.get("Set-Cookie", "")]
    assert cookies, "the hub never set its session cookie"
    for header in cookies:
        attributes = {part.strip().split("=")[0].lower(): part.strip() for part in header.split(";")[1:]}
        assert "httponly" in attributes and attributes.get("samesite") == "SameSite=Lax", header
        assert attributes.get("path") == "Path=/", header
        assert "secure" not in attributes, f"plain-HTTP test server, so no Secure: {header}"


def test_session_cookie_is_secure_over_tls(federation_config, keys_dir, tmp_path):
    from hub.app import create_app
    from hub.web_session import set_session_cookie

    runtime = Runtime(federation_config, keys_dir, tmp_path, environ={"AUDIT_LOG": str(tmp_path / "audit.jsonl")})
    app = create_app(runtime)
    for base_url, secure in (("https://hub.example", True), ("http://hub.example", False)):
        with app.test_request_context("/SAML2/SSO", base_url=base_url):
            header = set_session_cookie(Response(), "a-session-id").headers["Set-Cookie"]
        assert ("; Secure" in header) is secure, header
        assert "; HttpOnly" in header and "SameSite=Lax" in header, header
