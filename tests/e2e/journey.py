"""Steps of a citizen's journey through the four real services, as a browser takes them."""

from __future__ import annotations

import hashlib

from federation.saml.standard import pairwise_id
from tests.support.browser_client import BrowserClient, Page

IDP_TWO = "Stub IDP Two"
IDP_THREE = "Stub IDP Three"
IDP_ENTITY = {
    "stub-idp-one": "https://stub-idp-one.federation.test",
    "stub-idp-two": "https://stub-idp-two.federation.test",
    "stub-idp-three": "https://stub-idp-three.federation.test",
}
MS_ENTITY = "https://test-rp-ms.federation.test"
SERVICE_ENTITY = {
    "test-rp-non-matching": "https://test-rp-nonmatching.federation.test",
    "test-rp-standard": "https://test-rp-standard.federation.test",
}


def idp_pid(idp_name: str, username: str) -> str:
    """The stub IDP's own PID for a user (stub_idps/data/users.yaml): what no service may ever see."""
    return hashlib.sha256(f"{idp_name}:{username}".encode()).hexdigest()


def expected_hashed_pid(idp_name: str, username: str) -> str:
    """The identifier a matching journey shows: the matching service's hashed PID."""
    return hashlib.sha256((IDP_ENTITY[idp_name] + MS_ENTITY + idp_pid(idp_name, username)).encode()).hexdigest()


def expected_pairwise_id(idp_name: str, username: str, service: str) -> str:
    """The identifier a service without a matching service shows, in either profile: its own."""
    return pairwise_id(IDP_ENTITY[idp_name], SERVICE_ENTITY[service], idp_pid(idp_name, username))


def start_at_service(browser: BrowserClient, federation, path: str = "/") -> Page:
    """From the service's page to the hub's first journey page."""
    page = browser.get(federation.urls["RP_URL"] + path)
    page = browser.submit(page, page.form(button="Prove your identity"))
    page = browser.auto_submit(page)  # the RP's AuthnRequest, posted to the hub
    assert page.url.endswith("/start"), (page.url, page.heading)
    return page


def choose(browser: BrowserClient, page: Page, idp_display_name: str, *, verified_before: str = "yes") -> Page:
    """Answer the start page if it is showing, then choose a company: returns the page that posts to it."""
    if page.url.endswith("/start"):
        page = browser.submit(page, page.form(), {"verified_before": verified_before})
    if page.url.endswith("/what-you-need"):
        page = browser.get(page.link("Continue"))
    if page.url.endswith("/about-you"):  # a first-time citizen's questions: every answer is optional
        page = browser.submit(page, page.form())
    assert "choose-a-certified-company" in page.url, (page.url, page.heading)
    return browser.submit(page, page.form(button=f"Choose {idp_display_name}"))


def at_idp_headless(browser: BrowserClient, page: Page, username: str, outcome: str = "success") -> Page:
    """The stub IDP's instant answer; then its signed Response is posted (cross-site) to the hub."""
    page = browser.auto_submit(page, action_suffix="/headless", extra={"username": username, "outcome": outcome})
    return browser.auto_submit(page)


def _auto_submits(page: Page) -> bool:
    return any(f.get("data-federation-auto-submit") is not None for f in page.forms())


def agree_to_release(browser: BrowserClient, page: Page) -> Page:
    """On the hub's release page, agree: the page that auto-posts the hub's Response to the service."""
    return browser.submit(page, page.form(button="Agree and continue"), {"release": "agree"})


def hub_response_page(browser: BrowserClient, page: Page) -> Page:
    """From the hub's success page (what the service will receive) to the page that auto-posts the hub's
    Response to the service."""
    if page.doc.xpath("//button[@id='release-agree']"):
        return agree_to_release(browser, page)
    return page


def return_to_service(browser: BrowserClient, page: Page) -> Page:
    """From a hub outcome page back to the service, which receives the hub's signed Response.

    On a success the citizen agrees to what the service will receive; any other outcome page has a
    "Return to <service>" button (a POST with the session's CSRF token)."""
    if page.doc.xpath("//button[@id='release-agree']"):
        page = agree_to_release(browser, page)
    elif not _auto_submits(page):
        page = browser.submit(page, page.form(button="Return to"))
    while _auto_submits(page):
        page = browser.auto_submit(page)
    return page


def sign_in(browser: BrowserClient, federation, username: str, idp: str = IDP_TWO, path: str = "/") -> Page:
    page = start_at_service(browser, federation, path)
    page = choose(browser, page, idp)
    page = at_idp_headless(browser, page, username)
    return return_to_service(browser, page)
