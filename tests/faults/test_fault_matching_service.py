"""A faulty matching service: too slow, answering garbage, an unsigned or wrongly signed Response. The
citizen gets the "could not check your records" page (502) and the service an error status.

The faulty partner is a small HTTP server in this test process, standing in for a department's matching
service that misbehaves. The federation runs from a copy of the demo config whose matching service
`attribute_query_url` points at it and whose `matching_service_timeout_seconds` is 1. A well-behaved answer
from the same server (a correctly signed no-match) is tried first, to show the faults are what fails.

Every service here runs with one run slot (`SERVE_SLOTS=1`, federation.run_slots): a request that waits on
the matching service, or on the lock of a journey whose query is in flight, must give it up meanwhile.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from federation import xmlsecurity
from federation.credentials import load_signing_credential
from federation.demo import DEMO_CONFIG
from federation.saml import constants as c
from federation.saml import soap
from federation.saml.constants import DS_NS, q
from federation.saml.response import Status, build_response
from tests.e2e.journey import IDP_TWO, at_idp_headless, choose, return_to_service, start_at_service
from tests.faults.faults_support import form_fields, log_text, running_federation, wait_for
from tests.support.browser_client import BrowserClient

pytestmark = pytest.mark.e2e

MS_ENTITY = "https://test-rp-ms.federation.test"
SLOW_SECONDS = 4.0
DELAY_SECONDS = 0.6  # under the 1 s timeout this module's federation is given
NO_MATCH = Status(c.STATUS_RESPONDER, c.STATUS_NO_MATCH)


class FaultyMatchingService:
    """Answers the hub's AttributeQuery according to `mode`; counts the queries it was sent."""

    def __init__(self, keys_dir: Path) -> None:
        self.mode = "valid"
        self.queries = 0
        self.let_go = threading.Event()  # mode "held": the answer waits for this
        self.ms_key = load_signing_credential(keys_dir / "test-rp-ms-signing.key", keys_dir / "test-rp-ms-signing.crt")
        self.idp_key = load_signing_credential(
            keys_dir / "stub-idp-one-signing.key", keys_dir / "stub-idp-one-signing.crt"
        )
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                fake.queries += 1
                status, payload = fake.answer(body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/xml; charset=utf-8")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the hub gave up waiting, as it should

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/matching-service/POST"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, body: bytes) -> tuple[int, bytes]:
        if self.mode == "slow":
            time.sleep(SLOW_SECONDS)
        if self.mode == "delayed":  # slow, but within the hub's timeout: a query in flight for a while
            time.sleep(DELAY_SECONDS)
        if self.mode == "held":  # answers when the test says so (or the hub has given up)
            self.let_go.wait(SLOW_SECONDS)
        if self.mode == "garbage":
            return 200, b"this is not a SOAP envelope"
        query_id = soap.unwrap(body).get("ID")
        signer = self.idp_key if self.mode == "wrong-signer" else self.ms_key
        response = build_response(
            issuer=MS_ENTITY, in_response_to=query_id, status=NO_MATCH, credential=signer, now=_now()
        )
        if self.mode == "unsigned":
            response.remove(response.find(q(DS_NS, "Signature")))
        assert xmlsecurity.has_signature(response) == (self.mode != "unsigned")
        return 200, soap.wrap(response)

    def __enter__(self) -> FaultyMatchingService:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def faulty_ms(keys_dir) -> Iterator[FaultyMatchingService]:
    with FaultyMatchingService(keys_dir) as server:
        yield server


@pytest.fixture(scope="module")
def federation(faulty_ms, keys_dir, tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("faulty-ms")
    text = DEMO_CONFIG.read_text()
    original_url = "attribute_query_url: ${MS_URL:-http://127.0.0.1:8082}/matching-service/POST"
    assert original_url in text and "matching_service_timeout_seconds: 5" in text
    text = text.replace(original_url, f"attribute_query_url: {faulty_ms.url}")
    text = text.replace("matching_service_timeout_seconds: 5", "matching_service_timeout_seconds: 1")
    config = var_dir / "federation-faulty-ms.yaml"
    config.write_text(text)
    with running_federation(var_dir, keys_dir, FEDERATION_CONFIG=str(config), SERVE_SLOTS="1") as running:
        yield running


def _to_matching(browser, federation):
    page = start_at_service(browser, federation)
    page = choose(browser, page, IDP_TWO)
    return at_idp_headless(browser, page, "alice")


def test_a_correctly_signed_answer_from_the_stand_in_is_accepted(federation, faulty_ms, browser):
    faulty_ms.mode = "valid"
    page = _to_matching(browser, federation)
    assert page.status == 200 and "/cycle3" in page.url, (page.url, page.heading)  # no-match: cycle 3


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("slow", "request failed: timeout"),
        ("garbage", "request failed: bad-response:"),
        ("unsigned", "request failed: bad-response:signature-missing"),
        ("wrong-signer", "request failed: bad-response:"),
    ],
)
def test_faulty_matching_service_gives_502_and_an_error_to_the_service(federation, faulty_ms, browser, mode, reason):
    faulty_ms.mode = mode
    queries_before, log_before = faulty_ms.queries, len(log_text(federation, "hub"))
    started = time.monotonic()
    page = _to_matching(browser, federation)
    elapsed = time.monotonic() - started
    assert faulty_ms.queries == queries_before + 1
    assert page.status == 502, (page.status, page.heading)
    assert "could not check your records" in page.heading
    if mode == "slow":
        assert elapsed < SLOW_SECONDS - 0.5, f"the hub waited {elapsed:.1f} s for a 1 s timeout"
    assert wait_for(lambda: reason in log_text(federation, "hub")[log_before:], timeout=5), log_text(federation, "hub")[
        log_before:
    ][-2000:]
    page = return_to_service(browser, page)  # the hub's Responder status reaches the service
    assert 'id="outcome-authentication_failed"' in page.text, page.heading  # the status: AuthnFailed
    assert 'data-return-code="matching_unavailable"' in page.text  # the return code: why, as the hub said
    assert "could not check your records" in page.heading


# --- one query in flight per journey -------------------------------------------------------------------------


def _at_cycle3(federation, faulty_ms, browser):
    faulty_ms.mode = "valid"
    page = _to_matching(browser, federation)
    assert "/cycle3" in page.url, (page.url, page.heading)
    return {**form_fields(page.form(button="Continue")), "cycle3_value": "AB 12 34 56 C"}


def _same_browser(browser: BrowserClient) -> BrowserClient:
    """Another connection of the same browser (another tab): the same cookies."""
    tab = BrowserClient()
    tab.http.cookies.update(browser.http.cookies)
    return tab


def _all_at_once(*calls):
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait(timeout=10)
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_cycle3_answers_sent_at_once_reach_the_matching_service_once(federation, faulty_ms, browser):
    fields = _at_cycle3(federation, faulty_ms, browser)
    cycle3 = federation.url("hub") + "/cycle3"
    tabs = [_same_browser(browser), _same_browser(browser)]
    faulty_ms.mode = "delayed"
    before = faulty_ms.queries
    try:
        pages = _all_at_once(*(lambda tab=tab: tab.post(cycle3, fields) for tab in tabs))
    finally:
        for tab in tabs:
            tab.http.close()
    assert faulty_ms.queries == before + 1, "the cycle 3 query was sent more than once"
    for page in pages:  # both get the outcome of the one query: no match (the stand-in says so)
        assert page.status == 200 and "could not find your records" in page.heading, (page.status, page.heading)


def test_a_reload_or_second_submit_while_the_query_is_in_flight_gets_a_page(federation, faulty_ms, browser):
    fields = _at_cycle3(federation, faulty_ms, browser)
    hub = federation.url("hub")
    tabs = [_same_browser(browser) for _ in range(3)]
    faulty_ms.mode = "delayed"
    before = faulty_ms.queries

    def submit():
        return tabs[0].post(hub + "/cycle3", fields)

    def reload_later():
        time.sleep(DELAY_SECONDS / 3)  # while the first submit's query is in flight
        return tabs[1].get(hub + "/journey/result")

    def resubmit_later():
        time.sleep(DELAY_SECONDS / 3)
        return tabs[2].post(hub + "/cycle3", fields)

    try:
        pages = _all_at_once(submit, reload_later, resubmit_later)
    finally:
        for tab in tabs:
            tab.http.close()
    assert faulty_ms.queries == before + 1
    for page in pages:
        assert page.status < 500, (page.url, page.status, page.heading)
        assert "could not find your records" in page.heading, (page.url, page.heading)


def test_other_citizens_are_served_while_a_query_waits_on_the_matching_service(federation, faulty_ms, browser):
    """The hub's one run slot is free while its request waits for the matching service's answer."""
    faulty_ms.mode, faulty_ms.let_go = "held", threading.Event()
    before, waiting = faulty_ms.queries, {}
    first = threading.Thread(target=lambda: waiting.setdefault("page", _to_matching(browser, federation)))
    first.start()
    try:
        assert wait_for(lambda: faulty_ms.queries == before + 1), "the query never reached the matching service"
        other = BrowserClient()
        page = start_at_service(other, federation)  # the service, then the hub's request and start pages
        answered_while_waiting = "page" not in waiting
        assert page.status == 200 and "/start" in page.url, (page.url, page.status)
        assert answered_while_waiting, "another citizen's pages waited for the matching service"
        assert 'name="verified_before"' in page.text  # the hub's start question
    finally:
        faulty_ms.let_go.set()
        first.join(timeout=30)
    # the held query's answer (no match: on to cycle 3), or, on a machine too busy to answer within the
    # hub's 1 s, the page that says the records could not be checked: a page either way
    assert "/cycle3" in waiting["page"].url or "could not check your records" in waiting["page"].heading
