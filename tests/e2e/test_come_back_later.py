"""Come back later, or on another device: real services over HTTP, several browsers (each its own cookies).

- A registration the company paused is resumed: back through the service in the same browser, the hub goes
  straight to the company (one click), and another browser still chooses as usual.
- A company's "start here" link preselects it for one journey through the service.
- A journey moves from a laptop to a phone only when the laptop confirms; a code used, declined or entered by
  someone else moves nothing.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import segno

from tests.e2e.journey import IDP_ENTITY, IDP_TWO, at_idp_headless, choose, return_to_service, start_at_service
from tests.support.browser_client import BrowserClient, Page

pytestmark = pytest.mark.e2e

TEST_RP = "https://test-rp.federation.test"
STANDARD_RP = "https://test-rp-standard.federation.test"


@pytest.fixture
def browsers():
    made: list[BrowserClient] = []

    def new() -> BrowserClient:
        made.append(BrowserClient())
        return made[-1]

    yield new
    for client in made:
        client.http.close()


def back_at_service(browser: BrowserClient, federation) -> Page:
    """A new journey from the service's page: the hub's first page for it."""
    page = browser.get(federation.urls["RP_URL"] + "/")
    page = browser.submit(page, page.form(button="Prove your identity"))
    return browser.auto_submit(page)


def has_cookie(browser: BrowserClient, name: str) -> bool:
    return any(cookie.name == name for cookie in browser.http.cookies)


def test_a_paused_registration_resumes_straight_at_the_company(federation, browsers):
    citizen = browsers()
    page = choose(citizen, start_at_service(citizen, federation), IDP_TWO, verified_before="no")
    page = at_idp_headless(citizen, page, "alice", outcome="pending")
    assert page.heading == f"You have not finished proving your identity with {IDP_TWO}", page.heading
    assert "we will take you straight to" in page.text
    assert has_cookie(citizen, "hub_company")
    page = return_to_service(citizen, page)  # the service hears the citizen stopped for now

    page = back_at_service(citizen, federation)  # days later, the same browser
    assert page.url.endswith("/continue-with-company"), (page.url, page.heading)
    assert page.heading == f"Continue with {IDP_TWO}"
    assert page.link("Choose a different company").endswith("/continue-with-company/choose-another")
    page = citizen.submit(page, page.form(button=f"Continue to {IDP_TWO}"))
    assert page.form(auto=True).get("action").startswith(federation.urls["IDP_URL"] + "/stub-idp-two/")
    page = return_to_service(citizen, at_idp_headless(citizen, page, "alice"))
    assert "signed in" in page.text.lower(), page.heading
    assert not has_cookie(citizen, "hub_company")  # done with that company: forgotten

    page = back_at_service(citizen, federation)
    assert page.url.endswith("/start"), page.url


def test_only_the_browser_that_paused_is_sent_straight_on_and_it_may_choose_another(federation, browsers):
    citizen, elsewhere = browsers(), browsers()
    page = choose(citizen, start_at_service(citizen, federation), IDP_TWO, verified_before="no")
    at_idp_headless(citizen, page, "alice", outcome="pending")
    assert back_at_service(elsewhere, federation).url.endswith("/start")

    page = back_at_service(citizen, federation)
    assert page.url.endswith("/continue-with-company")
    page = citizen.get(page.link("Choose a different company"))
    assert page.url.endswith("/start"), page.url
    assert not has_cookie(citizen, "hub_company")
    assert back_at_service(citizen, federation).url.endswith("/start")


def test_a_remembered_cookie_that_was_tampered_with_is_ignored(federation, browsers):
    citizen = browsers()
    page = choose(citizen, start_at_service(citizen, federation), IDP_TWO, verified_before="no")
    at_idp_headless(citizen, page, "alice", outcome="pending")
    cookie = next(c for c in citizen.http.cookies if c.name == "hub_company")
    cookie.value = cookie.value[:-6] + ("AAAAAA" if not cookie.value.endswith("AAAAAA") else "BBBBBB")
    assert back_at_service(citizen, federation).url.endswith("/start")


def single_idp_link(federation, idp: str, service: str) -> str:
    return federation.urls["HUB_URL"] + "/start-with-company?" + urlencode({"idp": idp, "service": service})


def test_a_companys_link_lands_the_citizen_at_that_company_once(federation, browsers):
    citizen = browsers()
    page = citizen.get(single_idp_link(federation, IDP_ENTITY["stub-idp-two"], "test-rp"))
    assert page.heading == f"{IDP_TWO} will check your identity for Test service", page.heading
    page = citizen.submit(page, page.form(button="Continue to Test service"))
    assert page.url == federation.urls["RP_URL"] + "/", page.url  # the service's configured start page
    page = citizen.submit(page, page.form(button="Prove your identity"))
    page = citizen.auto_submit(page)
    assert page.url.endswith("/continue-with-company") and page.heading == f"Continue with {IDP_TWO}"
    assert f"You chose {IDP_TWO} to check your identity for Test service." in page.text
    page = citizen.submit(page, page.form(button=f"Continue to {IDP_TWO}"))
    assert not has_cookie(citizen, "hub_company")  # one journey only
    page = return_to_service(citizen, at_idp_headless(citizen, page, "alice"))
    assert "signed in" in page.text.lower(), page.heading
    assert back_at_service(citizen, federation).url.endswith("/start")


@pytest.mark.parametrize(
    ("idp", "service", "status", "says"),
    [
        ("https://nobody.example", TEST_RP, 400, "names a company that is not one of the certified companies"),
        (IDP_ENTITY["stub-idp-two"], "https://nobody.example", 400, "names a service we do not know"),
        (IDP_ENTITY["stub-idp-two"], STANDARD_RP, 200, "cannot be started from a company"),
        (IDP_ENTITY["stub-idp-one"], TEST_RP, 200, "cannot check your identity for Test service"),  # LEVEL_1 only
    ],
)
def test_a_company_link_that_cannot_be_followed_says_why(federation, browsers, idp, service, status, says):
    citizen = browsers()
    page = citizen.get(single_idp_link(federation, idp, service))
    assert (page.status, page.heading) == (status, "We cannot start from this link")
    assert says in page.text
    assert page.links(), "a way on"
    assert not has_cookie(citizen, "hub_company")


# ---------------------------------------------------------------------------------- another device


def code_on_laptop(laptop: BrowserClient, federation) -> tuple[Page, str]:
    """The laptop's journey at the company list, then its code for another device."""
    page = start_at_service(laptop, federation)
    page = laptop.submit(page, page.form(), {"verified_before": "yes"})
    assert "choose-a-certified-company" in page.url
    page = laptop.get(page.link("Continue on another device"))
    page = laptop.submit(page, page.form(button="Show me a code"))
    assert page.heading == "Enter this code on your other device"
    assert page.doc.xpath("//figure//svg"), "a QR code"
    code = page.doc.xpath("//*[@id='handoff-code-value']")[0].text_content().strip()
    assert len(code) == 9 and code[4] == "-"
    # the QR code is the link to /continue with this code (drawn again here, it is the same picture)
    link = federation.urls["HUB_URL"] + "/continue?" + urlencode({"code": code.replace("-", ""), "lang": "en"})
    expected = segno.make(link, error="m").svg_inline(scale=5, title=None, dark="#0b0c0c", light="#ffffff")
    assert expected in page.text
    return page, code


def enter_code(device: BrowserClient, federation, code: str) -> Page:
    page = device.get(federation.urls["HUB_URL"] + "/continue?" + urlencode({"code": code}))
    assert page.doc.xpath("//input[@name='code']")[0].get("value") == code  # from the QR code's link
    return device.submit(page, page.form(button="Continue"))


def test_a_journey_moves_to_the_phone_only_when_the_laptop_confirms(federation, browsers, var_dir):
    laptop, phone, stranger = browsers(), browsers(), browsers()
    _, code = code_on_laptop(laptop, federation)

    page = enter_code(phone, federation, code)
    assert page.heading == "Confirm on your other device", page.heading
    assert phone.get(page.url).heading == "Confirm on your other device"  # nothing moves yet

    page = enter_code(stranger, federation, code)  # the code works once
    assert page.status == 400 and "has been used or has expired" in page.text

    page = laptop.get(federation.urls["HUB_URL"] + "/journey/another-device")
    assert page.heading == "Is this you?"
    page = laptop.submit(page, page.form(button="Yes, continue on my other device"), {"answer": "yes"})
    assert page.heading == "Your journey continues on your other device"
    assert page.link("Return to Test service") == federation.urls["RP_URL"] + "/"  # a way on, from this device
    assert '"event":"journey_moved"' in (var_dir / "audit.jsonl").read_text()
    # the laptop's session has stopped working, and says where the journey went
    page = laptop.get(federation.urls["HUB_URL"] + "/choose-a-certified-company")
    assert page.heading == "Your journey continues on your other device"
    assert "Test service" in page.text

    assert stranger.get(federation.urls["HUB_URL"] + "/continue/waiting").heading == (
        "Your journey has not moved to this device"
    )
    page = phone.get(federation.urls["HUB_URL"] + "/continue/waiting")
    assert "choose-a-certified-company" in page.url, page.url  # where the move was offered
    assert not has_cookie(phone, "hub_handoff")
    page = choose(phone, page, IDP_TWO)
    page = at_idp_headless(phone, page, "alice")
    assert page.doc.xpath("//button[@id='release-agree']"), (page.url, page.heading)  # the journey ends here
    # The service started the sign-in on the laptop; it asks the hub, from the phone, whether the journey
    # moved there, and the hub's signed yes signs the citizen in on the phone.
    page = return_to_service(phone, page)
    assert page.url == federation.urls["RP_URL"] + "/signed-in", (page.url, page.heading)
    hops = [exchange.url.partition("?")[0] for exchange in phone.exchanges[-4:]]
    assert federation.urls["HUB_URL"] + "/continue/sign-in-here" in hops, hops
    assert not has_cookie(phone, "hub_moved_journey")  # the hub said yes once
    # the laptop, which started the sign-in, is not signed in by it
    assert laptop.get(federation.urls["RP_URL"] + "/signed-in").url == federation.urls["RP_URL"] + "/"


def test_a_declined_request_moves_nothing_and_the_laptop_carries_on(federation, browsers):
    laptop, someone = browsers(), browsers()
    _, code = code_on_laptop(laptop, federation)
    page = enter_code(someone, federation, code)  # someone who saw the code over the citizen's shoulder
    page = laptop.get(federation.urls["HUB_URL"] + "/journey/another-device")
    page = laptop.submit(page, page.form(button="No, this was not me"), {"answer": "no"})
    assert "choose-a-certified-company" in page.url or page.url.endswith("/start"), page.url
    page = someone.get(federation.urls["HUB_URL"] + "/continue/waiting")
    assert page.heading == "Your journey has not moved to this device"
    assert someone.get(federation.urls["HUB_URL"] + "/choose-a-certified-company").status == 400  # no session
    page = laptop.get(federation.urls["HUB_URL"] + "/choose-a-certified-company")
    assert page.status == 200 and "Choose" in page.text


def test_an_unconfirmed_request_never_takes_the_journey(federation, browsers):
    laptop, phone = browsers(), browsers()
    _, code = code_on_laptop(laptop, federation)
    enter_code(phone, federation, code)
    for _ in range(3):  # however often the phone asks
        assert phone.get(federation.urls["HUB_URL"] + "/continue/waiting").heading == "Confirm on your other device"
    assert not has_cookie(phone, "hub_session")
    assert laptop.get(federation.urls["HUB_URL"] + "/choose-a-certified-company").status == 200


def test_a_wrong_or_malformed_code_says_so(federation, browsers):
    device = browsers()
    page = device.get(federation.urls["HUB_URL"] + "/continue")
    wrong = device.submit(page, page.form(button="Continue"), {"code": "ABCD-2345"})
    assert wrong.status == 400 and "has been used or has expired" in wrong.text
    malformed = device.submit(page, page.form(button="Continue"), {"code": "hello"})
    assert malformed.status == 400 and "Enter the 8-character code" in malformed.text


def test_the_pages_speak_welsh_and_the_cookies_page_lists_both_cookies(federation, browsers):
    citizen = browsers()
    hub = federation.urls["HUB_URL"]
    page = citizen.get(single_idp_link(federation, IDP_ENTITY["stub-idp-two"], "test-rp") + "&lang=cy")
    assert page.heading == "Bydd IDP Bonyn Dau yn gwirio pwy ydych chi ar gyfer y gwasanaeth (Gwasanaeth prawf)"
    assert citizen.get(hub + "/continue?lang=cy").heading == "Parhau â’ch taith ar y ddyfais hon"
    page = citizen.get(hub + "/cookies?lang=en")
    assert "hub_company" in page.text and "hub_handoff" in page.text
    assert "After 30 days" in page.text


def test_a_remembered_company_that_cannot_serve_this_journey_is_said_and_forgotten(federation, browsers):
    """Paused at Stub IDP One (LEVEL_1) for an OpenID Connect client asking for Cl; back asking for Cl.Cm
    (LEVEL_2), which that company cannot reach: the citizen is told, and chooses as usual."""
    citizen = browsers()

    def authorize(vtr: str) -> Page:
        params = {
            "client_id": "test-rp-oidc",
            "redirect_uri": federation.urls["RP_URL"] + "/oidc/callback",
            "response_type": "code",
            "scope": "openid",
            "state": "s-1",
            "nonce": "n-1",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "vtr": vtr,
        }
        return citizen.get(federation.urls["HUB_URL"] + "/authorize?" + urlencode(params))

    page = choose(citizen, authorize('["Cl"]'), "Stub IDP One", verified_before="no")
    page = at_idp_headless(citizen, page, "alice", outcome="pending")
    assert page.heading == "You have not finished proving your identity with Stub IDP One", page.heading
    assert authorize('["Cl"]').heading == "Continue with Stub IDP One"  # a new journey at the same level

    page = authorize('["Cl.Cm"]')
    assert page.url.endswith("/continue-with-company")
    assert page.heading == "You need to choose a certified company"
    assert "Stub IDP One cannot check your identity for Test service (OpenID Connect) at the moment" in page.text
    assert not has_cookie(citizen, "hub_company")
    assert citizen.get(page.link("Continue")).url.endswith("/start")


def test_zz_code_guesses_are_rate_limited(federation, browsers):
    """Last in the module: it uses up this client's guesses for a minute."""
    device = browsers()
    page = device.get(federation.urls["HUB_URL"] + "/continue")
    statuses = [device.submit(page, page.form(button="Continue"), {"code": "ZZZZ-2345"}).status for _ in range(12)]
    assert statuses[-1] == 429, statuses
    assert set(statuses) <= {400, 429}
