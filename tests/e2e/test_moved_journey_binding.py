"""A journey moved to another device signs the citizen in there, and nowhere else: real services over HTTP.

The service binds the hub's answer to the browser that started the sign-in. When the answer arrives in
another browser, the service asks the hub, through that browser, whether the citizen moved the journey
there; only the browser that received the journey at the hub (code entered there, confirmed on the first
device) hears yes, once. Each BrowserClient is a browser with its own cookies.

The attacks: a Response from a journey that was not moved, pushed into another browser (login CSRF); the
attacker's own moved journey, its Response captured on his second device and pushed into a victim's browser;
the hub's yes carried to another browser; a company's answer captured before the move and pushed after it.
The example service's OpenID Connect client does the same with its callback (the request is its `state`).
"""

from __future__ import annotations

import pytest

from tests.e2e.journey import (
    IDP_TWO,
    at_idp_headless,
    choose,
    expected_hashed_pid,
    hub_response_page,
    start_at_service,
)
from tests.e2e.oidc_support import hub_answer
from tests.e2e.test_come_back_later import code_on_laptop, enter_code
from tests.support.browser_client import BrowserClient, Page
from tests.support.federation_under_test import running_federation

pytestmark = pytest.mark.e2e

NO_ATTEMPT = "We could not find your sign-in attempt"
CHECK_PATH = "/continue/sign-in-here"
STATEMENT = "HubMovedJourney="


@pytest.fixture(scope="module")
def federation(keys_dir, tmp_path_factory):
    """This module's own federation: code entries are rate-limited per client address and minute, and other
    modules' tests (all from 127.0.0.1) may have used up the minute's."""
    with running_federation(tmp_path_factory.mktemp("moved-journey"), keys_dir) as running:
        yield running


@pytest.fixture
def browsers():
    made: list[BrowserClient] = []

    def new() -> BrowserClient:
        made.append(BrowserClient())
        return made[-1]

    yield new
    for client in made:
        client.http.close()


def move(laptop: BrowserClient, phone: BrowserClient, federation) -> Page:
    """The laptop's journey (started at the service), moved to the phone: the phone's company list."""
    _, code = code_on_laptop(laptop, federation)
    enter_code(phone, federation, code)
    page = laptop.get(federation.urls["HUB_URL"] + "/journey/another-device")
    laptop.submit(page, page.form(button="Yes, continue on my other device"), {"answer": "yes"})
    page = phone.get(federation.urls["HUB_URL"] + "/continue/waiting")
    assert "choose-a-certified-company" in page.url, page.url
    return page


def posting_to_service(browser: BrowserClient, page: Page, username: str) -> Page:
    """From the company list to the hub's page that auto-posts its Response to the service (not posted)."""
    page = hub_response_page(browser, at_idp_headless(browser, choose(browser, page, IDP_TWO), username))
    assert page.form(auto=True).get("action").endswith("/SAML2/SSO/POST"), (page.url, page.heading)
    return page


def signed_in_as(browser: BrowserClient, federation, username: str) -> bool:
    page = browser.get(federation.urls["RP_URL"] + "/signed-in")
    return page.url.endswith("/signed-in") and expected_hashed_pid("stub-idp-two", username) in page.text


def asked_the_hub(browser: BrowserClient, federation) -> list[str]:
    """The statements the hub gave this browser (the redirects from its check to the service's ACS)."""
    check = federation.urls["HUB_URL"] + CHECK_PATH
    return [e.location for e in browser.exchanges if e.url.startswith(check) and e.location]


def test_the_phone_a_journey_moved_to_is_signed_in_and_nobody_else(federation, browsers):
    laptop, phone, stranger = browsers(), browsers(), browsers()
    page = posting_to_service(phone, move(laptop, phone, federation), "alice")
    page = phone.auto_submit(page)
    assert page.url.endswith("/signed-in"), (page.url, page.heading)
    assert signed_in_as(phone, federation, "alice")
    (statement_url,) = asked_the_hub(phone, federation)
    assert STATEMENT in statement_url
    # the hub's yes, carried to another browser (or back to the phone), is worth nothing: its nonce was for
    # the phone's session and has been used
    assert stranger.get(statement_url).heading == NO_ATTEMPT
    assert phone.get(statement_url).heading == NO_ATTEMPT
    assert not signed_in_as(stranger, federation, "alice")
    assert not signed_in_as(laptop, federation, "alice")


def test_an_answer_from_a_journey_that_was_not_moved_is_refused_in_another_browser(federation, browsers):
    citizen, other = browsers(), browsers()
    page = posting_to_service(citizen, start_at_service(citizen, federation), "alice")
    other.get(federation.urls["RP_URL"] + "/")
    refused = other.auto_submit(page)  # the citizen's Response, posted from a browser that never had the journey
    assert refused.status == 400 and refused.heading == NO_ATTEMPT, refused.heading
    assert refused.links(), "a way on"
    (statement_url,) = asked_the_hub(other, federation)  # the service asked, and the hub said no
    assert STATEMENT in statement_url
    assert not signed_in_as(other, federation, "alice")
    assert not signed_in_as(citizen, federation, "alice")  # the attempt had its one answer


def test_an_attackers_own_moved_journey_cannot_sign_a_victim_in(federation, browsers):
    """Login CSRF with a moved journey: the attacker moves his journey between his own two devices,
    stops his second device before it posts the hub's Response, and has a victim's browser post it."""
    attacker_laptop, attacker_phone, victim = browsers(), browsers(), browsers()
    lure = posting_to_service(attacker_phone, move(attacker_laptop, attacker_phone, federation), "tom")
    victim.get(federation.urls["RP_URL"] + "/")
    pushed = victim.auto_submit(lure)
    assert pushed.heading == NO_ATTEMPT, pushed.heading
    assert asked_the_hub(victim, federation), "the service asked the hub, which said no in this browser"
    assert not signed_in_as(victim, federation, "tom")


def test_a_company_answer_captured_before_the_move_is_refused_after_it(federation, browsers):
    """The attacker chooses a company and signs in there on his laptop, keeps the company's Response, moves
    the journey to a victim's phone and pushes the Response there: the hub applies it nowhere."""
    laptop, victim = browsers(), browsers()
    code_on_laptop(laptop, federation)
    page = laptop.get(federation.urls["HUB_URL"] + "/choose-a-certified-company")
    page = laptop.submit(page, page.form(button=f"Choose {IDP_TWO}"))
    company_answer = laptop.auto_submit(
        page, action_suffix="/headless", extra={"username": "tom", "outcome": "success"}
    )
    page = laptop.get(federation.urls["HUB_URL"] + "/journey/another-device")  # back at the hub, not posted
    page = laptop.submit(page, page.form(button="Get a new code"))
    code = page.doc.xpath("//*[@id='handoff-code-value']")[0].text_content().strip()
    enter_code(victim, federation, code)
    page = laptop.get(federation.urls["HUB_URL"] + "/journey/another-device")
    laptop.submit(page, page.form(button="Yes, continue on my other device"), {"answer": "yes"})
    victim.get(federation.urls["HUB_URL"] + "/continue/waiting")
    refused = victim.auto_submit(company_answer)  # the company's Response, posted from the victim's browser
    # refused at the door: the request it answers belonged to the laptop's session, which ended at the move
    assert refused.status == 400, (refused.status, refused.heading)
    assert refused.heading in ("Sorry, there is a problem with your request", "We could not continue in this browser")
    assert not refused.doc.xpath("//button[@id='release-agree']"), "nothing about the attacker to release"
    page = victim.get(federation.urls["HUB_URL"] + "/choose-a-certified-company")
    assert "choose-a-certified-company" in page.url, "the victim's journey still waits for a company"


def test_a_code_posted_from_another_sites_page_moves_nothing(federation, browsers):
    """Another site cannot enter a code in a victim's browser for them: the code entry must be their own."""
    laptop, victim = browsers(), browsers()
    _, code = code_on_laptop(laptop, federation)
    response = victim.http.post(
        federation.urls["HUB_URL"] + "/continue", data={"code": code}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 400
    assert not any(cookie.name == "hub_handoff" for cookie in victim.http.cookies)
    assert enter_code(laptop, federation, code).heading == "Confirm on your other device"  # the code still works


@pytest.mark.parametrize(
    "query",
    [
        {"service": "https://not-a-service.test", "request": "_r", "nonce": "n"},
        {"service": "https://test-rp.federation.test", "request": "_r"},
        {"service": "https://test-rp.federation.test", "request": "x" * 300, "nonce": "n"},
        {},
    ],
    ids=["unknown-service", "no-nonce", "request-too-long", "nothing"],
)
def test_a_question_the_hub_cannot_answer_gets_a_page_and_goes_nowhere(federation, browsers, query):
    asker = browsers()
    response = asker.http.get(federation.urls["HUB_URL"] + CHECK_PATH, params=query, allow_redirects=False)
    assert response.status_code == 400 and "Location" not in response.headers
    assert "Traceback" not in response.text and "<main" in response.text


# ---------------------------------------------------------------------------------- OpenID Connect


def oidc_start(browser: BrowserClient, federation) -> Page:
    """The example service's OpenID Connect sign-in, to the hub's company list."""
    page = browser.get(federation.urls["RP_URL"] + "/oidc/")
    page = browser.submit(page, page.form(button="Prove your identity"), {"assurance": "prove_identity"})
    assert page.url.split("?")[0].endswith("/start"), page.url
    return browser.submit(page, page.form(), {"verified_before": "yes"})


def oidc_moved_to_phone(laptop: BrowserClient, phone: BrowserClient, federation) -> str:
    """An OpenID Connect journey started on the laptop, moved to the phone and finished there: the redirect
    to the client's callback, in the phone (not followed)."""
    page = laptop.get(oidc_start(laptop, federation).link("Continue on another device"))
    page = laptop.submit(page, page.form(button="Show me a code"))
    code = page.doc.xpath("//*[@id='handoff-code-value']")[0].text_content().strip()
    enter_code(phone, federation, code)
    page = laptop.get(federation.urls["HUB_URL"] + "/journey/another-device")
    laptop.submit(page, page.form(button="Yes, continue on my other device"), {"answer": "yes"})
    page = phone.get(federation.urls["HUB_URL"] + "/continue/waiting")
    page = at_idp_headless(phone, choose(phone, page, IDP_TWO), "alice")
    return hub_answer(phone, page)


def test_an_openid_connect_journey_moved_to_the_phone_signs_in_there(federation, browsers):
    laptop, phone = browsers(), browsers()
    page = phone.get(oidc_moved_to_phone(laptop, phone, federation))  # the callback asks the hub, then redeems
    assert page.url == federation.urls["RP_URL"] + "/oidc/", page.url
    assert page.heading == "You're signed in", page.heading
    assert asked_the_hub(phone, federation)
    assert "oidc-result" not in laptop.get(federation.urls["RP_URL"] + "/oidc/").text  # not the laptop


def test_an_openid_connect_answer_of_a_journey_not_moved_is_refused_in_another_browser(federation, browsers):
    citizen, other = browsers(), browsers()
    page = at_idp_headless(citizen, choose(citizen, oidc_start(citizen, federation), IDP_TWO), "alice")
    callback = hub_answer(citizen, page)
    refused = other.get(callback)  # the citizen's code and state, in a browser that did not start
    assert refused.status == 400 and refused.heading == NO_ATTEMPT, refused.heading
    assert asked_the_hub(other, federation), "the service asked the hub, which said no"
    assert "oidc-result" not in other.get(federation.urls["RP_URL"] + "/oidc/").text
    # the code is worthless without the verifier kept with the citizen's own session: there it still works
    assert citizen.get(callback).heading == "You're signed in"


def test_an_attackers_moved_openid_connect_journey_cannot_sign_a_victim_in(federation, browsers):
    attacker_laptop, attacker_phone, victim = browsers(), browsers(), browsers()
    callback = oidc_moved_to_phone(attacker_laptop, attacker_phone, federation)  # kept, not followed
    pushed = victim.get(callback)
    assert pushed.status == 400 and pushed.heading == NO_ATTEMPT, pushed.heading
    assert asked_the_hub(victim, federation), "the service asked the hub, which said no in this browser"
    assert "oidc-result" not in victim.get(federation.urls["RP_URL"] + "/oidc/").text
