"""End-to-end journeys through all four services over real HTTP: service, hub, IDP, hub, matching
service, hub, service. Every message on the way is signed (and encrypted) and checked by its receiver."""

from __future__ import annotations

import json

import pytest

from tests.e2e.journey import (
    IDP_THREE,
    IDP_TWO,
    at_idp_headless,
    choose,
    expected_hashed_pid,
    expected_pairwise_id,
    idp_pid,
    return_to_service,
    sign_in,
    start_at_service,
)

pytestmark = pytest.mark.e2e


def audit_events(var_dir) -> list[dict]:
    return [json.loads(line) for line in (var_dir / "audit.jsonl").read_text().splitlines() if line.strip()]


def test_matched_level2_user(federation, browser):
    page = sign_in(browser, federation, "alice", IDP_TWO)
    assert "signed in" in page.text.lower(), page.heading
    assert expected_hashed_pid("stub-idp-two", "alice") in page.text
    assert "Level 2" in page.text or "LEVEL_2" in page.text


def test_second_journey_by_the_same_user_is_a_cycle_0_hit(federation, browser, var_dir):
    first = sign_in(browser, federation, "tom", IDP_THREE)
    assert expected_hashed_pid("stub-idp-three", "tom") in first.text
    log_before = (var_dir / "log" / "matching_service.log").read_text()
    second = sign_in(browser, federation, "tom", IDP_THREE)
    assert expected_hashed_pid("stub-idp-three", "tom") in second.text
    log_after = (var_dir / "log" / "matching_service.log").read_text()[len(log_before) :]
    assert "cycle 0" in log_after or "cycle=0" in log_after or "cycle0" in log_after, log_after[-2000:]


def _no_match_after_cycle3(browser, page):
    assert "/cycle3" in page.url, (page.url, page.heading)
    page = browser.submit(page, page.form(button="Continue"), {"cycle3_value": "ZX 99 99 99 D"})
    return return_to_service(browser, page)


def test_unmatched_user_gets_no_match(federation, browser):
    page = start_at_service(browser, federation)
    page = choose(browser, page, IDP_TWO)
    page = at_idp_headless(browser, page, "nora")
    page = _no_match_after_cycle3(browser, page)
    assert "no match" in page.text.lower() or "could not find" in page.text.lower(), page.heading


def test_ambiguous_pair_gives_no_match(federation, browser):
    page = start_at_service(browser, federation)
    page = choose(browser, page, IDP_TWO)
    page = at_idp_headless(browser, page, "david")
    page = _no_match_after_cycle3(browser, page)
    assert "no match" in page.text.lower() or "could not find" in page.text.lower(), page.heading


def test_cancel_at_the_idp_returns_to_the_list_then_another_company_succeeds(federation, browser):
    page = start_at_service(browser, federation)
    page = choose(browser, page, IDP_TWO)
    page = at_idp_headless(browser, page, "alice", outcome="cancel")
    assert "did not finish" in page.heading, page.heading
    page = browser.get(page.link("Back to the list of companies"))
    page = choose(browser, page, IDP_THREE)
    page = at_idp_headless(browser, page, "alice")
    page = return_to_service(browser, page)
    assert expected_hashed_pid("stub-idp-three", "alice") in page.text


def test_authn_failed_reaches_the_service_as_authn_failed(federation, browser):
    page = start_at_service(browser, federation)
    page = choose(browser, page, IDP_TWO)
    page = at_idp_headless(browser, page, "alice", outcome="authn-failed")
    assert "could not prove your identity" in page.heading
    page = return_to_service(browser, page)
    assert "authentication failed" in page.text.lower() or "could not prove" in page.text.lower(), page.heading


def test_level1_returned_to_a_level2_service_is_refused(federation, browser, var_dir):
    page = start_at_service(browser, federation)
    page = choose(browser, page, IDP_TWO)
    page = at_idp_headless(browser, page, "lee")
    assert "higher level" in page.heading, page.heading
    page = return_to_service(browser, page)
    assert "signed in" not in page.text.lower()
    assert "needs a higher level of identity check" in page.heading, page.heading  # as the hub's page said
    assert any(e["event"] == "idp_authn_failed" and "loa" in json.dumps(e) for e in audit_events(var_dir))


def test_matching_service_down(federation, browser):
    federation.stop("matching_service")
    try:
        page = start_at_service(browser, federation)
        page = choose(browser, page, IDP_TWO)
        page = at_idp_headless(browser, page, "alice")
        assert page.status == 502
        assert "could not check your records" in page.heading
        page = return_to_service(browser, page)
        assert "signed in" not in page.text.lower()
    finally:
        federation.start("matching_service")


@pytest.mark.parametrize(
    "outcome,hub_heading,service_heading",
    [
        ("pending", "You have not finished proving your identity", "You have not finished proving your identity"),
        ("uplift-failed", "could not prove your identity", "could not prove your identity"),
        ("requester-error", "Sorry, there was a problem with", "Sorry, there was a problem with the certified company"),
        ("fraud-DF01", "You cannot prove your identity online", "You cannot prove your identity online"),
    ],
)
def test_every_idp_failure_has_a_page_and_a_status_for_the_service(
    federation, browser, outcome, hub_heading, service_heading
):
    page = start_at_service(browser, federation)
    page = choose(browser, page, IDP_TWO)
    page = at_idp_headless(browser, page, "alice", outcome=outcome)
    assert hub_heading in page.heading, page.heading
    page = return_to_service(browser, page)
    assert service_heading in page.heading, page.heading


def test_non_matching_service_receives_the_idp_assertions(federation, browser):
    """A service without a matching service gets the IDP's assertions, re-encrypted for it by the hub; the
    client library shows it its own pairwise identifier, never the PID inside those assertions."""
    page = sign_in(browser, federation, "zoe", IDP_THREE, path="/non-matching/")
    assert "signed in" in page.text.lower(), page.heading
    assert page.doc.get_element_by_id("identifier").text_content() == expected_pairwise_id(
        "stub-idp-three", "zoe", "test-rp-non-matching"
    )
    assert idp_pid("stub-idp-three", "zoe") not in page.text


def test_cycle3_answer_finds_the_record(federation, browser):
    """No match from the IDP's details alone; the National Insurance number the citizen types finds him."""
    page = start_at_service(browser, federation)
    page = choose(browser, page, IDP_TWO)
    page = at_idp_headless(browser, page, "peter")
    assert "/cycle3" in page.url, (page.url, page.heading)
    page = browser.submit(page, page.form(button="Continue"), {"cycle3_value": "not a number"})
    assert page.status == 400 and "/cycle3" in page.url  # the format rule, asked again
    page = browser.submit(page, page.form(button="Continue"), {"cycle3_value": "jw 12 34 56 c"})
    page = return_to_service(browser, page)
    assert expected_hashed_pid("stub-idp-two", "peter") in page.text, page.heading


def test_cycle3_cancelled_reaches_the_service(federation, browser):
    page = start_at_service(browser, federation)
    page = choose(browser, page, IDP_TWO)
    page = at_idp_headless(browser, page, "kofi")
    page = browser.submit(page, page.form(button="I do not have this information"))
    page = return_to_service(browser, page)
    assert "signed in" not in page.text.lower()


def test_account_creation_then_cycle_0_for_the_new_account(federation, browser):
    page = sign_in(browser, federation, "nora", IDP_THREE, path="/new-accounts/")
    assert "created an account" in page.text, page.heading
    assert expected_hashed_pid("stub-idp-three", "nora") in page.text
    again = sign_in(browser, federation, "nora", IDP_THREE, path="/new-accounts/")
    assert expected_hashed_pid("stub-idp-three", "nora") in again.text
    assert "created an account" not in again.text  # matched at cycle 0 this time


def test_metrics_count_journey_events_without_personal_data(federation, browser):
    import requests

    sign_in(browser, federation, "alice", IDP_TWO)
    assert requests.get(federation.urls["HUB_URL"] + "/metrics", timeout=10).status_code == 404  # not for citizens
    body = requests.get(federation.url("hub_operator") + "/metrics", timeout=10).text
    assert "# TYPE hub_journey_events_total counter" in body
    ours = (
        'hub_journey_events_total{event="cycle01_match",idp="https://stub-idp-two.federation.test",'
        'rp="https://test-rp.federation.test"} '
    )
    counts = [float(line[len(ours) :]) for line in body.splitlines() if line.startswith(ours)]
    assert counts and counts[0] >= 1, body
    assert "Alice" not in body and "Evans" not in body


def test_the_citizens_language_goes_from_the_service_to_the_hub_and_on_to_the_company(federation):
    from tests.support.browser_client import BrowserClient

    browser = BrowserClient()  # a new browser: no language cookie anywhere yet
    try:
        page = browser.get(federation.urls["RP_URL"] + "/?lang=cy")
        page = browser.submit(page, page.form(button="Profi pwy ydych chi"))
        page = browser.auto_submit(page)  # the service's AuthnRequest, to the hub with lang=cy
        assert page.url.endswith("/start") and page.doc.xpath("//html/@lang") == ["cy"], page.heading
        page = browser.submit(page, page.form(), {"verified_before": "yes"})
        page = browser.submit(page, page.form(button="Dewis IDP Bonyn Dau"))
        page = browser.auto_submit(page)  # the hub's AuthnRequest, to the company with lang=cy
        assert page.url.endswith("/login") and page.doc.xpath("//html/@lang") == ["cy"], page.heading
    finally:
        browser.http.close()
