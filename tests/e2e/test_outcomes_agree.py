"""Every way a journey can end, through the real federation: the hub's page and the service's page say the
same thing, because the service words its page from the return code the hub put in its signed Response.

Each path is driven as a citizen would (the stub IDP answers each failure a real company can send); the
hub's page is read, the citizen returns to the service, and the service's page must carry the return code
the hub sent and a phrase the hub's page used too. The federation is this module's own, with a one-minute
session lifetime, so that the session started first has timed out by the time the last test looks at it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from federation.demo import DEMO_CONFIG
from tests.e2e.journey import IDP_TWO, at_idp_headless, choose, return_to_service, start_at_service
from tests.e2e.oidc_support import hub_answer
from tests.support.browser_client import BrowserClient, Page
from tests.support.federation_under_test import running_federation

pytestmark = pytest.mark.e2e

LIFETIME_SECONDS = 60


@pytest.fixture(scope="module")
def federation(keys_dir, tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("outcomes-agree")
    text = DEMO_CONFIG.read_text()
    assert "session_lifetime_minutes: 90" in text
    config = var_dir / "federation.yaml"
    config.write_text(
        text.replace("session_lifetime_minutes: 90", f"session_lifetime_minutes: {LIFETIME_SECONDS / 60}")
    )
    with running_federation(var_dir, keys_dir, FEDERATION_CONFIG=str(config)) as running:
        yield running


@dataclass
class Waiting:
    """A journey left at the hub's first page, to come back to once its session has ended."""

    browser: BrowserClient
    page: Page
    started: float


@pytest.fixture(scope="module")
def abandoned(federation):
    browser = BrowserClient()
    page = start_at_service(browser, federation)
    yield Waiting(browser, page, time.monotonic())
    browser.http.close()


def test_a_journey_left_now_times_out_later(abandoned):
    """Starts the clock for `test_timeout` (the last test): the other paths run while the session ages."""
    assert abandoned.page.url.endswith("/start")


def text_of(page: Page) -> str:
    main = page.doc.xpath("//main")
    return " ".join((main[0] if main else page.doc).text_content().split())


def service_code(page: Page) -> str | None:
    """The return code the service's page was worded from (None: a signed-in page, or the status alone)."""
    found = page.doc.xpath("//*[@data-return-code]/@data-return-code")
    return found[0] if found else None


def agree(hub: Page, service: Page, *, code: str | None, hub_says: str, service_says: str, both_say: str) -> None:
    hub_text, service_text = text_of(hub), text_of(service)
    assert hub_says in hub.heading, (hub.url, hub.heading)
    assert service_says in service.heading, (service.url, service.heading)
    assert both_say in hub_text and both_say in service_text, (hub_text, service_text)
    assert service_code(service) == code, (service.url, service.heading)
    assert hub.status < 500 or code == "matching_unavailable"  # the hub's 502 says whose side failed
    assert service.status == 200


def at_the_company(browser: BrowserClient, federation, username: str, outcome: str = "success") -> Page:
    page = start_at_service(browser, federation)
    page = choose(browser, page, IDP_TWO)
    return at_idp_headless(browser, page, username, outcome=outcome)


def test_success(federation, browser):
    hub = at_the_company(browser, federation, "alice")
    service = return_to_service(browser, hub)  # agrees on the release page
    assert "will receive" in hub.heading and "proved your identity" in text_of(hub)
    assert "signed in" in service.heading and service_code(service) is None
    assert service.doc.get_element_by_id("identifier") is not None


def test_no_match(federation, browser):
    hub = at_the_company(browser, federation, "nora")
    assert "/cycle3" in hub.url, hub.heading
    hub = browser.submit(hub, hub.form(button="Continue"), {"cycle3_value": "ZX 99 99 99 D"})
    service = return_to_service(browser, hub)
    agree(
        hub,
        service,
        code="no_match",
        hub_says="could not find your records",
        service_says="could not find your records",
        both_say="Your identity was proved",
    )


def test_cycle3_cancelled(federation, browser):
    hub = at_the_company(browser, federation, "kofi")
    hub = browser.submit(hub, hub.form(button="I do not have this information"))
    service = return_to_service(browser, hub)
    agree(
        hub,
        service,
        code="details_not_given",
        hub_says="could not find your records",
        service_says="could not find your records",
        both_say="Your identity was proved",
    )


def test_matching_service_down(federation, browser):
    federation.stop("matching_service")
    try:
        hub = at_the_company(browser, federation, "alice")
        assert hub.status == 502
        service = return_to_service(browser, hub)
    finally:
        federation.start("matching_service")
    agree(
        hub,
        service,
        code="matching_unavailable",
        hub_says="could not check your records",
        service_says="could not check your records",
        both_say="Your identity was proved",
    )
    assert "Try again later" in text_of(hub) and "Try again later" in text_of(service)


def test_fraud(federation, browser):
    hub = at_the_company(browser, federation, "alice", "fraud-DF01")
    service = return_to_service(browser, hub)
    agree(
        hub,
        service,
        code="fraud_suspected",
        hub_says="You cannot prove your identity online",
        service_says="You cannot prove your identity online",
        both_say="You cannot continue online",
    )
    assert not service.doc.xpath("//*[@id='start-again']"), "the hub says: do not send them round again"
    assert service.doc.xpath("//a[@id='go-to-start']")


def test_authentication_failed(federation, browser):
    hub = at_the_company(browser, federation, "alice", "authn-failed")
    service = return_to_service(browser, hub)
    agree(
        hub,
        service,
        code="authentication_failed",
        hub_says="could not prove your identity",
        service_says="could not prove your identity",
        both_say="different certified company",
    )


def test_level_not_reached(federation, browser):
    hub = at_the_company(browser, federation, "lee")  # a level 1 user, for a service that needs level 2
    service = return_to_service(browser, hub)
    agree(
        hub,
        service,
        code="level_not_reached",
        hub_says="needs a higher level of identity check",
        service_says="needs a higher level of identity check",
        both_say="but not to the level that",
    )


def test_cancelled_at_the_company(federation, browser):
    hub = at_the_company(browser, federation, "alice", "cancel")
    service = return_to_service(browser, hub)
    agree(
        hub,
        service,
        code="cancelled",
        hub_says="You did not finish proving your identity",
        service_says="You did not finish proving your identity",
        both_say="did not finish proving your identity",
    )


def test_registration_pending(federation, browser):
    hub = at_the_company(browser, federation, "alice", "pending")
    service = return_to_service(browser, hub)
    agree(
        hub,
        service,
        code="registration_pending",
        hub_says="You have not finished proving your identity",
        service_says="You have not finished proving your identity",
        both_say="more information or more time to finish checking your identity",
    )


def test_release_declined(federation, browser):
    hub = at_the_company(browser, federation, "alice")
    assert "will receive" in hub.heading and hub.doc.xpath("//button[@id='release-agree']")
    page = browser.submit(hub, hub.form(button="Do not share my details"), {"release": "decline"})
    while any(form.get("data-federation-auto-submit") is not None for form in page.forms()):
        page = browser.auto_submit(page)
    assert service_code(page) == "cancelled", page.heading
    assert "You did not finish proving your identity" in page.heading
    assert "Nothing has been shared" in text_of(page)  # what the citizen chose on the hub's page


def test_requester_error(federation, browser):
    hub = at_the_company(browser, federation, "alice", "requester-error")
    service = return_to_service(browser, hub)
    agree(
        hub,
        service,
        code="request_refused",
        hub_says="Sorry, there was a problem with",
        service_says="Sorry, there was a problem with the certified company",
        both_say="could not complete your request",
    )


@pytest.mark.parametrize(
    ("outcome", "code", "both_say"),
    [
        ("fraud-DF01", "fraud_suspected", "You cannot prove your identity online"),
        ("authn-failed", "authentication_failed", "could not prove your identity"),
        ("pending", "registration_pending", "You have not finished proving your identity"),
    ],
)
def test_openid_connect_uses_the_same_codes_and_words(federation, browser, outcome, code, both_say):
    """The example service's OpenID Connect client words its page from `return_code` just the same."""
    rp = federation.urls["RP_URL"]
    page = browser.get(f"{rp}/oidc/")
    page = browser.submit(page, page.form(button="Prove your identity"), {"assurance": "prove_identity"})
    hub = at_idp_headless(browser, choose(browser, page, IDP_TWO), "alice", outcome=outcome)
    service = browser.get(hub_answer(browser, hub))  # the service's callback, then its page
    assert service.url == f"{rp}/oidc/", service.url
    assert service.doc.xpath("//*[@data-return-code]/@data-return-code") == [code]
    assert both_say in hub.heading and both_say in service.heading, (hub.heading, service.heading)


def test_timeout(federation, abandoned):
    """Last: the journey left at the start has outlived its session while the other paths ran."""
    left = LIFETIME_SECONDS + 1 - (time.monotonic() - abandoned.started)
    if left > 0:
        time.sleep(left)
    browser = abandoned.browser
    hub = browser.get(abandoned.page.url)
    service = return_to_service(browser, hub)
    agree(
        hub,
        service,
        code="session_expired",
        hub_says="Your session has ended",
        service_says="Your session has ended",
        both_say="You did not finish within the time allowed",
    )
