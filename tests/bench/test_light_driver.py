"""The light load driver is a correct client (not a fast one: no speed is asserted): it reads forms and keeps
cookies as the BrowserClient does, and against the real federation its journeys end signed in with the
right hashed PID, through the same hops in the same order as the BrowserClient's, alone and several at once."""

from __future__ import annotations

import random
import string
from urllib.parse import urlencode, urljoin

import pytest

from tests.bench import journeys, light_driver
from tests.bench.journeys import hop_namer
from tests.bench.light_driver import CookieJar, JourneyError, LightBrowser, Page, form_encode, resolve
from tests.e2e.journey import expected_hashed_pid
from tests.support.federation_under_test import running_federation

PAGE = b"""<!DOCTYPE html><html lang="en"><body>
<form method="post" action="/journey/extend" novalidate>
  <input type="hidden" name="csrf_token" value="abc">
  <button type="submit" id="more-time">Give me more time</button>
</form>
<main><h1 class="govuk-heading-l">
  Which company did you use?</h1>
<form method="post" action="/choose?lang=en&amp;x=1" novalidate>
  <input type="hidden" name="csrf_token" value="abc">
  <input class="govuk-radios__input" name="verified_before" type="radio" value="yes" checked>
  <input class="govuk-radios__input" name="verified_before" type="radio" value="no">
  <input type=checkbox name='remember' value="1">
  <input type=radio name=colour value=blue>
  <input type="hidden" name="entity_id" value="https://idp.test/?a=1&amp;b=2"><button type="submit"
    class="govuk-button">Choose <span>Stub IDP Two</span></button>
</form>
<form method="post" action="http://127.0.0.1:1/SAML2/SSO/Response/POST" data-federation-auto-submit>
  <input type="hidden" name="SAMLResponse" value="PHNhbWxw+/==">
  <input type="hidden" name="RelayState" value="r-1_x">
  <button type="submit" class="govuk-button" id="saml-continue">Continue</button>
</form></main></body></html>"""


def test_forms_as_a_browser_submits_them():
    page = Page("http://127.0.0.1:1/choose-a-certified-company", 200, PAGE)
    extend, choose, auto = page.forms()
    assert extend.action == "/journey/extend" and not extend.auto
    assert choose.action == "/choose?lang=en&x=1" and choose.method == "post"
    assert choose.fields == {"csrf_token": "abc", "verified_before": "yes", "entity_id": "https://idp.test/?a=1&b=2"}
    assert choose.buttons == ("Choose Stub IDP Two",)
    assert auto.auto and auto.fields == {"SAMLResponse": "PHNhbWxw+/==", "RelayState": "r-1_x"}
    assert page.form(button="Choose Stub IDP Two") is not None
    assert page.form(auto=True).action.endswith("/SAML2/SSO/Response/POST")
    assert page.form(action="/choose").fields["entity_id"] == "https://idp.test/?a=1&b=2"
    assert page.heading == "Which company did you use?"


def test_a_missing_form_stops_the_journey_with_the_heading():
    page = Page("http://127.0.0.1:1/journey/result", 200, PAGE)
    with pytest.raises(JourneyError, match=r"no form \(button='Agree and continue'.*Which company did you use\?"):
        page.form(button="Agree and continue")


def test_form_encoding_is_urlencode_byte_for_byte():
    rng = random.Random(7)
    alphabet = string.printable + "éœ€𝄞%+ "
    for _ in range(2000):
        fields = {
            "".join(rng.choices(alphabet, k=rng.randrange(1, 8))): "".join(rng.choices(alphabet, k=rng.randrange(40)))
            for _ in range(3)
        }
        assert form_encode(fields) == urlencode(fields).encode("ascii")


@pytest.mark.parametrize("base", ["http://127.0.0.1:5/a/b?x=1", "http://localhost:8", "https://h.test/p/"])
@pytest.mark.parametrize(
    "reference", ["/start", "/journey/answer?key=a/b", "http://idp.test:1/x?y", "next", "?q=1", "//other.test/z", ""]
)
def test_resolving_addresses_is_urljoin(base, reference):
    assert resolve(base, reference) == urljoin(base, reference)


def test_cookies_per_host_with_path_same_site_secure_and_removal():
    jar = CookieJar()
    jar.store(
        "localhost",
        [
            "session=s1; HttpOnly; Path=/; SameSite=Lax",
            "wide=w; Path=/; SameSite=None",
            "scoped=p; Path=/account",
            "safe=x; Secure; Path=/; SameSite=Strict",
        ],
    )
    assert jar.header("localhost", "/", secure=False, cross_site_post=False) == "session=s1; wide=w"
    assert jar.header("localhost", "/", secure=True, cross_site_post=False) == "session=s1; wide=w; safe=x"
    assert jar.header("localhost", "/account/x", secure=False, cross_site_post=False) == "session=s1; wide=w; scoped=p"
    assert jar.header("localhost", "/accounts", secure=False, cross_site_post=False) == "session=s1; wide=w"
    assert jar.header("localhost", "/", secure=True, cross_site_post=True) == "wide=w"  # only SameSite=None
    assert jar.header("127.0.0.1", "/", secure=True, cross_site_post=False) == ""  # another site
    jar.store("localhost", ["session=; Max-Age=0; Path=/"])
    assert jar.header("localhost", "/", secure=False, cross_site_post=False) == "wide=w"


@pytest.fixture(scope="module")
def federation(keys_dir, tmp_path_factory):
    with running_federation(tmp_path_factory.mktemp("light-driver-var"), keys_dir, HUB_RATE_LIMIT_PER_MINUTE="0") as f:
        yield f


@pytest.mark.e2e
def test_journeys_end_signed_in_with_the_expected_pid(federation):
    browser = LightBrowser(hop_namer(federation.urls))
    try:
        page = light_driver.sign_in(browser, federation.urls)
    finally:
        browser.close()
    assert page.status == 200 and page.url == federation.urls["RP_URL"] + "/signed-in"
    assert expected_hashed_pid("stub-idp-two", "alice").encode() in page.body
    assert expected_hashed_pid("stub-idp-one", "alice").encode() not in page.body
    done, _ = journeys.run_journeys(federation, 6, 3, light_driver.one_journey)
    assert len(done) == 6 and all(journey.seconds > 0 for journey in done)


@pytest.mark.e2e
def test_the_same_hops_in_the_same_order_as_the_browser_client(federation):
    light = light_driver.one_journey(federation)
    browser = journeys.one_journey(federation)
    assert list(light.hops) == list(browser.hops)
    assert list(light.hops)[:3] == [
        "relying_party_example GET /",
        "relying_party_example POST /start",
        "hub POST /SAML2/SSO",
    ]
    assert "hub GET /journey/identity-provider-answer" in light.hops  # a redirect is a hop of its own


@pytest.mark.e2e
def test_a_journey_that_goes_astray_stops_with_where_it_landed(federation):
    browser = LightBrowser(hop_namer(federation.urls))
    try:
        with pytest.raises(JourneyError, match=r"went astray: .* at http://\S+ \(\d+: '[^']+'\)"):
            light_driver.sign_in(browser, federation.urls, outcome="authn-failed")
    finally:
        browser.close()
