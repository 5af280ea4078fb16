"""Coming back after a paused registration, and moving a journey to a phone, in real Chromium.

What only a real browser proves: the remembered-company cookie (SameSite=Lax) is not sent with the service's
cross-site POST to the hub, yet it is there on the top-level GET the hub redirects to, so the citizen is
offered their company; and the page with the QR code (inline SVG) breaks nothing under the hub's Content
Security Policy; and the journey moved to the phone ends with the phone signed in to the service that the
laptop started the sign-in with, after the service asked the hub from the phone (`federation.moved_journey`).
The phone is a second browser context (its own cookies).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.journey import IDP_TWO
from tests.support.chromium import NAVIGATION_TIMEOUT_MS, chromium

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


def new_page(browser, errors: list[str]):
    context = browser.new_context()
    context.set_default_timeout(NAVIGATION_TIMEOUT_MS)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page


def test_a_paused_registration_is_resumed_at_the_company_in_chromium(browser, federation):
    errors: list[str] = []
    context, page = new_page(browser, errors)
    try:
        page.goto(federation.urls["RP_URL"] + "/")
        page.get_by_role("button", name="Prove your identity").click()
        page.get_by_role("radio", name="No").check()
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("button", name="Continue").click()  # what you need
        page.get_by_role("button", name="Continue").click()  # about you: every answer optional
        page.get_by_role("button", name=f"Choose {IDP_TWO}", exact=True).click()
        page.wait_for_url("**/login*")
        page.get_by_label("Username").fill("alice")
        page.locator("#outcome-pending").click()
        expect(page.locator("h1")).to_have_text(f"You have not finished proving your identity with {IDP_TWO}")
        cookie = next(c for c in context.cookies() if c["name"] == "hub_company")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        assert cookie["expires"] > 0  # lasts beyond the browser session

        page.goto(federation.urls["RP_URL"] + "/")
        page.get_by_role("button", name="Prove your identity").click()
        expect(page.locator("h1")).to_have_text(f"Continue with {IDP_TWO}")
        page.get_by_role("button", name=f"Continue to {IDP_TWO}").click()
        page.wait_for_url("**/login*")  # at the company, without choosing again
        assert not [e for e in errors if "Content Security Policy" in e], errors
    finally:
        context.close()


def test_a_journey_moves_to_a_phone_in_chromium(browser, federation):
    errors: list[str] = []
    laptop_context, laptop = new_page(browser, errors)
    phone_context, phone = new_page(browser, errors)
    try:
        laptop.goto(federation.urls["RP_URL"] + "/")
        laptop.get_by_role("button", name="Prove your identity").click()
        laptop.get_by_role("radio", name="Yes").check()
        laptop.get_by_role("button", name="Continue").click()
        laptop.get_by_role("link", name="Continue on another device").click()
        laptop.get_by_role("button", name="Show me a code").click()
        expect(laptop.locator("figure svg")).to_be_visible()
        code = laptop.locator("#handoff-code-value").inner_text().strip()

        phone.goto(federation.urls["HUB_URL"] + "/continue")
        phone.get_by_label("Code").fill(code.lower().replace("-", " "))  # as a citizen might type it
        phone.get_by_role("button", name="Continue").click()
        expect(phone.locator("h1")).to_have_text("Confirm on your other device")

        laptop.get_by_role("button", name="Continue").first.click()
        expect(laptop.locator("h1")).to_have_text("Is this you?")
        laptop.get_by_role("button", name="Yes, continue on my other device").click()
        expect(laptop.locator("h1")).to_have_text("Your journey continues on your other device")
        expect(laptop.get_by_role("link", name="Return to Test service")).to_be_visible()  # a way on here

        phone.get_by_role("button", name="Continue").click()
        phone.get_by_role("button", name=f"Choose {IDP_TWO}", exact=True).click()
        phone.wait_for_url("**/login*")
        phone.locator("#username").fill("alice")
        phone.locator("#password").fill("bar")
        phone.locator("#sign-in").click()
        phone.locator("#consent-continue").click()
        phone.locator("#release-agree").click()
        # the service started this sign-in on the laptop; it asks the hub from the phone, and signs in there
        phone.wait_for_url(federation.urls["RP_URL"] + "/signed-in")
        expect(phone.locator("h1")).not_to_contain_text("could not")
        assert any(c["name"] == "rp_session" for c in phone_context.cookies())
        assert not any(c["name"] == "hub_moved_journey" for c in phone_context.cookies())  # spent

        laptop.get_by_role("link", name="Return to Test service").click()  # not signed in by the phone's sign-in
        expect(laptop.get_by_role("button", name="Prove your identity")).to_be_visible()
        assert not [e for e in errors if "Content Security Policy" in e], errors
    finally:
        laptop_context.close()
        phone_context.close()
