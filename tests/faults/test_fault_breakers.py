"""Failing parts don't take the federation down: the real services, with the companies' process or the matching
service stopped and started again under a running hub.

The hub probes every half second here and opens a breaker after two failures, for three seconds: the
stopped companies show as temporarily unavailable on the list, a matching journey gets its page without the
matching service being asked, and once the process is back the next probe after the cooldown is the
half-open trial that closes the breaker. The operator's weights and caps are changed with the operator's
command on the running hub's store (Redis), and the next journeys see them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
import requests

from tests.e2e.journey import (
    IDP_ENTITY,
    IDP_TWO,
    MS_ENTITY,
    at_idp_headless,
    choose,
    expected_hashed_pid,
    sign_in,
    start_at_service,
)
from tests.faults.faults_support import SHARED_REDIS_URL, log_text, running_federation, wait_for
from tests.support.browser_client import BrowserClient, Page

pytestmark = pytest.mark.e2e

IDP_TWO_ENTITY = IDP_ENTITY["stub-idp-two"]
SETTINGS = {"HUB_PROBE_INTERVAL_SECONDS": "0.5", "HUB_BREAKER_FAILURES": "2", "HUB_BREAKER_COOLDOWN_SECONDS": "3"}


@pytest.fixture(scope="module")
def federation(keys_dir, tmp_path_factory, shared_redis_prefix):
    directory = tmp_path_factory.mktemp("breakers")
    env = {"REDIS_URL": SHARED_REDIS_URL, "HUB_REDIS_PREFIX": shared_redis_prefix, **SETTINGS}
    with running_federation(directory, keys_dir, **env) as running:
        yield running


def _logged(federation, text: str, since: int) -> bool:
    return text in log_text(federation, "hub")[since:]


def _company_list(browser: BrowserClient, federation, *, registering: bool = False) -> Page:
    page = start_at_service(browser, federation)
    page = browser.submit(page, page.form(), {"verified_before": "no" if registering else "yes"})
    if registering:
        page = browser.get(page.link("Continue"))
        page = browser.submit(page, page.form())  # about you: every answer is optional
    assert "choose-a-certified-company" in page.url, (page.url, page.heading)
    return page


def _choosable(page: Page) -> list[str]:
    return sorted(text.strip() for text in page.doc.xpath("//form//button/text()") if text.strip().startswith("Choose"))


def _unavailable(page: Page) -> list[str]:
    return sorted(text.strip() for text in page.doc.xpath("//ul[@id='unavailable-companies']//h3/text()"))


def _operator(federation, path: str) -> str:
    return requests.get(federation.url("hub_operator") + path, timeout=10).text


def _company_link(federation, browser: BrowserClient) -> Page:
    query = urlencode({"idp": IDP_TWO_ENTITY, "service": "test-rp"})
    return browser.get(federation.urls["HUB_URL"] + "/start-with-company?" + query)


def test_stopped_companies_show_as_temporarily_unavailable_until_they_are_back(federation, browser):
    linked = BrowserClient()  # a citizen who followed the company's own link before it went down
    page = _company_link(federation, linked)
    linked.submit(page, page.form(button="Continue to Test service"))
    since = len(log_text(federation, "hub"))
    federation.stop("stub_idps")
    try:
        opened = f"circuit breaker idp {IDP_TWO_ENTITY}: closed -> open"
        assert wait_for(lambda: _logged(federation, opened, since), timeout=30)
        assert "cannot check your identity for Test service at the moment" in _company_link(federation, browser).text
        remembered = linked.get(federation.urls["RP_URL"] + "/")
        remembered = linked.auto_submit(linked.submit(remembered, remembered.form(button="Prove your identity")))
        assert remembered.url.endswith("/continue-with-company"), remembered.url
        assert "cannot check your identity for Test service at the moment" in remembered.text
        listed = linked.get(remembered.link("Continue"))
        assert IDP_TWO in _unavailable(listed) and any(c.name == "hub_company" for c in linked.http.cookies)
        page = _company_list(browser, federation)
        assert IDP_TWO in _unavailable(page), page.text
        assert f"Choose {IDP_TWO}" not in _choosable(page)
        assert "temporarily unavailable" in page.text
        welsh = browser.get(page.url + "?lang=cy")
        assert "Ddim ar gael dros dro" in welsh.text
        metrics = _operator(federation, "/metrics")
        assert f'hub_circuit_breaker_state{{entity="{IDP_TWO_ENTITY}",kind="idp"}} 2.0' in metrics
        assert f'hub_probe_up{{entity="{IDP_TWO_ENTITY}",kind="idp"}} 0.0' in metrics
        assert f'hub_probe_age_seconds{{entity="{IDP_TWO_ENTITY}",kind="idp"}}' in metrics
        assert "hub_circuit_breaker_transitions_total{" in metrics
        status = _operator(federation, "/status")
        assert IDP_TWO_ENTITY in status and ">open<" in status
    finally:
        federation.start("stub_idps")
    closed = f"circuit breaker idp {IDP_TWO_ENTITY}: half_open -> closed"
    assert wait_for(lambda: _logged(federation, closed, since), timeout=30)
    page = browser.get(page.url + "?lang=en")  # the same journey's list, once the company is back
    assert f"Choose {IDP_TWO}" in _choosable(page) and _unavailable(page) == []
    assert expected_hashed_pid("stub-idp-two", "alice") in sign_in(browser, federation, "alice").text


def test_a_matching_journey_gets_its_page_at_once_while_the_matching_service_is_down(federation, browser):
    since = len(log_text(federation, "hub"))
    federation.stop("matching_service")
    try:
        opened = f"circuit breaker matching_service {MS_ENTITY}: closed -> open"
        assert wait_for(lambda: _logged(federation, opened, since), timeout=30)
        asked_from = len(log_text(federation, "hub"))
        page = at_idp_headless(browser, choose(browser, start_at_service(browser, federation), IDP_TWO), "alice")
        assert page.status == 502, (page.status, page.heading)
        assert "could not check your records" in page.heading
        sent = log_text(federation, "hub")[asked_from:]
        assert f"matching service {MS_ENTITY} not asked: circuit-open" in sent
        assert "matching service attempt" not in sent  # no retries, no waiting on a timeout
        metrics = _operator(federation, "/metrics")
        assert f'hub_circuit_breaker_state{{entity="{MS_ENTITY}",kind="matching_service"}} 2.0' in metrics
    finally:
        federation.start("matching_service")
    closed = f"circuit breaker matching_service {MS_ENTITY}: half_open -> closed"
    assert wait_for(lambda: _logged(federation, closed, since), timeout=30)
    assert expected_hashed_pid("stub-idp-two", "alice") in sign_in(browser, federation, "alice").text
    assert f'hub_probe_up{{entity="{MS_ENTITY}",kind="matching_service"}} 1.0' in _operator(federation, "/metrics")


def _traffic(federation, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "hub.traffic", *args], env=federation.env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def traffic_rules(federation) -> Iterator[None]:
    yield
    _traffic(federation, "clear", "stub-idp-two")


def test_weights_and_caps_change_on_the_running_hub(federation, traffic_rules):
    assert "weight 0%" in _traffic(federation, "set", "stub-idp-two", "--weight", "0")
    registering = _company_list(BrowserClient(), federation, registering=True)
    assert IDP_TWO not in registering.text  # a weight of 0: offered to no new registration
    signing_in = _company_list(BrowserClient(), federation)
    assert f"Choose {IDP_TWO}" in _choosable(signing_in)  # a citizen signing in still finds their company

    _traffic(federation, "set", "stub-idp-two", "--weight", "50")
    browser = BrowserClient()
    first = _company_list(browser, federation, registering=True)
    assert _choosable(browser.get(first.url)) == _choosable(first)  # one journey, one list

    _traffic(federation, "set", "stub-idp-two", "--weight", "100", "--cap", "1", "--per", "hour")
    browser = BrowserClient()
    page = _company_list(browser, federation, registering=True)
    sent = browser.submit(page, page.form(button=f"Choose {IDP_TWO}"))
    assert "/stub-idp-two/SAML2/SSO" in sent.form(auto=True).get("action")  # the one registration of the hour
    capped = _company_list(BrowserClient(), federation, registering=True)
    assert IDP_TWO in _unavailable(capped) and f"Choose {IDP_TWO}" not in _choosable(capped)

    _traffic(federation, "clear", "stub-idp-two")
    cleared = _company_list(BrowserClient(), federation, registering=True)
    assert f"Choose {IDP_TWO}" in _choosable(cleared) and _unavailable(cleared) == []


@pytest.fixture(scope="module")
def unprobed(keys_dir, tmp_path_factory):
    """A hub that does not probe, on its in-process store: only real journeys move its breakers."""
    directory = tmp_path_factory.mktemp("breakers-unprobed")
    with running_federation(directory, keys_dir, **{**SETTINGS, "HUB_PROBE_INTERVAL_SECONDS": "0"}) as running:
        yield running


def _matching_journey(federation) -> Page:
    browser = BrowserClient()
    return at_idp_headless(browser, choose(browser, start_at_service(browser, federation), IDP_TWO), "alice")


def test_journeys_alone_open_the_matching_breaker_and_a_journey_is_the_trial_that_closes_it(unprobed):
    federation, since = unprobed, len(log_text(unprobed, "hub"))
    federation.stop("matching_service")
    try:
        for _ in range(2):  # each waits out the retries: the matching service is not there
            assert _matching_journey(federation).status == 502
        assert _logged(federation, f"circuit breaker matching_service {MS_ENTITY}: closed -> open", since)
        asked_from = len(log_text(federation, "hub"))
        assert _matching_journey(federation).status == 502
        assert f"matching service {MS_ENTITY} not asked: circuit-open" in log_text(federation, "hub")[asked_from:]
    finally:
        federation.start("matching_service")
    time.sleep(float(SETTINGS["HUB_BREAKER_COOLDOWN_SECONDS"]))  # the cooldown: the next journey is the trial
    assert expected_hashed_pid("stub-idp-two", "alice") in sign_in(BrowserClient(), federation, "alice").text
    trial = log_text(federation, "hub")[asked_from:]
    assert "open -> half_open" in trial and "half_open -> closed" in trial
