"""The example service on another site than the hub (localhost and 127.0.0.1), over real HTTP.

The hub's page POSTs its signed Response to the service's ACS cross-site, so the browser keeps the
service's SameSite=Lax cookie back. The service verifies the Response, parks the outcome and redirects to
a GET that carries the cookie; the outcome is applied only there, and only to the browser session that
started the sign-in. Two cookie jars (two BrowserClients) play two browsers.
"""

from __future__ import annotations

import copy
from urllib.parse import urlsplit

import pytest

from tests.e2e.journey import (
    IDP_THREE,
    IDP_TWO,
    at_idp_headless,
    choose,
    expected_hashed_pid,
    hub_response_page,
    sign_in,
    start_at_service,
)
from tests.support.browser_client import BrowserClient, Exchange, Page

pytestmark = pytest.mark.e2e

SERVICE_COOKIE = "rp_session"
NO_ATTEMPT = "We could not find your sign-in attempt"


def acs_url(federation) -> str:
    return federation.urls["RP_URL"] + "/SAML2/SSO/POST"


def exchanges_at(browser: BrowserClient, method: str, url_prefix: str) -> list[Exchange]:
    return [e for e in browser.exchanges if e.method == method and e.url.startswith(url_prefix)]


def hub_page_posting_to_the_service(browser: BrowserClient, federation, username: str, idp: str = IDP_TWO) -> Page:
    """A sign-in up to the hub's page that auto-posts its Response to the service."""
    page = start_at_service(browser, federation)
    page = choose(browser, page, idp)
    page = hub_response_page(browser, at_idp_headless(browser, page, username))
    assert page.form(auto=True).get("action") == acs_url(federation), (page.url, page.heading)
    return page


def is_signed_in_as(browser: BrowserClient, federation, idp_name: str, username: str) -> bool:
    page = browser.get(federation.urls["RP_URL"] + "/signed-in")
    return page.url.endswith("/signed-in") and expected_hashed_pid(idp_name, username) in page.text


def test_the_service_and_the_hub_are_on_different_sites(federation):
    service, hub = (urlsplit(federation.urls[name]).hostname for name in ("RP_URL", "HUB_URL"))
    assert service == "localhost" and hub == "127.0.0.1"


def test_the_hubs_cross_site_post_arrives_without_the_cookie_and_the_sign_in_still_works(federation, browser):
    page = sign_in(browser, federation, "alice", IDP_TWO)
    assert expected_hashed_pid("stub-idp-two", "alice") in page.text, page.heading
    (acs_post,) = exchanges_at(browser, "POST", acs_url(federation))
    assert browser.http.cookies.get(SERVICE_COOKIE) is not None  # the browser holds the cookie ...
    assert not acs_post.sent_cookie(SERVICE_COOKIE)  # ... and did not send it with the hub's POST
    assert acs_post.status == 303 and acs_post.location.startswith("/SAML2/SSO/POST/continue?key=")
    continue_get = browser.exchanges[browser.exchanges.index(acs_post) + 1]
    assert continue_get.method == "GET" and continue_get.url.startswith(acs_url(federation) + "/continue?key=")
    assert continue_get.sent_cookie(SERVICE_COOKIE)  # the top-level GET carries it again
    assert continue_get.status == 303 and continue_get.location == "/signed-in"


def test_a_response_posted_from_a_browser_that_did_not_start_the_attempt_is_never_applied(federation):
    citizen, other = BrowserClient(), BrowserClient()
    try:
        hub_page = hub_page_posting_to_the_service(citizen, federation, "alice")
        other.get(federation.urls["RP_URL"] + "/")  # a session of its own at the service
        refused = other.auto_submit(hub_page)  # the citizen's Response, posted from the other browser
        assert refused.status == 400 and refused.heading == NO_ATTEMPT, refused.heading
        assert refused.doc.xpath("//a[@id='start-again']"), "the page offers a way on"
        assert not is_signed_in_as(other, federation, "stub-idp-two", "alice")
        # Destroyed, never applied later: not where the other browser was sent, not in the citizen's browser.
        (continue_get,) = exchanges_at(other, "GET", acs_url(federation) + "/continue")
        assert citizen.get(continue_get.url).heading == NO_ATTEMPT
        assert citizen.auto_submit(hub_page).heading == NO_ATTEMPT  # the attempt had its one answer
        assert not is_signed_in_as(citizen, federation, "stub-idp-two", "alice")
    finally:
        citizen.http.close()
        other.http.close()


def test_an_attackers_own_sign_in_pushed_into_a_citizens_browser_does_not_replace_theirs(federation):
    """Login CSRF: the attacker's genuine Response, auto-posted from a page the citizen was lured to."""
    citizen, attacker = BrowserClient(), BrowserClient()
    try:
        sign_in(citizen, federation, "alice", IDP_TWO)
        assert is_signed_in_as(citizen, federation, "stub-idp-two", "alice")
        lure = hub_page_posting_to_the_service(attacker, federation, "tom", IDP_THREE)
        pushed = citizen.auto_submit(lure)
        assert pushed.heading == NO_ATTEMPT, pushed.heading
        assert is_signed_in_as(citizen, federation, "stub-idp-two", "alice")  # still the citizen's own sign-in
        assert not is_signed_in_as(citizen, federation, "stub-idp-three", "tom")
    finally:
        citizen.http.close()
        attacker.http.close()


def test_sign_out_at_the_service_revokes_an_old_copy_of_the_cookie(federation, browser):
    page = sign_in(browser, federation, "alice", IDP_TWO)
    thief = BrowserClient()  # holds a copy of the cookie taken before sign-out
    try:
        (copied,) = [cookie for cookie in browser.http.cookies if cookie.name == SERVICE_COOKIE]
        thief.http.cookies.set_cookie(copy.copy(copied))
        assert is_signed_in_as(thief, federation, "stub-idp-two", "alice")  # the copy works until sign-out
        page = browser.submit(page, page.form(button="Sign out"))
        assert page.url == federation.urls["RP_URL"] + "/", page.url
        assert not is_signed_in_as(thief, federation, "stub-idp-two", "alice")
    finally:
        thief.http.close()
