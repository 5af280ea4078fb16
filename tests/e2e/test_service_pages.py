"""The pages a live public service must have, on each citizen-facing app, in English and Welsh, linked from
every footer; and the feedback form, stored without personal data."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from tests.e2e.journey import SERVICE_ENTITY, start_at_service
from tests.support.browser_client import BrowserClient

pytestmark = pytest.mark.e2e

APPS = ("hub", "stub_idps", "relying_party_example")
PAGES = {
    "/cookies": ("Cookies", "Cwcis"),
    "/privacy": ("Privacy notice", "Hysbysiad preifatrwydd"),
    "/accessibility": ("Accessibility statement", "Datganiad hygyrchedd"),
    "/help": ("Help and contact", "Help a chysylltu"),
    "/feedback": ("Give feedback", "Rhoi adborth"),
}
FEEDBACK_FILES = {
    "hub": "feedback.jsonl",
    "stub_idps": "feedback-stub-idps.jsonl",
    "relying_party_example": "feedback-service.jsonl",
}


def base(federation, app: str) -> str:
    return federation.url(app)


@pytest.mark.parametrize("app", APPS)
@pytest.mark.parametrize("path", sorted(PAGES))
@pytest.mark.parametrize("lang", ["en", "cy"])
def test_every_app_has_the_pages_in_both_languages(federation, browser, app, path, lang):
    page = browser.get(f"{base(federation, app)}{path}?lang={lang}")
    assert page.status == 200, (app, path, page.status)
    assert page.heading == PAGES[path][0 if lang == "en" else 1]
    assert page.doc.xpath("//html/@lang") == [lang]
    assert page.doc.xpath("//main//a[@href]"), "a way on from the page"


@pytest.mark.parametrize("app", APPS)
def test_every_footer_links_the_pages(federation, browser, app):
    page = browser.get(base(federation, app) + "/cookies")
    footer_links = page.doc.xpath("//footer//a/@href")
    for path in PAGES:
        assert any(href.startswith(path + "?") or href == path for href in footer_links), (path, footer_links)
    assert page.doc.xpath("//*[contains(@class,'govuk-phase-banner')]//a[starts-with(@href,'/feedback')]")


def test_the_cookies_page_names_each_cookie_the_app_sets(federation, browser):
    hub = browser.get(base(federation, "hub") + "/cookies")
    names = [" ".join(cell.text_content().split()) for cell in hub.doc.xpath("//table//tbody//tr/*[1]")]
    assert names == ["hub_session", "hub_company", "hub_handoff", "hub_moved_journey", "lang"]


def test_a_citizen_can_go_back_to_where_they_were(federation, browser):
    hub = base(federation, "hub")
    help_page = browser.get(hub + "/help?from=/choose-a-certified-company")
    assert help_page.link("Go back to where you were").endswith("/choose-a-certified-company")
    for hostile in ("//attacker.example/", "/\\attacker.example", "https://attacker.example/"):
        page = browser.get(hub + "/help?from=" + hostile)
        assert "attacker.example" not in " ".join(page.doc.xpath("//main//a/@href")), hostile


def test_feedback_is_stored_without_personal_data(federation, var_dir):
    browser = BrowserClient()
    try:
        hub = base(federation, "hub")
        form_page = browser.get(hub + "/feedback?from=/start")
        comment = (
            "Hard to find the button. I am alice@example.com, NI number QQ 12 34 56 C, born 02/03/1980, "
            "phone 07700 900123, living at SW1A 1AA"
        )
        refused = browser.submit(form_page, form_page.form(button="Send feedback"), {"comment": comment})
        assert refused.status == 400 and "Select how you felt" in refused.text
        done = browser.submit(
            form_page, form_page.form(button="Send feedback"), {"rating": "satisfied", "comment": comment}
        )
        assert done.heading == "Thank you for your feedback"
        assert done.link("Go back to where you were").endswith("/start")
    finally:
        browser.http.close()
    entries = [json.loads(line) for line in (var_dir / FEEDBACK_FILES["hub"]).read_text().splitlines()]
    stored = entries[-1]
    assert stored["rating"] == "satisfied" and stored["app"] == "hub" and "Hard to find the button" in stored["comment"]
    text = json.dumps(stored)
    for personal in ("alice@example.com", "QQ 12 34 56 C", "02/03/1980", "07700 900123", "SW1A 1AA"):
        assert personal not in text, personal
    assert set(stored) == {"time", "app", "service", "rating", "comment", "language"}, "no session, address or browser"
    assert stored["service"] == "", "no journey in this browser: no service"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00Z", stored["time"])


def _give_feedback(browser: BrowserClient, url: str) -> None:
    form_page = browser.get(url)
    done = browser.submit(form_page, form_page.form(button="Send feedback"), {"rating": "neither", "comment": ""})
    assert done.heading == "Thank you for your feedback"


def _last_feedback(var_dir, app: str) -> dict:
    return json.loads((var_dir / FEEDBACK_FILES[app]).read_text().splitlines()[-1])


def test_feedback_names_the_service_the_citizen_was_using(federation, var_dir):
    """Satisfaction per service (the operator's report): the hub knows it from the journey, the example
    service from the page the citizen came from; neither stores anything about the citizen."""
    browser = BrowserClient()
    try:
        start = start_at_service(browser, federation)
        _give_feedback(browser, base(federation, "hub") + "/feedback?from=" + urlsplit(start.url).path)
        assert _last_feedback(var_dir, "hub")["service"] == "https://test-rp.federation.test"
        service = base(federation, "relying_party_example")
        _give_feedback(browser, service + "/feedback?from=/")
        assert _last_feedback(var_dir, "relying_party_example")["service"] == "https://test-rp.federation.test"
        _give_feedback(browser, service + "/feedback?from=/non-matching/")
        assert _last_feedback(var_dir, "relying_party_example")["service"] == SERVICE_ENTITY["test-rp-non-matching"]
    finally:
        browser.http.close()
