"""The citizen is warned before the session ends and can get more time (WCAG 2.2.1, Timing Adjustable),
without JavaScript and, in real Chromium, with it."""

from __future__ import annotations

import re

import pytest

from federation.demo import DEMO_CONFIG
from tests.e2e.journey import start_at_service
from tests.support.browser_client import BrowserClient
from tests.support.chromium import NAVIGATION_TIMEOUT_MS, chromium
from tests.support.federation_under_test import running_federation

pytestmark = pytest.mark.e2e

# 15 minutes and 3 seconds: the warning (15 minutes before the end) is due 3 seconds after the start
LIFETIME_MINUTES = 15.05


@pytest.fixture(scope="module")
def federation(keys_dir, tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("session-timing")
    text = DEMO_CONFIG.read_text()
    assert "session_lifetime_minutes: 90" in text
    config = var_dir / "federation.yaml"
    config.write_text(text.replace("session_lifetime_minutes: 90", f"session_lifetime_minutes: {LIFETIME_MINUTES}"))
    with running_federation(var_dir, keys_dir, FEDERATION_CONFIG=str(config)) as running:
        yield running


def notice(page):
    found = page.doc.xpath("//*[@id='session-timing']")
    return found[0] if found else None


def test_every_journey_page_says_when_the_session_ends_and_gives_more_time(federation):
    browser = BrowserClient()
    try:
        page = start_at_service(browser, federation)
        banner = notice(page)
        assert banner is not None and re.search(r"\d\d:\d\d", banner.text_content())
        assert banner.get("hidden") is not None, "hidden while more than 15 minutes are left"
        import time

        time.sleep(3.5)  # now less than 15 minutes are left: the page shows the notice from the start
        page = browser.get(page.url)
        banner = notice(page)
        assert banner.get("hidden") is None
        for _ in range(10):  # at least ten times (WCAG 2.2.1)
            page = browser.submit(page, page.form(button="Give me more time"))
            assert page.url.endswith("/start") and page.status == 200, (page.url, page.heading)
        assert "You cannot have more time for this session" in notice(page).text_content()
        assert not page.doc.xpath("//button[@id='more-time']")
        # another site cannot keep the journey alive: no token, no extension
        refused = browser.post(federation.url("hub") + "/journey/extend", {})
        assert refused.status == 400
    finally:
        browser.http.close()


def test_with_javascript_the_warning_comes_while_the_page_is_open(federation):
    with chromium() as browser:
        context = browser.new_context()
        try:
            page = context.new_page()
            page.set_default_timeout(NAVIGATION_TIMEOUT_MS)
            page.goto(federation.urls["RP_URL"] + "/")
            page.get_by_role("button", name="Prove your identity").click()
            page.wait_for_url("**/start")
            banner = page.locator("#session-timing")
            assert banner.is_hidden()
            banner.wait_for(state="visible", timeout=10_000)  # about 3 seconds after the journey began
            assert page.evaluate("document.activeElement.id") == "more-time"
            page.locator("#more-time").click()
            page.wait_for_url("**/start")
        finally:
            context.close()
