"""OpenID Connect in a real browser (Debian's Chromium, headless): the example service's /oidc/ (authlib),
the hub, the stub IDP, the hub, and back to the service with a code.

What only a real browser proves: the hub's return step (a form POST) may redirect to the client's redirect
URI under the hub's Content Security Policy (`form-action` lists the registered redirect URIs, and Chrome
applies it to a form's redirects too), the SameSite=Lax cookies survive the redirects, and the journey's
pages honour `ui_locales`.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_browser import arrive, heading
from tests.support.chromium import NAVIGATION_TIMEOUT_MS, chromium

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


@pytest.mark.parametrize("language", ["en", "cy"])
def test_sign_in_with_verified_identity_over_oidc(browser, federation, tmp_path, language):
    rp, hub = federation.urls["RP_URL"], federation.urls["HUB_URL"]
    context = browser.new_context()
    context.set_default_timeout(NAVIGATION_TIMEOUT_MS)
    page = context.new_page()
    csp_errors: list[str] = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        page.goto(f"{rp}/oidc/?lang={language}")
        page.locator("#start").click()  # authlib's redirect to the hub's /authorize, ui_locales in tow
        arrive(page, f"{hub}/start", "the hub's start page")
        assert page.locator("html").get_attribute("lang") == language
        page.locator("input[name=verified_before][value=yes]").check()
        page.locator("form[action='/start'] button.govuk-button").click()
        arrive(page, f"{hub}/choose-a-certified-company", "the company list")
        page.locator("form", has=page.locator("input[value='https://stub-idp-two.federation.test']")).locator(
            "button"
        ).click()
        arrive(page, "**/stub-idp-two/login", "the stub IDP's sign-in page")
        page.locator("input[name=username]").fill("alice")
        page.locator("input[name=password]").fill("bar")
        page.locator("#sign-in").click()
        arrive(page, "**/stub-idp-two/consent", "the stub IDP's consent page")
        page.locator("#consent-continue").click()  # then the hub: what the client will receive
        arrive(page, "**/journey/result", "the hub's page of what the service will receive")
        expect(page.locator("#released-items li").first).to_be_visible()
        page.locator("#release-agree").click()  # the hub's return step, and the 303 to the service
        arrive(page, f"{rp}/oidc/", "the service, signed in")
        page.screenshot(path=tmp_path / f"oidc-signed-in-{language}.png", full_page=True)
        expect(page.locator("#vot")).to_have_text("Cl.Cm.P2")
        expect(page.locator("#claim-given_name")).to_have_text("Alice")
        assert heading(page) in ("You're signed in", "Rydych wedi mewngofnodi")
        assert not csp_errors, csp_errors
    finally:
        context.close()
