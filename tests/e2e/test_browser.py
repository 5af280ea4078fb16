"""The happy path in a real browser (Debian's Chromium, headless): service, hub, IDP, hub, service.

What only a real browser proves: the SAML auto-post pages go by themselves under our Content Security
Policy; without JavaScript their Continue buttons do the same job; and Chrome really withholds the hub's
SameSite=Lax cookie from the IDP's cross-site POST (the IDP is on `localhost`, the hub on `127.0.0.1`),
and the service's cookie from the hub's cross-site POST to the service (also on `localhost`), yet the
journey continues. Screenshots of the pages are saved under the test's tmp_path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, Request, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from federation.config import load_federation_config
from federation.demo import DEMO_CONFIG
from tests.e2e.journey import IDP_TWO, expected_hashed_pid
from tests.support.chromium import NAVIGATION_TIMEOUT_MS, chromium

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

USERNAME, PASSWORD = "alice", "bar"  # stub_idps/data/users.yaml: a LEVEL_2 user with one matching record
IDP_NAME = "stub-idp-two"  # serves LEVEL_2, which the example service asks for
HUB_COOKIE = "hub_session"
SERVICE_COOKIE = "rp_session"


@dataclass(frozen=True)
class Endpoints:
    """The URLs of this federation run, from the same config the services load."""

    service_home: str
    service_acs: str
    hub_sso: str
    hub_response: str
    hub_start: str
    hub_companies: str
    idp_sso: str
    idp_login: str
    idp_consent: str
    service_signed_in: str

    @staticmethod
    def origin(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"


@pytest.fixture(scope="module")
def endpoints(federation, keys_dir) -> Endpoints:
    config = load_federation_config(DEMO_CONFIG, keys_dir=keys_dir, variables=federation.urls)
    rp = next(rp for rp in config.relying_parties if rp.name == "test-rp")
    idp = next(idp for idp in config.identity_providers if idp.name == IDP_NAME)
    assert idp.display_name.get("en") == IDP_TWO
    idp_base = idp.sso_url.removesuffix("/SAML2/SSO")
    return Endpoints(
        service_home=federation.urls["RP_URL"] + "/",
        service_acs=rp.assertion_consumer_services[0].url,
        hub_sso=config.hub.sso_url,
        hub_response=config.hub.response_url,
        hub_start=federation.urls["HUB_URL"] + "/start",
        hub_companies=federation.urls["HUB_URL"] + "/choose-a-certified-company",
        idp_sso=idp.sso_url,
        idp_login=idp_base + "/login",
        idp_consent=idp_base + "/consent",
        service_signed_in=federation.urls["RP_URL"] + "/signed-in",
    )


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


@dataclass
class Recorder:
    """What the browser did: every top-level request (redirect hops included) and every page it showed."""

    page: Page
    hub_cookie: dict | None = None  # read on the hub's start page (the hub ends its session at the end)
    requests: list[Request] = field(default_factory=list)
    every_request: list[Request] = field(default_factory=list)  # sub-resources too
    shown: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        main = self.page.main_frame
        self.page.on("request", lambda r: self.requests.append(r) if r.is_navigation_request() else None)
        self.page.on("request", lambda r: self.every_request.append(r))
        self.page.on("framenavigated", lambda frame: self.shown.append(frame.url) if frame == main else None)
        self.page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.console_errors.append(str(exc)))

    def posts_to(self, url: str) -> list[Request]:
        """POSTs to `url`, whatever the language parameter the sender added (`?lang=`)."""
        return [r for r in self.requests if r.method == "POST" and r.url.split("?lang=")[0] == url]

    def first_after(self, request: Request) -> Request:
        return self.requests[self.requests.index(request) + 1]


def heading(page: Page) -> str:
    try:
        return " ".join(page.locator("h1").first.inner_text(timeout=1_000).split())
    except PlaywrightTimeoutError:
        return "(no h1)"


def arrive(page: Page, url: str, what: str) -> None:
    """Wait (15 s at most) until the browser shows `url`, whatever auto-posts and redirects lie between."""
    try:
        page.wait_for_url(url, timeout=NAVIGATION_TIMEOUT_MS)
    except PlaywrightTimeoutError:
        pytest.fail(f"expected {what} at {url}; the browser is at {page.url} showing {heading(page)!r}")


def through_saml_post(page: Page, *, to: str, javascript: bool) -> None:
    """A SAML HTTP-POST binding page: with JavaScript it posts itself; without, the citizen selects Continue."""
    if javascript:
        return  # nothing to click: the caller's arrive() waits for the auto-submitted navigation
    form = page.locator("form[data-federation-auto-submit]")
    # the sender adds the citizen's language for the next site's pages (`?lang=`)
    expect(form).to_have_attribute(
        "action", re.compile(re.escape(to) + r"(\?lang=(en|cy))?$"), timeout=NAVIGATION_TIMEOUT_MS
    )
    continue_button = form.get_by_role("button", name="Continue")
    expect(continue_button).to_be_visible()
    continue_button.click()


def govuk_styled(page: Page) -> bool:
    """GOV.UK Frontend's stylesheet is applied (its font stack on the heading), so the page looks like GOV.UK."""
    return "GDS Transport" in page.locator("h1").first.evaluate("h => getComputedStyle(h).fontFamily")


def sign_in_as_alice(context: BrowserContext, at: Endpoints, shots: Path, *, javascript: bool) -> Recorder:
    """The citizen's whole journey, as they see it; returns what the browser did."""
    context.set_default_timeout(NAVIGATION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    page = context.new_page()
    seen = Recorder(page)

    page.goto(at.service_home)
    page.get_by_role("button", name="Prove your identity").click()
    through_saml_post(page, to=at.hub_sso, javascript=javascript)
    arrive(page, at.hub_start, "the hub's start page")
    seen.hub_cookie = hub_cookie_of(context, at)
    assert govuk_styled(page)

    page.get_by_role("radio", name="Yes").check()
    page.get_by_role("button", name="Continue").click()
    arrive(page, at.hub_companies, "the company list")
    choose = page.get_by_role("button", name=f"Choose {IDP_TWO}", exact=True)
    expect(choose).to_be_visible()
    page.screenshot(path=shots / "1-company-list.png", full_page=True)

    choose.click()
    through_saml_post(page, to=at.idp_sso, javascript=javascript)
    arrive(page, at.idp_login, "the stub IDP's sign-in page")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.screenshot(path=shots / "2-idp-sign-in.png", full_page=True)
    page.get_by_role("button", name="Sign in", exact=True).click()

    arrive(page, at.idp_consent, "the stub IDP's consent page")
    page.screenshot(path=shots / "3-idp-consent.png", full_page=True)
    page.get_by_role("button", name="Send my details").click()
    through_saml_post(page, to=at.hub_response, javascript=javascript)  # cross-site: localhost -> 127.0.0.1
    # the hub checks the IDP's answer, applies it in this browser and asks the matching service; before
    # anything goes to the service the citizen sees what it will receive and agrees (a POST with the CSRF
    # token), and the hub posts its own Response on
    agree = page.get_by_role("button", name="Agree and continue")
    expect(agree).to_be_visible()
    expect(page.locator("#released-items li")).to_have_count(2)  # a matching service's reference, the level
    page.screenshot(path=shots / "4-release.png", full_page=True)
    agree.click()
    through_saml_post(page, to=at.service_acs, javascript=javascript)
    arrive(page, at.service_signed_in, "the service's signed-in page")
    page.screenshot(path=shots / "5-signed-in.png", full_page=True)
    return seen


def assert_journey(seen: Recorder, at: Endpoints) -> None:
    page, hub_cookie = seen.page, seen.hub_cookie

    # The service shows who the matching service says this is, at the level the IDP asserted.
    assert heading(page) == "You're signed in", heading(page)
    assert page.locator("#identifier").inner_text().strip() == expected_hashed_pid(IDP_NAME, USERNAME)
    assert page.locator("#level").inner_text().strip() in ("LEVEL_2", "Level 2")

    # The hub's cookie: HttpOnly and SameSite=Lax, on the hub's host.
    assert hub_cookie["httpOnly"] is True, hub_cookie
    assert hub_cookie["sameSite"] == "Lax", hub_cookie

    # The pages were on the sites they should be: the IDP and the service on localhost, the hub on 127.0.0.1.
    hosts = {urlsplit(url).hostname for url in seen.shown if url.startswith((at.idp_login, at.idp_consent))}
    assert hosts == {"localhost"}, seen.shown
    assert {urlsplit(url).hostname for url in (at.service_home, at.service_signed_in)} == {"localhost"}
    hub_pages = [url for url in seen.shown if url.startswith((at.hub_start, at.hub_companies))]
    assert hub_pages and {urlsplit(url).hostname for url in hub_pages} == {"127.0.0.1"}, seen.shown
    sites = [Endpoints.origin(r.url) for r in seen.requests]
    hops = [origin for i, origin in enumerate(sites) if i == 0 or sites[i - 1] != origin]
    service, hub, idp = (Endpoints.origin(u) for u in (at.service_home, at.hub_sso, at.idp_sso))
    assert hops == [service, hub, idp, hub, service], hops

    # Every SAML message travelled by the HTTP-POST binding, once.
    for url in (at.hub_sso, at.idp_sso, at.hub_response, at.service_acs):
        assert len(seen.posts_to(url)) == 1, (url, [(r.method, r.url) for r in seen.requests])

    # The IDP's POST back was cross-site and Chrome sent no hub cookie with it; the hub answered with a
    # redirect to its own page, whose top-level GET carried the cookie again.
    (idp_post,) = seen.posts_to(at.hub_response)
    idp_headers = idp_post.all_headers()
    assert idp_headers.get("sec-fetch-site") == "cross-site", idp_headers
    assert "referer" not in idp_headers, idp_headers  # Referrer-Policy same-origin: no URL leaks across sites
    assert f"{HUB_COOKIE}=" not in idp_headers.get("cookie", ""), idp_headers
    response = idp_post.response()
    assert response is not None and response.status == 303, response and response.status
    follow_up = seen.first_after(idp_post)
    assert follow_up.method == "GET" and Endpoints.origin(follow_up.url) == hub, follow_up.url
    assert f"{HUB_COOKIE}={hub_cookie['value']}" in follow_up.all_headers().get("cookie", "")

    # Likewise the hub's POST to the service: cross-site, so Chrome sent no service cookie with it; the
    # service verified it and redirected to its one-time continue URL, whose top-level GET carried the
    # cookie, and only there applied the answer to the session that started the sign-in.
    (hub_post,) = seen.posts_to(at.service_acs)
    hub_post_headers = hub_post.all_headers()
    assert hub_post_headers.get("sec-fetch-site") == "cross-site", hub_post_headers
    assert "referer" not in hub_post_headers, hub_post_headers
    assert f"{SERVICE_COOKIE}=" not in hub_post_headers.get("cookie", ""), hub_post_headers
    answer = hub_post.response()
    assert answer is not None and answer.status == 303, answer and answer.status
    continue_get = seen.first_after(hub_post)
    assert continue_get.method == "GET" and continue_get.url.startswith(at.service_acs + "/continue?key="), continue_get
    assert f"{SERVICE_COOKIE}=" in continue_get.all_headers().get("cookie", "")
    assert seen.first_after(continue_get).url == at.service_signed_in
    # The one-time key went to no one in a Referer (not even to the service itself).
    key = continue_get.url.split("key=", 1)[1]
    assert not [r.url for r in seen.every_request if key in (r.all_headers().get("referer") or "")]

    # Nothing the Content Security Policy refused (the auto-posts, scripts and styles all allowed).
    assert not [m for m in seen.console_errors if "Content Security Policy" in m], seen.console_errors


def hub_cookie_of(context: BrowserContext, at: Endpoints) -> dict:
    cookies = [c for c in context.cookies(at.hub_start) if c["name"] == HUB_COOKIE]
    assert len(cookies) == 1, context.cookies()
    return cookies[0]


def test_happy_path_with_javascript(browser, federation, endpoints, tmp_path):
    context = browser.new_context()
    try:
        seen = sign_in_as_alice(context, endpoints, tmp_path, javascript=True)
        assert_journey(seen, endpoints)
        # GOV.UK Frontend's inline script (allowed by its hash in the CSP) marked the page as supported.
        assert seen.page.evaluate("document.body.classList.contains('govuk-frontend-supported')")
        assert govuk_styled(seen.page)
    finally:
        context.close()


def test_happy_path_without_javascript(browser, federation, endpoints, tmp_path):
    context = browser.new_context(java_script_enabled=False)
    try:
        seen = sign_in_as_alice(context, endpoints, tmp_path, javascript=False)
        assert_journey(seen, endpoints)
        # no script ran, so GOV.UK Frontend's inline script did not mark the page (JavaScript really was off)
        expect(seen.page.locator("body")).not_to_have_class(re.compile(r"\bgovuk-frontend-supported\b"))
    finally:
        context.close()
