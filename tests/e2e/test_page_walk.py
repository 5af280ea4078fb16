"""No dead ends: every citizen-facing page of the hub, the stub IDPs and the example service, in English and
Welsh, in real Chromium (the journey and its problem pages) and with the HTTP client (pages a browser
passes through by itself: the auto-posting SAML pages, and refusals reached only by a forged request).

Every page is checked for what a citizen must never meet:
- a raw message key instead of text (e.g. `error.generic.heading`, from any of the catalogues);
- no way on: neither a link nor a button in <main>, nor a back link (the footer does not count);
- English on a Welsh page: any English catalogue text of three or more words (names aside) on a cy page;
- a server error (5xx), on the page or on any hop of the way to it.

Besides the journey, its company failures and problem pages, the walk reaches: every page of moving a
journey to another device (a second Chromium context plays the phone, which then finishes the sign-in), a
service no certified company can serve ("no eligible companies", from this walk's config), a company's
answer in another browser, and "we are still checking your details" (the walk holds the journey's lock in
the hub's Redis, in a thread, since the hub waits for it about 25 s before saying so).

All failures are collected and reported together. One federation (this module's own, with a short
session lifetime so that the time-out page can be reached) and one browser serve the whole walk; it prints
how many pages it checked, its wall time and this process's CPU time (about 225 pages, 100 s and 8 s CPU on
two cores shared with a load average of 25; time is reported, never asserted).
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import lxml.html
import pytest
import redis
import requests
import yaml
from playwright.sync_api import Browser, BrowserContext, Page

from federation.config import HUB_RESPONSE_PATH
from federation.demo import DEMO_CONFIG
from federation.web.i18n import _flatten
from hub.session_lock import NAMESPACE as JOURNEY_LOCKS
from hub.store.redis import RedisStore
from tests.e2e.journey import IDP_ENTITY
from tests.support.browser_client import BrowserClient
from tests.support.browser_client import Page as HttpPage
from tests.support.chromium import NAVIGATION_TIMEOUT_MS, chromium
from tests.support.federation_under_test import running_federation

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

REPO = Path(__file__).resolve().parents[2]
LIFETIME_SECONDS = 40  # the time-out page is due this long after the walk's first journey began
LANGUAGES = ("en", "cy")
IDP = "stub-idp-two"
RATE_LIMIT = 60  # per minute and endpoint: well above what the walk sends, quickly reached by a flood
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
HUB_REDIS_PREFIX = f"page-walk-{secrets.token_hex(4)}:"  # this walk's keys only
NEW_ACCOUNTS_LEVELS = (
    "levels_of_assurance: [LEVEL_2]\n    matching_service_entity_id: https://test-rp-ms.federation.test\n    # No"
)
PASSWORD = "bar"  # every demo user's (stub_idps/data/users.yaml)

# --- the catalogues ---------------------------------------------------------------------------------------


def _catalogues() -> dict[str, dict[str, dict]]:
    """Every catalogue, per language: the shared one, the hub's, the stub IDPs', the example service's."""
    found: dict[str, dict[str, dict]] = {lang: {} for lang in LANGUAGES}
    for lang in LANGUAGES:
        found[lang]["federation"] = yaml.safe_load((REPO / f"federation/web/messages_{lang}.yaml").read_text())
        found[lang]["service"] = yaml.safe_load((REPO / f"relying_party_example/messages_{lang}.yaml").read_text())
        for both in ("hub", "stub_idps"):
            found[lang][both] = yaml.safe_load((REPO / f"{both}/messages.yaml").read_text())[lang]
    return found


def _texts(message: object) -> list[str]:
    return [message] if isinstance(message, str) else [str(item) for item in message or ()]


@dataclass(frozen=True)
class Catalogues:
    top_keys: frozenset[str]  # the first part of every message key: `error` in `error.generic.heading`
    english_phrases: tuple[str, ...]  # English texts of 3+ words with no Welsh counterpart

    @classmethod
    def load(cls) -> Catalogues:
        catalogues = _catalogues()
        top = {key for tree in catalogues["en"].values() for key in tree}
        welsh = " ".join(
            text
            for tree in catalogues["cy"].values()
            for message in _flatten(tree).values()
            for text in _texts(message)
        )
        phrases = set()
        for name, tree in catalogues["en"].items():
            cy = _flatten(catalogues["cy"][name])
            for key, message in _flatten(tree).items():
                if message == cy.get(key):  # the same in both: a name, a unit, a code
                    continue
                for text in _texts(message):
                    for fragment in re.split(r"\{[^}]*\}", text):  # names go in the placeholders
                        fragment = " ".join(fragment.split()).strip(" .,:;()")
                        if len(fragment.split()) >= 3 and fragment not in welsh:
                            phrases.add(fragment)
        return cls(frozenset(top), tuple(sorted(phrases)))


CATALOGUES = Catalogues.load()
RAW_KEY = re.compile(r"(?<![\w./@-])([a-z][a-z0-9_]*)\.[a-z0-9_][a-z0-9_.-]*[a-z0-9_](?![\w/@-])")

# --- the checks -------------------------------------------------------------------------------------------


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    pages: int = 0
    slowest: list[tuple[float, str]] = field(default_factory=list)
    _last: float = field(default_factory=time.monotonic)

    def add(self, where: str, problem: str) -> None:
        self.problems.append(f"{where}: {problem}")


def check_page(findings: Findings, where: str, lang: str, status: int, html: str, visible: str) -> None:
    """The four checks, on the page's HTML and the text a reader sees (hidden elements and scripts aside)."""
    findings.pages += 1
    now = time.monotonic()
    findings.slowest = sorted([*findings.slowest, (now - findings._last, where)], reverse=True)[:8]
    findings._last = now
    if status >= 500:
        findings.add(where, f"HTTP {status}")
    text = " ".join(visible.split())
    for found in RAW_KEY.finditer(text):
        if found.group(1) in CATALOGUES.top_keys:
            findings.add(where, f"raw message key {found.group(0)!r}")
    doc = lxml.html.fromstring(html)
    if doc.get("lang") != lang:
        findings.add(where, f"a page in {doc.get('lang')!r} in the {lang!r} walk")
    ways_on = doc.xpath(
        "//main//a[@href and not(starts-with(@href, '#'))] | //main//button | //main//input[@type='submit']"
        " | //a[contains(concat(' ', @class, ' '), ' govuk-back-link ')]"
    )
    if not ways_on:
        findings.add(where, "no link or button out (in <main>, or a back link)")
    if lang == "cy":
        for phrase in CATALOGUES.english_phrases:
            if phrase in text:
                findings.add(where, f"English on a Welsh page: {phrase!r}")


def visible_text_of(html: str) -> str:
    """What a reader sees of a page fetched without a browser: no scripts, nothing hidden."""
    doc = lxml.html.fromstring(html)
    for element in doc.xpath("//script | //style | //template | //*[@hidden] | //head"):
        element.drop_tree()
    return " ".join(doc.itertext())  # elements apart, as a browser shows them


# --- the federation and the browser -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def federation(keys_dir, tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("page-walk")
    text = DEMO_CONFIG.read_text()
    assert "session_lifetime_minutes: 90" in text and NEW_ACCOUNTS_LEVELS in text
    config = var_dir / "federation.yaml"
    text = text.replace("session_lifetime_minutes: 90", f"session_lifetime_minutes: {LIFETIME_SECONDS / 60}")
    # no certified company reaches level 3: this service's journeys meet "no eligible companies"
    config.write_text(text.replace(NEW_ACCOUNTS_LEVELS, NEW_ACCOUNTS_LEVELS.replace("LEVEL_2", "LEVEL_3")))
    env = {
        "FEDERATION_CONFIG": str(config),
        "HUB_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT),
        "REDIS_URL": REDIS_URL,  # the walk holds a journey's lock there, for the "still checking" page
        "HUB_REDIS_PREFIX": HUB_REDIS_PREFIX,
    }
    with running_federation(var_dir, keys_dir, **env) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as running:
        yield running


@dataclass
class Urls:
    hub: str
    rp: str
    idp: str  # the stub IDPs' app
    hub_response: str  # where companies post their answers

    @property
    def idp_two(self) -> str:
        return f"{self.idp}/{IDP}"


@dataclass
class Tab:
    """One Chromium tab in one language; every page it shows is checked as it arrives."""

    page: Page
    lang: str
    findings: Findings
    statuses: list[int] = field(default_factory=list)
    started: float = 0.0  # when its journey began (for the time-out)

    def __post_init__(self) -> None:
        main = self.page.main_frame

        def seen(response) -> None:
            if response.frame == main and response.request.is_navigation_request():
                self.statuses.append(response.status)
                if response.status >= 500:
                    self.findings.add(f"[{self.lang}] {response.url}", f"HTTP {response.status} on the way")

        self.page.on("response", seen)

    def look(self, what: str) -> Page:
        self.page.wait_for_load_state("load")
        status = self.statuses[-1] if self.statuses else 0
        where = f"[{self.lang}] {what} {self.page.url}"
        check_page(self.findings, where, self.lang, status, self.page.content(), self.page.inner_text("body"))
        return self.page

    def expect(self, element_id: str) -> None:
        """The page now shown is the one meant (the walk must not pass by reaching another)."""
        if not self.page.locator(f"#{element_id}").count():
            self.findings.add(f"[{self.lang}] {self.page.url}", f"expected #{element_id}, got {self.page.title()!r}")

    def open(self, url: str, what: str) -> Page:
        self.page.goto(url)
        return self.look(what)

    def then(self, act: Callable[[Page], object], until: str, what: str) -> Page:
        """Do `act` (a click), wait until the URL matches `until` (a regex; auto-posts go by themselves)."""
        with self.page.expect_navigation(url=re.compile(until), timeout=NAVIGATION_TIMEOUT_MS):
            act(self.page)
        return self.look(what)


def new_tab(browser: Browser, urls: Urls, lang: str, findings: Findings) -> tuple[BrowserContext, Tab]:
    context = browser.new_context()
    context.set_default_timeout(NAVIGATION_TIMEOUT_MS)
    context.add_cookies([{"name": "lang", "value": lang, "url": url} for url in (urls.hub, urls.rp, urls.idp)])
    return context, Tab(context.new_page(), lang, findings)


# --- steps of the journey, in Chromium --------------------------------------------------------------------


def submit(page: Page) -> None:
    page.locator("main form button").first.click()


def start_journey(tab: Tab, urls: Urls) -> None:
    tab.open(urls.rp + "/", "the service")
    tab.then(lambda p: p.click("#start"), r"/start$|/continue-with-company$", "the hub's first page")
    if tab.page.url.endswith("/continue-with-company"):  # this browser's company paused its registration
        tab.then(lambda p: p.click("#choose-another"), r"/start$", "the hub's first page, choosing again")


def more_time(tab: Tab) -> None:
    """Ask the hub for more time (the session is short here, so that the walk can reach the time-out page):
    a long chain of steps then never runs into the end of its session on a slow machine."""
    here = re.escape(tab.page.url.split("?")[0]) + "$"
    tab.then(lambda p: p.click("#more-time"), here, "the same page, with more time")


def choose_company(tab: Tab) -> None:
    button = f"form:has(input[name=entity_id][value='{IDP_ENTITY[IDP]}']) button"
    tab.then(lambda p: p.click(button), rf"/{IDP}/login$", "the company's sign-in page")


def to_company_list(tab: Tab, urls: Urls) -> None:
    start_journey(tab, urls)
    tab.page.check("input[name=verified_before][value=yes]")
    tab.then(submit, r"/choose-a-certified-company$", "the company list (returning)")
    choose_company(tab)


def idp_outcome(tab: Tab, outcome: str, until: str, what: str, username: str = "") -> None:
    if username:
        tab.page.fill("#username", username)
    tab.then(lambda p: p.click(f"button[name=outcome][value='{outcome}']"), until, what)


def sign_in_at_idp(tab: Tab, username: str) -> None:
    tab.page.fill("#username", username)
    tab.page.fill("#password", PASSWORD)
    tab.then(lambda p: p.click("#sign-in"), rf"/{IDP}/consent$", "the company's consent page")


def return_to_service(tab: Tab, what: str) -> None:
    button = "main form[action$='/journey/return-to-service'] button"
    tab.then(lambda p: p.locator(button).last.click(), r"/signed-in$", what)


def walk_in_chromium(browser: Browser, urls: Urls, lang: str, findings: Findings, late: Tab) -> None:
    context, tab = new_tab(browser, urls, lang, findings)
    try:
        # problem pages reached by a plain visit
        tab.open(urls.rp + "/no-such-page", "service: page not found")
        tab.open(urls.hub + "/no-such-page", "hub: page not found")
        tab.open(urls.hub + "/start", "hub: a journey page without a session")
        tab.open(urls.hub + "/SAML2/SSO", "hub: a request with no message")
        tab.open(urls.idp_two + "/login", "company: sign-in with no request")
        tab.open(urls.idp + "/no-such-company/login", "company: unknown company")

        # a first-time citizen, every page to a signed-in service and back out
        start_journey(tab, urls)
        tab.then(lambda p: p.locator("main form button").first.click(), r"/start$", "start, no answer")
        tab.page.check("input[name=verified_before][value=no]")
        tab.then(submit, r"/what-you-need$", "what you need")
        tab.then(lambda p: p.locator("main a.govuk-button").first.click(), r"/about-you$", "about you")
        tab.then(submit, r"/choose-a-certified-company$", "the company list (first time)")
        more_time(tab)
        choose_company(tab)
        tab.page.fill("#username", "alice")
        tab.page.fill("#password", "wrong")
        tab.then(lambda p: p.click("#sign-in"), rf"/{IDP}/login$", "company sign-in, wrong password")
        tab.then(lambda p: p.click("#register-link"), rf"/{IDP}/register$", "company registration")
        tab.then(lambda p: p.click("#register"), rf"/{IDP}/register$", "company registration, errors")
        tab.open(urls.idp_two + "/login", "company sign-in again")
        sign_in_at_idp(tab, "alice")
        tab.then(lambda p: p.click("#consent-continue"), r"/journey/result$", "the release page")
        tab.then(lambda p: p.click("#release-agree"), r"/signed-in$", "the service, signed in")
        tab.then(lambda p: p.click("#sign-out"), rf"^{re.escape(urls.rp)}/$", "the service, signed out")

        # a returning citizen meets each company failure, trying again from the list each time
        to_company_list(tab, urls)
        idp_outcome(tab, "cancel", r"/journey/result$", "hub: cancelled at the company")
        tab.then(lambda p: p.locator("main a.govuk-button").first.click(), r"/choose-a-certified-company$", "list")
        choose_company(tab)
        idp_outcome(tab, "authn-failed", r"/journey/result$", "hub: authentication failed")
        tab.then(lambda p: p.locator("main a.govuk-button").first.click(), r"/choose-a-certified-company$", "list")
        choose_company(tab)
        idp_outcome(tab, "requester-error", r"/journey/result$", "hub: the company's error")
        tab.then(lambda p: p.locator("main a.govuk-button").first.click(), r"/choose-a-certified-company$", "list")
        more_time(tab)
        choose_company(tab)
        idp_outcome(tab, "pending", r"/journey/result$", "hub: registration pending")
        tab.open(urls.hub + "/choose-a-certified-company", "the company list, while the company checks")
        choose_company(tab)
        sign_in_at_idp(tab, "lee")  # level 1, for a service that needs level 2
        tab.then(lambda p: p.click("#consent-continue"), r"/journey/result$", "hub: level not reached")
        tab.then(lambda p: p.locator("main a.govuk-button").first.click(), r"/choose-a-certified-company$", "list")
        more_time(tab)
        choose_company(tab)
        sign_in_at_idp(tab, "kofi")  # matched only with the extra detail
        tab.then(lambda p: p.click("#consent-continue"), r"/cycle3$", "hub: one more piece of information")
        tab.then(submit, r"/cycle3$", "hub: cycle 3, nothing entered")
        tab.page.fill("input[name=cycle3_value]", "not a number")
        tab.then(submit, r"/cycle3$", "hub: cycle 3, wrong format")
        cancel = "main form[action$='/cycle3/cancel'] button"
        tab.then(lambda p: p.click(cancel), r"/journey/result$", "hub: cycle 3 not given")
        return_to_service(tab, "service: details not given")

        to_company_list(tab, urls)
        idp_outcome(tab, "fraud-DF01", r"/journey/result$", "hub: fraud", username="alice")
        return_to_service(tab, "service: fraud")
        tab.open(urls.hub + "/logout", "hub: signed out (OpenID Connect)")

        # the journey left at the start (in `late`) has timed out meanwhile
        left = LIFETIME_SECONDS + 1 - (time.monotonic() - late.started)
        if left > 0:
            time.sleep(left)
        late.open(late.page.url, "hub: session timed out")
        return_to_service(late, "service: session ended")

        # too many requests: another client on this address used up the minute's feedback posts
        tab.open(urls.hub + "/feedback", "hub feedback")
        tab.page.locator("input[name=rating]").first.check()
        hammer(urls.hub + "/feedback")
        tab.then(submit, r"/feedback", "hub: too many requests")
        if tab.statuses[-1] != 429:
            findings.add(f"[{lang}] hub feedback", f"expected 429 after a flood, got {tab.statuses[-1]}")
    finally:
        context.close()


def walk_another_device(browser: Browser, urls: Urls, lang: str, findings: Findings) -> None:
    """A journey moved from a laptop to a phone: every page on both devices, finished on the phone."""
    laptop_context, laptop = new_tab(browser, urls, lang, findings)
    phone_context, phone = new_tab(browser, urls, lang, findings)
    try:
        start_journey(laptop, urls)
        laptop.page.check("input[name=verified_before][value=yes]")
        laptop.then(submit, r"/choose-a-certified-company$", "the company list (returning)")
        more_time(laptop)  # the walk's sessions are short; the move renews the ID, not the time
        laptop.then(lambda p: p.click("#another-device"), r"/journey/another-device$", "another device: offer")
        laptop.expect("handoff-offer")
        laptop.then(submit, r"/journey/another-device$", "another device: the code")
        laptop.expect("handoff-code")
        code = laptop.page.inner_text("#handoff-code-value").strip()
        phone.open(urls.hub + "/continue", "another device: enter the code")
        phone.expect("handoff-enter")
        phone.then(submit, r"/continue$", "another device: enter the code, nothing entered")
        phone.expect("handoff-enter")
        phone.page.fill("#code", code)
        phone.then(submit, r"/continue/waiting$", "another device: waiting for the confirmation")
        phone.expect("handoff-waiting")
        laptop.then(
            lambda p: p.click("main a.govuk-button"), r"/journey/another-device$", "another device: is this you"
        )
        laptop.expect("handoff-confirm")
        laptop.then(lambda p: p.click("#handoff-yes"), r"/journey/another-device/answer$", "another device: moved")
        laptop.expect("handoff-moved-service")  # the way back to the service, from this device
        laptop.open(urls.hub + "/choose-a-certified-company", "another device: moved, the old session later")
        laptop.expect("handoff-moved")
        phone.then(lambda p: p.click("main a.govuk-button"), r"/choose-a-certified-company$", "the list, on the phone")
        more_time(phone)
        choose_company(phone)
        sign_in_at_idp(phone, "alice")
        phone.then(lambda p: p.click("#consent-continue"), r"/journey/result$", "the release page, on the phone")
        # the service started on the laptop asks the hub from the phone, which signs the citizen in there
        phone.then(lambda p: p.click("#release-agree"), r"/signed-in$", "the service, signed in on the phone")
        phone.expect("sign-out")
        phone.open(urls.hub + "/continue/waiting", "another device: not moved to this device")
        phone.expect("handoff-not-confirmed")
    finally:
        laptop_context.close()
        phone_context.close()


def walk_no_eligible_company(browser: Browser, urls: Urls, lang: str, findings: Findings) -> None:
    """A service whose level no certified company reaches (in this walk's config): the page, and back."""
    context, tab = new_tab(browser, urls, lang, findings)
    try:
        tab.open(urls.rp + "/new-accounts/", "service (new accounts)")
        tab.then(lambda p: p.click("#start"), r"/start$", "the hub's first page (new accounts)")
        tab.page.check("input[name=verified_before][value=yes]")
        tab.then(submit, r"/choose-a-certified-company$", "hub: no eligible companies")
        tab.expect("problem-no_eligible_companies")
        return_to_service(tab, "service: no company could check the citizen")
    finally:
        context.close()


def cpu_seconds() -> float:
    """This process's user and system CPU time so far, from /proc (Chromium and the services not counted)."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hammer(url: str) -> None:
    """Post to a rate-limited endpoint from this address until the hub says 429."""
    seen = []
    with requests.Session() as http:
        for _ in range(200):
            seen.append(http.post(url, data={}, timeout=10).status_code)
            if seen[-1] == 429:
                return
    raise AssertionError(f"no 429 from {url}: {sorted(set(seen))}")


# --- pages a browser passes through, or reaches only by a forged request: the HTTP client ---------------


def walk_over_http(federation, urls: Urls, lang: str, findings: Findings) -> None:
    client = BrowserClient()
    for url in (urls.hub, urls.rp, urls.idp):
        client.get(f"{url}/?lang={lang}")

    def check(page: HttpPage, what: str) -> HttpPage:
        check_page(findings, f"[{lang}] {what} {page.url}", lang, page.status, page.text, visible_text_of(page.text))
        return page

    try:
        # the service's, the hub's and the companies' own pages
        for base, name in ((urls.rp, "service"), (urls.hub, "hub"), (urls.idp, "stub IDPs")):
            for path in ("/", "/cookies", "/privacy", "/accessibility", "/help", "/no-such-page"):
                check(client.get(base + path), f"{name} {path}")
            page = check(client.get(base + "/feedback"), f"{name} feedback")
            check(client.submit(page, page.form(button="")), f"{name} feedback, nothing chosen")
            check(client.submit(page, page.form(button=""), {"rating": "satisfied"}), f"{name} feedback sent")
        for path in ("/non-matching/", "/new-accounts/", "/standard/", "/oidc/"):
            check(client.get(urls.rp + path), f"service {path}")

        page = check(client.get(urls.rp + "/"), "service")
        page = check(client.submit(page, page.form(button="")), "service: the AuthnRequest's auto-post")
        page = client.auto_submit(page)
        page = client.submit(page, page.form(), {"verified_before": "yes"})
        page = client.submit(page, page.form(action="/choose-a-certified-company"), {"entity_id": IDP_ENTITY[IDP]})
        check(page, "hub: the AuthnRequest's auto-post to the company")
        page = client.auto_submit(page, action_suffix="/headless", extra={"username": "alice", "outcome": "success"})
        check(page, "company: the Response's auto-post to the hub")
        page = client.auto_submit(page)
        page = client.submit(page, page.form(button=""), {"release": "agree"})
        check(page, "hub: the Response's auto-post to the service")
        for username, outcome in (("alice", "pending"), ("lee", "success"), ("alice", "requester-error")):
            page = client.get(urls.rp + "/")
            page = client.auto_submit(client.submit(page, page.form(button="")))
            if page.url.endswith("/continue-with-company"):  # the company that paused is remembered
                page = check(page, "hub: continue with the company that paused")
                page = client.get(urljoin(page.url, page.doc.get_element_by_id("choose-another").get("href")))
            page = client.submit(page, page.form(), {"verified_before": "yes"})
            page = client.submit(page, page.form(action="/choose-a-certified-company"), {"entity_id": IDP_ENTITY[IDP]})
            page = client.auto_submit(page, action_suffix="/headless", extra={"username": username, "outcome": outcome})
            page = check(client.auto_submit(page), f"hub: {username} {outcome}")
            page = client.submit(page, page.form(action="/journey/return-to-service"))
            while any(form.get("data-federation-auto-submit") is not None for form in page.forms()):
                page = client.auto_submit(page)
            check(page, f"service: {username} {outcome}")
        # a company's answer posted from a browser that does not hold the journey
        other = BrowserClient()
        try:
            other.get(f"{urls.hub}/?lang={lang}")
            page = client.get(urls.rp + "/")
            page = client.auto_submit(client.submit(page, page.form(button="")))
            page = client.submit(page, page.form(), {"verified_before": "yes"})
            page = client.submit(page, page.form(action="/choose-a-certified-company"), {"entity_id": IDP_ENTITY[IDP]})
            page = client.auto_submit(
                page, action_suffix="/headless", extra={"username": "alice", "outcome": "success"}
            )
            page = check(other.auto_submit(page), "hub: a company's answer in another browser")
            if not page.doc.xpath("//*[@id='problem-answer_from_another_browser']"):
                findings.add(f"[{lang}] {page.url}", f"expected the 'another browser' page, got {page.heading!r}")
        finally:
            other.http.close()
        check(client.post(urls.rp + "/start", {}), "service: a form without its token")
        check(client.post(urls.rp + "/SAML2/SSO/POST", {"SAMLResponse": "bm90IFNBTUw="}), "service: a forged answer")
        check(client.get(urls.rp + "/SAML2/SSO/POST/continue?key=" + "x" * 43), "service: an unknown answer")
        check(client.post(urls.hub + "/continue", {"code": "ABCD-EFGH"}), "hub: a code that is not right")
        check(client.post(urls.hub + "/SAML2/SSO", {"SAMLRequest": "bm90IFNBTUw="}), "hub: a forged request")
        check(client.post(urls.hub_response, {"SAMLResponse": "bm90IFNBTUw="}), "hub: a forged answer")
        check(client.post(urls.idp_two + "/SAML2/SSO", {"SAMLRequest": "bm90IFNBTUw="}), "company: a forged request")
    finally:
        client.http.close()


def walk_in_progress(urls: Urls, lang: str, findings: Findings) -> None:
    """ "We are still checking your details": another request holds the journey (here the walk holds its lock
    in the hub's Redis) for longer than a request waits for it, about 25 s: so this runs in a thread."""
    client = BrowserClient()
    store = RedisStore.from_client(redis.Redis.from_url(REDIS_URL), key_prefix=HUB_REDIS_PREFIX)
    try:
        for url in (urls.hub, urls.rp, urls.idp):
            client.get(f"{url}/?lang={lang}")
        page = client.get(urls.rp + "/")
        page = client.auto_submit(client.submit(page, page.form(button="")))
        page = client.submit(page, page.form(), {"verified_before": "yes"})
        page = client.submit(page, page.form(action="/choose-a-certified-company"), {"entity_id": IDP_ENTITY[IDP]})
        page = client.auto_submit(page, action_suffix="/headless", extra={"username": "alice", "outcome": "success"})
        form = page.form(auto=True)  # the company's answer, posted cross-site (no cookie), redirects not followed
        fields = {field.get("name"): field.get("value") or "" for field in form.xpath(".//input[@name]")}
        parked = requests.post(urljoin(page.url, form.get("action")), data=fields, allow_redirects=False, timeout=30)
        claimed = client.http.get(urljoin(parked.url, parked.headers["Location"]), allow_redirects=False, timeout=30)
        session_id = client.http.cookies.get("hub_session")  # renewed as the answer applied
        token = store.try_lock(JOURNEY_LOCKS, session_id, 120)
        assert token, "the journey's lock was free"
        try:
            page = client.get(urljoin(claimed.url, claimed.headers["Location"]))  # the result, while it is held
        finally:
            store.unlock(JOURNEY_LOCKS, session_id, token)
        where = f"[{lang}] hub: still checking {page.url}"
        check_page(findings, where, lang, page.status, page.text, visible_text_of(page.text))
        if not page.doc.xpath("//*[@id='problem-in_progress']"):
            findings.add(where, f"expected the 'still checking' page, got {page.heading!r}")
    except Exception as exc:  # reported with the walk's other findings
        findings.add(f"[{lang}] hub: still checking", f"could not be reached: {exc!r}")
    finally:
        client.http.close()


def test_no_dead_ends_in_english_or_welsh(federation, browser):
    hub = federation.urls["HUB_URL"]
    urls = Urls(
        hub=hub, rp=federation.urls["RP_URL"], idp=federation.urls["IDP_URL"], hub_response=hub + HUB_RESPONSE_PATH
    )
    findings = Findings()
    started = time.monotonic()
    late_tabs = []
    for lang in LANGUAGES:  # journeys left at the hub's first page now, to time out while the walk goes on
        context, late = new_tab(browser, urls, lang, findings)
        start_journey(late, urls)
        late.started = time.monotonic()
        late_tabs.append((context, late))
    waiting = [threading.Thread(target=walk_in_progress, args=(urls, lang, findings)) for lang in LANGUAGES]
    for thread in waiting:
        thread.start()
    try:
        for lang, (_, late) in zip(LANGUAGES, late_tabs, strict=True):
            walk_in_chromium(browser, urls, lang, findings, late)
            walk_another_device(browser, urls, lang, findings)
            walk_no_eligible_company(browser, urls, lang, findings)
            walk_over_http(federation, urls, lang, findings)
    finally:
        for context, _ in late_tabs:
            context.close()
        for thread in waiting:
            thread.join()
    took = time.monotonic() - started
    cpu = cpu_seconds()
    print(f"page walk: {findings.pages} pages checked in {took:.0f} s ({cpu:.0f} s CPU in this process); slowest:")
    for seconds, where in findings.slowest:
        print(f"  {seconds:5.1f} s  {where}")
    assert not findings.problems, f"{len(findings.problems)} problems:\n" + "\n".join(findings.problems)


def test_the_checks_catch_what_they_should():
    """The walk's checks, on pages made to fail each one (and one that passes them all)."""
    english = "Have you proved your identity with a certified company before?"  # start.heading
    assert english in CATALOGUES.english_phrases
    assert "Cookies" not in CATALOGUES.english_phrases  # one word: names and labels may stay as they are

    def problems(lang: str, main: str, status: int = 200, outside: str = "") -> list[str]:
        findings = Findings()
        footer = "<footer><a href='/help'>Help</a></footer>"
        html = f"<html lang='{lang}'><body>{outside}<main>{main}</main>{footer}</body></html>"
        check_page(findings, "page", lang, status, html, visible_text_of(html))
        return findings.problems

    assert problems("cy", "<h1>Dechrau</h1><a href='/start'>Dechrau eto</a>") == []
    assert problems("en", f"<h1>{english}</h1><a href='/start'>Start</a>") == []
    assert problems("cy", f"<h1>{english}</h1><a href='/start'>Dechrau</a>") == [
        f"page: English on a Welsh page: {english!r}"
    ]
    assert problems("en", "<h1>error.generic.heading</h1><button>Go</button>") == [
        "page: raw message key 'error.generic.heading'"
    ]
    assert problems("en", "<p>See https://stub-idp-two.federation.test or x.y</p><button>Go</button>") == []
    assert problems("en", "<h1>Stuck</h1><a href='#main'>this page</a>") == [
        "page: no link or button out (in <main>, or a back link)"
    ]
    assert problems("en", "<h1>Back</h1>", outside="<a class='govuk-back-link' href='/a'>Back</a>") == []
    assert problems("en", "<h1>Oops</h1><a href='/'>Start</a>", status=502) == ["page: HTTP 502"]
    assert problems("en", "<h1>Hidden</h1><p hidden>error.generic.body</p><a href='/'>Start</a>") == []
    findings = Findings()
    check_page(findings, "page", "cy", 200, "<html lang='en'><main><a href='/'>Start</a></main></html>", "Start")
    assert findings.problems == ["page: a page in 'en' in the 'cy' walk"]
