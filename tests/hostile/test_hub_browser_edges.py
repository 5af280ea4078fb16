"""Attacks on the hub's edges with an ordinary browser: whose browser an IDP's answer applies in, links
from other sites, crafted cookies, session fixation and open redirects (SECURITY.md lists them).

Two `BrowserClient`s are two cookie jars (two browsers); `tests/e2e/test_browser_answer_binding.py` does the
answer-binding attack once more in real Chromium.
"""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import urlsplit

import pytest
import requests

from federation import xmlsecurity
from federation.saml.constants import SAML_NS, SAMLP_NS, STATUS_NO_AUTHN_CONTEXT, STATUS_RESPONDER
from tests.e2e.journey import (
    IDP_TWO,
    at_idp_headless,
    choose,
    expected_hashed_pid,
    return_to_service,
    start_at_service,
)
from tests.faults.faults_support import form_fields
from tests.support.browser_client import BrowserClient

pytestmark = pytest.mark.hostile

HUB_COOKIE = "hub_session"
ANOTHER_BROWSER = "We could not continue in this browser"
NO_SESSION = "We could not find your session"


@pytest.fixture
def attacker():
    client = BrowserClient()
    yield client
    client.http.close()


@pytest.fixture
def victim():
    client = BrowserClient()
    yield client
    client.http.close()


def hub_cookie(browser: BrowserClient) -> str | None:
    return next((c.value for c in browser.http.cookies if c.name == HUB_COOKIE), None)


def kept_request(attacker: BrowserClient, federation):
    """The attacker starts a journey and keeps the page that would post the hub's AuthnRequest to the IDP."""
    page = start_at_service(attacker, federation)
    return choose(attacker, page, IDP_TWO)


def victim_signs_in_with(victim: BrowserClient, to_idp, username: str = "alice"):
    """The lure: the victim's browser posts the attacker's request to the genuine IDP and signs in; the IDP
    posts the victim's Response to the hub (cross-site), which redirects the victim's browser on."""
    idp_page = victim.submit(
        to_idp, to_idp.form(auto=True), {"username": username, "outcome": "success"}, action_suffix="/headless"
    )
    return idp_page, victim.auto_submit(idp_page)


def audit_events(var_dir) -> list[dict]:
    return [json.loads(line) for line in (var_dir / "audit.jsonl").read_text().splitlines() if line.strip()]


# --- the IDP's answer applies only in the browser that holds the journey ------------------------------------


def test_an_answer_posted_from_another_browser_never_advances_the_journey(
    federation, attacker, victim, hub_log, var_dir
):
    to_idp = kept_request(attacker, federation)
    watch = hub_log()
    events_before = len(audit_events(var_dir))
    idp_page, landing = victim_signs_in_with(victim, to_idp)

    # The victim's browser gets a page that explains and lets a citizen go on; nothing is applied.
    assert landing.status == 400 and landing.heading == ANOTHER_BROWSER, (landing.status, landing.heading)
    assert "/journey/identity-provider-answer?key=" in landing.url
    assert landing.link("Return to")  # a way on: the service the request came from
    assert "not-the-browser-that-started-the-journey" in watch.wait_for("not-the-browser")
    new_events = [e["event"] for e in audit_events(var_dir)[events_before:]]
    assert "idp_authn_succeeded" not in new_events, new_events

    # Not then: the attacker's journey is still waiting for an answer (back to the company list).
    page = attacker.get(federation.url("hub") + "/journey/result")
    assert page.url.endswith("/choose-a-certified-company"), (page.url, page.heading)

    # Nor later: the parked answer was destroyed on first use, even if the attacker learns its key...
    page = attacker.get(landing.url)
    assert page.url.endswith("/choose-a-certified-company"), (page.url, page.heading)
    # ... and the victim's Response cannot be posted again, from any browser.
    replayed = attacker.auto_submit(idp_page)
    assert replayed.status == 400
    # Ending the journey tells the service the citizen stopped: nobody is signed in as the victim.
    companies = attacker.get(federation.url("hub") + "/choose-a-certified-company")
    token = form_fields(companies.form())["csrf_token"]
    page = attacker.post(federation.url("hub") + "/journey/return-to-service", {"csrf_token": token})
    page = return_to_service(attacker, page)
    assert "signed in" not in page.text.lower()
    assert expected_hashed_pid("stub-idp-two", "alice") not in page.text


def test_a_victim_in_a_journey_of_their_own_is_offered_their_own_journey(federation, attacker, victim):
    to_idp = kept_request(attacker, federation)
    own = start_at_service(victim, federation)  # the victim has a hub session of their own
    own_cookie = hub_cookie(victim)
    _, landing = victim_signs_in_with(victim, to_idp)
    assert landing.heading == ANOTHER_BROWSER
    page = victim.get(landing.link("Continue where you were"))
    assert page.url == own.url, (page.url, page.heading)  # their journey is where they left it
    assert hub_cookie(victim) == own_cookie


def test_the_answer_applies_in_the_right_browser_and_renews_the_session_id(federation, browser):
    page = start_at_service(browser, federation)
    before = hub_cookie(browser)
    page = choose(browser, page, IDP_TWO)
    page = at_idp_headless(browser, page, "alice")
    after = hub_cookie(browser)
    assert before and after and before != after, "the session ID is renewed when the answer is applied"

    # the pre-sign-in value no longer names any session
    stale = BrowserClient()
    try:
        stale.http.cookies.set(HUB_COOKIE, before, domain=urlsplit(federation.url("hub")).hostname)
        old = stale.get(federation.url("hub") + "/journey/result")
        assert old.status == 400 and old.heading == NO_SESSION, (old.status, old.heading)
    finally:
        stale.http.close()
    page = return_to_service(browser, page)
    assert expected_hashed_pid("stub-idp-two", "alice") in page.text


# --- links from other sites cannot end or move a journey -----------------------------------------------------


def test_return_to_service_is_a_post_with_the_csrf_token(federation, browser, hub_log):
    hub = federation.url("hub")
    page = start_at_service(browser, federation)
    # a link (GET) from another site: not allowed, and the journey goes on
    linked = browser.get(hub + "/journey/return-to-service")
    assert linked.status == 405, (linked.status, linked.heading)
    # a form on another site: the cookie does not come with it, so there is no journey to end
    forged = browser.post(hub + "/journey/return-to-service", {}, from_url="http://attacker.example/")
    assert forged.status == 400 and forged.heading == NO_SESSION, (forged.status, forged.heading)
    # and with the cookie but without the session's token: refused
    watch = hub_log()
    for fields in ({}, {"csrf_token": "0" * 64}):
        refused = browser.post(hub + "/journey/return-to-service", fields)
        assert refused.status == 400, (refused.status, refused.heading)
    assert "form refused: csrf-token-invalid" in watch.wait_for("csrf-token-invalid")
    page = browser.submit(page, page.form(), {"verified_before": "yes"})
    assert page.url.endswith("/choose-a-certified-company"), (page.url, page.heading)


def test_a_success_is_only_sent_to_the_service_by_a_post_the_citizen_agreed_to(federation, browser):
    hub = federation.url("hub")
    page = start_at_service(browser, federation, "/non-matching/")
    page = choose(browser, page, IDP_TWO)
    page = at_idp_headless(browser, page, "alice")
    form = page.form(button="Agree and continue")
    assert form.get("action") == "/journey/return-to-service" and form.get("method") == "post"
    assert "csrf_token" in form_fields(form)
    assert not page.forms()[0].get("data-federation-auto-submit"), "nothing leaves before the citizen agrees"
    again = browser.get(hub + "/journey/result")  # a reload, or a link: nothing is sent
    assert again.form(button="Agree and continue").get("action") == "/journey/return-to-service"
    # the return step without a choice (an old page, a forged form with the token) shows the page again
    token = form_fields(form)["csrf_token"]
    undecided = browser.post(hub + "/journey/return-to-service", {"csrf_token": token})
    assert undecided.form(button="Agree and continue") is not None
    page = return_to_service(browser, again)
    assert "signed in" in page.text.lower(), page.heading


def test_a_citizen_who_declines_to_share_sends_the_service_nothing(federation, browser, var_dir):
    page = start_at_service(browser, federation, "/non-matching/")
    page = at_idp_headless(browser, choose(browser, page, IDP_TWO), "alice")
    items = [" ".join(li.text_content().split()) for li in page.doc.xpath("//ul[@id='released-items']/li")]
    assert any("date of birth" in item for item in items) and any("address" in item for item in items)
    declined = browser.submit(page, page.form(button="Do not share my details"), {"release": "decline"})
    response = xmlsecurity.parse_xml(base64.b64decode(form_fields(declined.form(auto=True))["SAMLResponse"]))
    assert response.find(f"{{{SAML_NS}}}EncryptedAssertion") is None
    codes = [e.get("Value") for e in response.iter(f"{{{SAMLP_NS}}}StatusCode")]
    assert codes == [STATUS_RESPONDER, STATUS_NO_AUTHN_CONTEXT]
    page = browser.auto_submit(declined)
    assert "signed in" not in page.text.lower()
    assert "release_declined" in (var_dir / "audit.jsonl").read_text()


# --- crafted cookies are just unknown sessions ---------------------------------------------------------------


def test_a_cookie_naming_another_kind_of_store_entry_is_an_unknown_session(federation, browser, hub_log):
    hub = federation.url("hub")
    watch = hub_log()
    page = start_at_service(browser, federation)
    to_idp = choose(browser, page, IDP_TWO)
    request_id = re.search(r'ID="([^"]+)"', _decoded_request(to_idp)).group(1)
    crafted = BrowserClient()
    try:
        host = urlsplit(hub).hostname
        for value in (f"idp-request:{request_id}", request_id, "idp-answer:x", "journey:" + "a" * 40, "A" * 43):
            crafted.http.cookies.set(HUB_COOKIE, value, domain=host)
            page = crafted.get(hub + "/start")
            assert page.status == 400 and page.heading == NO_SESSION, (value, page.status, page.heading)
    finally:
        crafted.http.close()
    # nothing was deleted: the real journey still takes the IDP's answer
    page = at_idp_headless(browser, to_idp, "alice")
    page = return_to_service(browser, page)
    assert expected_hashed_pid("stub-idp-two", "alice") in page.text
    assert "unexpected error" not in watch.new_text()


def _decoded_request(to_idp) -> str:
    import base64

    return base64.b64decode(form_fields(to_idp.form(auto=True))["SAMLRequest"]).decode()


# --- no open redirect ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["hub", "stub_idps", "relying_party_example"])
@pytest.mark.parametrize("path", ["/%5Cattacker.example/", "//attacker.example/", "/%5C%5Cattacker.example", "/%2F/x"])
def test_no_link_on_an_error_page_leaves_the_site(federation, service, path):
    base = federation.url(service)
    response = requests.get(base + path, timeout=10, allow_redirects=False)
    assert response.status_code < 500, response.status_code
    location = response.headers.get("Location", "")
    assert not location.startswith(("//", "/\\")) and urlsplit(location).netloc in ("", urlsplit(base).netloc)
    for href in re.findall(r'href="([^"]*)"', response.text):
        assert not href.startswith(("//", "/\\", "\\")), href  # browsers read these as another host
        assert "attacker.example" not in urlsplit(href).netloc, href


# --- the operator's endpoints are not on the citizen's listener ---------------------------------------------


def test_metrics_are_served_only_on_the_operator_listener(federation):
    assert requests.get(federation.url("hub") + "/metrics", timeout=10).status_code == 404
    operator = requests.get(federation.url("hub_operator") + "/metrics", timeout=10)
    assert operator.status_code == 200 and "hub_journey_events_total" in operator.text
