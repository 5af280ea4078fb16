"""Two hub processes share one Redis (ARCHITECTURE section 7): one journey alternates between them, a
message replayed to the other process is refused there, and a hub killed mid-journey loses nothing.

Both processes run with the same config and environment, so both believe HUB_URL is the first one's
public URL (as behind a load balancer). The IDP and the service post to that URL; the test moves the
requests it drives itself (the citizen's pages and the IDP's Response) to the second process.
"""

from __future__ import annotations

import hashlib
import re
import threading

import pytest
import redis
import requests

from federation import xmlsecurity
from federation.replay_cache import RedisReplayCache
from federation.saml.bindings import decode_post
from federation.saml.constants import SAML_NS, q
from tests.e2e.journey import IDP_TWO, expected_hashed_pid, return_to_service, start_at_service
from tests.faults.faults_support import (
    SHARED_REDIS_URL,
    form_fields,
    log_text,
    running_federation,
    shared_hub_env,
    wait_for,
    with_port,
)
from tests.support.browser_client import BrowserClient, Page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def federation(shared_redis_prefix, keys_dir, tmp_path_factory):
    env = {"REDIS_URL": SHARED_REDIS_URL, "HUB_REDIS_PREFIX": shared_redis_prefix, **shared_hub_env()}
    with running_federation(tmp_path_factory.mktemp("two-hubs"), keys_dir, **env) as running:
        running.start_extra("hub", name="hub-2")
        yield running


def _idp_answer(browser: BrowserClient, to_idp: Page, username: str) -> Page:
    """The stub IDP's page that auto-posts its signed Response to the hub (not yet posted)."""
    return browser.auto_submit(to_idp, action_suffix="/headless", extra={"username": username, "outcome": "success"})


def _post_idp_response(browser: BrowserClient, idp_page: Page, hub: str) -> Page:
    form = idp_page.form(auto=True)
    return browser.post(with_port(form.get("action"), hub), dict(form_fields(form)), from_url=idp_page.url)


def test_one_journey_alternating_between_two_hub_processes(federation, browser):
    hub_1, hub_2 = federation.url("hub"), federation.url("hub-2")
    assert hub_1 != hub_2
    page = start_at_service(browser, federation)  # the service's AuthnRequest reaches hub 1
    assert page.url.startswith(hub_1)
    page = browser.post(hub_2 + "/start", {**form_fields(page.form()), "verified_before": "yes"})
    assert page.url == hub_2 + "/choose-a-certified-company", (page.url, page.heading)
    choice = page.form(button=f"Choose {IDP_TWO}")
    to_idp = browser.post(hub_1 + "/choose-a-certified-company", dict(form_fields(choice)))
    assert to_idp.status == 200 and to_idp.url.startswith(hub_1), (to_idp.url, to_idp.heading)
    idp_page = _idp_answer(browser, to_idp, "alice")
    form = idp_page.form(auto=True)
    # the IDP's cross-site POST (no cookie) to hub 2; the citizen's next page is then fetched from hub 1
    consumed = requests.post(
        with_port(form.get("action"), hub_2), data=dict(form_fields(form)), allow_redirects=False, timeout=30
    )
    location = consumed.headers["Location"]
    assert consumed.status_code == 303 and "/journey/identity-provider-answer?key=" in location, location
    # the answer parked by hub 2 is applied by hub 1, in the browser that holds the journey
    page = browser.get(hub_1 + location[location.index("/journey/") :])
    assert page.status == 200 and page.url == hub_1 + "/journey/result", (page.status, page.url, page.heading)
    page = return_to_service(browser, page)  # matched: the hub posts its Response to the service
    assert "signed in" in page.text.lower(), page.heading
    assert expected_hashed_pid("stub-idp-two", "alice") in page.text

    # the same Response again, now to the other process: refused (the request has had its answer)
    replayed = _post_idp_response(browser, idp_page, hub_1)
    assert replayed.status == 400
    assert "idp response refused: idp-request-already-answered" in log_text(federation, "hub")


def test_result_and_return_pages_on_the_other_process(federation, browser):
    """An outcome that needs the citizen's click (authentication failed) shown by one process, the way
    back to the service taken on the other."""
    hub_1, hub_2 = federation.url("hub"), federation.url("hub-2")
    page = start_at_service(browser, federation)
    page = browser.submit(page, page.form(), {"verified_before": "yes"})
    to_idp = browser.submit(page, page.form(button=f"Choose {IDP_TWO}"))
    idp_page = browser.auto_submit(
        to_idp, action_suffix="/headless", extra={"username": "alice", "outcome": "authn-failed"}
    )
    page = _post_idp_response(browser, idp_page, hub_2)
    assert page.url == hub_2 + "/journey/result" and "could not prove your identity" in page.heading
    page = browser.get(hub_1 + "/journey/result")
    assert "could not prove your identity" in page.heading
    back = page.form(button="Return to")
    page = browser.post(hub_2 + "/journey/return-to-service", dict(form_fields(back)))
    page = browser.auto_submit(page)
    assert "signed in" not in page.text.lower()
    assert "authentication failed" in page.text.lower() or "could not prove" in page.text.lower(), page.heading


def test_authn_request_replayed_to_the_other_process_is_refused(federation, browser):
    """The same form again to the other process: the browser's own journey continues while it has not
    begun; once a company is chosen, the form is refused there, from any browser."""
    page = browser.get(federation.urls["RP_URL"] + "/")
    rp_page = browser.submit(page, page.form(button="Prove your identity"))
    form = rp_page.form(auto=True)
    first = browser.post(with_port(form.get("action"), federation.url("hub")), dict(form_fields(form)))
    assert first.url.endswith("/start")
    cookie = browser.http.cookies.get("hub_session")
    again = browser.post(with_port(form.get("action"), federation.url("hub-2")), dict(form_fields(form)))
    assert again.status == 200 and again.url.endswith("/start"), (again.status, again.heading)
    assert browser.http.cookies.get("hub_session") == cookie, "the same journey, not a second one"
    assert "authn request sent again by the browser of its journey: continued" in log_text(federation, "hub-2")
    page = browser.submit(again, again.form(), {"verified_before": "yes"})
    browser.submit(page, page.form(button=f"Choose {IDP_TWO}"))
    replayed = BrowserClient().post(with_port(form.get("action"), federation.url("hub-2")), dict(form_fields(form)))
    assert replayed.status == 400
    assert "authn request refused: request-id-replayed" in log_text(federation, "hub-2")


def test_idp_response_posted_to_both_processes_at_once_is_accepted_once(federation):
    """The lock on the request answered (in Redis) checks the two posts one after the other: exactly one
    winner, and the loser refuses the Response. Which check refuses it depends on timing (the replay cache,
    as an answer was parked for the request, or the request already having had its answer), so the race is
    run a few times and each refusal must be one of those."""
    hubs = (federation.url("hub"), federation.url("hub-2"))
    reasons = set()
    for _attempt in range(4):
        before = {name: len(log_text(federation, name)) for name in ("hub", "hub-2")}
        browsers = (BrowserClient(), BrowserClient())
        try:
            page = start_at_service(browsers[0], federation)
            page = browsers[0].submit(page, page.form(), {"verified_before": "yes"})
            to_idp = browsers[0].submit(page, page.form(button=f"Choose {IDP_TWO}"))
            idp_page = _idp_answer(browsers[0], to_idp, "alice")
            browsers[1].http.cookies.update(browsers[0].http.cookies)  # the same citizen, two tabs
            barrier, results = threading.Barrier(2), [None, None]

            def post(i: int, idp_page=idp_page, barrier=barrier, results=results, browsers=browsers) -> None:
                barrier.wait(timeout=10)
                results[i] = _post_idp_response(browsers[i], idp_page, hubs[i])

            threads = [threading.Thread(target=post, args=(i,)) for i in (0, 1)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
        finally:
            for client in browsers:
                client.http.close()
        statuses = sorted(r.status for r in results)
        assert statuses == [200, 400], [(r.url, r.status, r.heading) for r in results]
        loser = ("hub", "hub-2")[[r.status for r in results].index(400)]
        assert wait_for(lambda: "idp response refused" in log_text(federation, loser)[before[loser] :], timeout=5)
        refusal = log_text(federation, loser)[before[loser] :]
        found = set(re.findall(r"idp response refused: ([a-z-]+)", refusal))
        assert found and found <= {"response-replayed", "assertion-replayed", "idp-request-already-answered"}, found
        reasons |= found
    print(f"\nrefusals of the race's loser: {sorted(reasons)}")


def test_hub_killed_and_restarted_mid_journey(federation, browser):
    page = start_at_service(browser, federation)
    page = browser.submit(page, page.form(), {"verified_before": "yes"})
    to_idp = browser.submit(page, page.form(button=f"Choose {IDP_TWO}"))
    federation.kill("hub")
    federation.start("hub")  # same port, same keys; the session is in Redis
    idp_page = _idp_answer(browser, to_idp, "alice")
    page = browser.auto_submit(idp_page)  # to HUB_URL: the restarted process
    page = return_to_service(browser, page)
    assert "signed in" in page.text.lower(), page.heading
    assert expected_hashed_pid("stub-idp-two", "alice") in page.text


def test_idp_disabled_since_selection_is_refused(federation, browser, tmp_path):
    """The operator disables a company while a citizen is with it: a hub process started with the new
    config (sharing the session through Redis) refuses that company's answer, and the citizen can choose
    another company."""
    from federation.demo import DEMO_CONFIG

    text = DEMO_CONFIG.read_text()
    marker = "  - name: stub-idp-two\n"
    head, tail = text.split(marker, 1)
    tail = tail.replace("    enabled: true\n", "    enabled: false\n", 1)
    changed = tmp_path / "federation.yaml"
    changed.write_text(head + marker + tail)
    hub_3 = federation.start_extra("hub", name="hub-3", extra_env={"FEDERATION_CONFIG": str(changed)})
    try:
        page = start_at_service(browser, federation)
        page = browser.post(federation.url("hub") + "/start", {**form_fields(page.form()), "verified_before": "yes"})
        to_idp = browser.submit(page, page.form(button=f"Choose {IDP_TWO}"))
        idp_page = _idp_answer(browser, to_idp, "alice")
        refused = _post_idp_response(browser, idp_page, hub_3)
        assert refused.status == 400, (refused.status, refused.heading)
        assert wait_for(lambda: "idp response refused: idp-no-longer-allowed" in log_text(federation, "hub-3"))
        page = browser.get(refused.link("Start again"))  # back to the company list, on hub 3
        assert IDP_TWO not in page.text and "Stub IDP Three" in page.text, page.heading
    finally:
        federation.stop("hub-3")


def _dead_process_claimed(prefix: str, idp_page: Page, journey_id: str) -> None:
    """Record the IDP's Response in the hub's replay cache as a hub process does just before it parks the
    answer, as if that process had then died (the claim is written, nothing is parked)."""
    form = idp_page.form(auto=True)
    root = xmlsecurity.parse_xml(decode_post(form_fields(form)["SAMLResponse"]))
    issuer = root.findtext(q(SAML_NS, "Issuer")).strip()
    fingerprint = hashlib.sha256(xmlsecurity.to_bytes(root)).hexdigest()
    binding = hashlib.sha256(b"idp-response-journey\x00" + journey_id.encode()).hexdigest()
    with redis.Redis.from_url(SHARED_REDIS_URL) as client:
        claim = RedisReplayCache(client, key_prefix=prefix).claim(
            "idp-response", f"{issuer} {root.get('ID')}", fingerprint, 600, binding=binding
        )
    assert claim.first


def test_idp_response_posted_again_after_the_hub_died_before_parking_it(federation, browser, shared_redis_prefix):
    """The hub recorded the Response's ID, then died before parking its answer (the browser got a 502):
    the citizen's browser posts the same Response again, and the journey goes on."""
    page = start_at_service(browser, federation)
    journey_id = browser.http.cookies.get("hub_session")  # the session's first ID names its journey
    page = browser.submit(page, page.form(), {"verified_before": "yes"})
    to_idp = browser.submit(page, page.form(button=f"Choose {IDP_TWO}"))
    idp_page = _idp_answer(browser, to_idp, "alice")
    _dead_process_claimed(shared_redis_prefix, idp_page, journey_id)
    page = _post_idp_response(browser, idp_page, federation.url("hub-2"))
    assert page.status == 200 and page.url.endswith("/journey/result"), (page.status, page.url, page.heading)
    assert "a retry (idp-response)" in log_text(federation, "hub-2")
    page = return_to_service(browser, page)
    assert expected_hashed_pid("stub-idp-two", "alice") in page.text, page.heading
    # spent now: the same Response again is refused, from this browser or any other
    assert _post_idp_response(BrowserClient(), idp_page, federation.url("hub")).status == 400


def test_another_response_under_a_claimed_id_is_a_replay(federation, browser, shared_redis_prefix):
    page = start_at_service(browser, federation)
    journey_id = browser.http.cookies.get("hub_session")
    page = browser.submit(page, page.form(), {"verified_before": "yes"})
    to_idp = browser.submit(page, page.form(button=f"Choose {IDP_TWO}"))
    idp_page = _idp_answer(browser, to_idp, "alice")
    _dead_process_claimed(shared_redis_prefix, idp_page, "another journey " + journey_id)
    refused = _post_idp_response(browser, idp_page, federation.url("hub-2"))
    assert refused.status == 400
    assert "idp response refused: response-replayed" in log_text(federation, "hub-2")
