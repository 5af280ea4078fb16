"""The answer-binding attack in real Chromium, with two browser contexts (two people's browsers).

The attacker starts a journey and keeps the hub's signed AuthnRequest instead of following it (JavaScript
off, so the auto-post does not fire). The victim's browser is lured to a page that posts that request to the
genuine IDP; the victim signs in there and the IDP posts the victim's Response to the hub. The hub must not
apply it to the attacker's journey, in that browser or later in the attacker's.
"""

from __future__ import annotations

import html

import pytest
from playwright.sync_api import expect

from tests.e2e.journey import IDP_TWO, expected_hashed_pid
from tests.support.chromium import NAVIGATION_TIMEOUT_MS, chromium

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


def test_a_response_posted_by_the_victims_browser_never_signs_the_attacker_in(browser, federation):
    hub, service = federation.urls["HUB_URL"], federation.urls["RP_URL"]
    attacker = browser.new_context(java_script_enabled=False)
    victim = browser.new_context()
    try:
        for context in (attacker, victim):
            context.set_default_timeout(NAVIGATION_TIMEOUT_MS)
        # The attacker's journey, up to the page that would post the hub's request to the IDP.
        page = attacker.new_page()
        page.goto(service + "/")
        page.get_by_role("button", name="Prove your identity").click()
        page.get_by_role("button", name="Continue").click()  # the service's request to the hub (no JS)
        page.get_by_role("radio", name="Yes").check()
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name=f"Choose {IDP_TWO}", exact=True).click()
        form = page.locator("form[data-federation-auto-submit]")
        idp_sso = form.get_attribute("action")
        saml_request = form.locator("input[name=SAMLRequest]").get_attribute("value")

        # The lure: a page of the attacker's that posts the kept request from the victim's browser.
        lure = victim.new_page()
        lure.set_content(
            f'<form id="lure" method="post" action="{html.escape(idp_sso)}">'
            f'<input type="hidden" name="SAMLRequest" value="{html.escape(saml_request)}"></form>'
        )
        lure.evaluate("document.getElementById('lure').submit()")
        lure.wait_for_url("**/login")
        lure.get_by_label("Username").fill("alice")
        lure.get_by_label("Password").fill("bar")
        lure.get_by_role("button", name="Sign in", exact=True).click()
        lure.get_by_role("button", name="Send my details").click()  # the IDP posts alice's Response to the hub
        lure.wait_for_url("**/journey/identity-provider-answer?key=*")
        expect(lure.locator("h1")).to_have_text("We could not continue in this browser")

        # The attacker's browser finds its journey still waiting for a company's answer.
        page.goto(hub + "/journey/result")
        expect(page).to_have_url(hub + "/choose-a-certified-company")
        # Even holding the victim's one-time key, nothing happens.
        page.goto(lure.url)
        expect(page).to_have_url(hub + "/choose-a-certified-company")
        page.goto(service + "/signed-in")
        assert expected_hashed_pid("stub-idp-two", "alice") not in page.content()
        assert "signed in" not in page.locator("h1").inner_text().lower()
    finally:
        attacker.close()
        victim.close()
