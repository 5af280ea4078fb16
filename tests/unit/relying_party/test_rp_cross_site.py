"""The hub on another site: its POST to the ACS arrives without the service's cookie (SameSite=Lax).

The ACS finds the attempt by InResponseTo, verifies the Response and parks the outcome under a one-time
key; the GET it redirects to carries the cookie and applies the outcome only to the session that started
the attempt. These tests take the browser's part: the POST is sent without the cookie, as Chrome does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import pytest
from rp_support import (
    HASHED_PID,
    hub_response,
    idp_assertions,
    matching_service_assertion,
    now,
    start_sign_in,
)

from federation.moved_journey import MOVED_JOURNEY_PARAMETER, MOVED_JOURNEY_PATH, issue_statement
from federation.runtime import Runtime
from relying_party_example.app import HUB_TIMED_OUT_SESSION_KEPT, create_app
from relying_party_example.sign_ins import ANSWER_TTL_SECONDS
from relying_party_example.store import MemoryStore
from tests.support.hand_clock import HandClock

COOKIE = "rp_session"
ACS = "/SAML2/SSO/POST"


@contextmanager
def without_the_cookie(client) -> Iterator[None]:
    """A cross-site POST: the browser holds the SameSite=Lax cookie but does not send it."""
    cookie = client.get_cookie(COOKIE)
    client.delete_cookie(COOKIE)
    try:
        yield
    finally:
        if cookie is not None:
            client.set_cookie(COOKIE, cookie.value)


def hub_posts(client, sign_in, saml: str, *, relay_state: str | None = None, acs: str = ACS):
    """The hub's page POSTs its Response cross-site; returns the ACS's answer (not followed)."""
    with without_the_cookie(client):
        return client.post(acs, data={"SAMLResponse": saml, "RelayState": relay_state or sign_in.relay_state})


def matched_response(fed, sign_in) -> str:
    assertion = matching_service_assertion(fed, in_response_to=sign_in.request_id)
    return hub_response(fed, fed.matching_rp, in_response_to=sign_in.request_id, assertions=[assertion])


def signed_in(client, prefix: str = "") -> bool:
    return client.get(f"{prefix}/signed-in").status_code == 200


def asks_the_hub(response, fed) -> dict[str, str]:
    """The continue GET in a browser that did not start: a 303 to the hub's question; its parameters."""
    assert response.status_code == 303, response.get_data(as_text=True)
    url = urlsplit(response.headers["Location"])
    assert f"{url.scheme}://{url.netloc}" == fed.config.hub.base_url.rstrip("/") and url.path == MOVED_JOURNEY_PATH
    return {name: values[0] for name, values in parse_qs(url.query).items()}


def hub_says(client, fed, asked: dict[str, str], *, moved: bool, credential=None, **changes):
    """The hub's signed statement arrives at the ACS as a GET in `client` (the browser it was given to)."""
    fields = {"request_id": asked["request"], "nonce": asked["nonce"], **changes}
    statement = issue_statement(
        credential or fed.hub.signing,
        hub_entity_id=fed.config.hub.entity_id,
        service=asked["service"],
        moved=moved,
        now=now(),
        **fields,
    )
    return client.get(ACS, query_string={MOVED_JOURNEY_PARAMETER: statement})


def assert_start_again(response, caplog, reason: str) -> None:
    page = response.get_data(as_text=True)
    assert response.status_code == 400, page
    assert 'id="problem-no_attempt"' in page and 'id="start-again"' in page  # a clear page, and a way on
    assert "Traceback" not in page
    assert f"reason={reason}" in caplog.text


def test_the_hubs_cross_site_post_signs_in_the_browser_that_started(client, fed, caplog):
    caplog.set_level(logging.INFO)
    sign_in = start_sign_in(client)
    response = hub_posts(client, sign_in, matched_response(fed, sign_in))
    assert response.status_code == 303, response.get_data(as_text=True)
    continue_url = response.headers["Location"]
    assert continue_url.startswith(f"{ACS}/continue?key=")
    applied = client.get(continue_url)  # a top-level GET: the cookie is sent
    assert applied.status_code == 303 and applied.headers["Location"] == "/signed-in"
    page = client.get("/signed-in").get_data(as_text=True)
    assert f'id="identifier">{HASHED_PID}<' in page
    key = continue_url.split("key=")[1]
    assert key not in caplog.text and HASHED_PID not in caplog.text  # the log has neither


def test_the_answer_is_not_applied_before_the_continue_step(client, fed):
    sign_in = start_sign_in(client)
    hub_posts(client, sign_in, matched_response(fed, sign_in))
    assert not signed_in(client)


def test_a_response_posted_from_another_browser_is_never_applied(app, fed, caplog):
    """Login CSRF both ways: the attempt's Response brought to a browser that did not start it."""
    started, other = app.test_client(), app.test_client()
    other.get("/")  # the other browser has a session of its own
    sign_in = start_sign_in(started)
    response = hub_posts(other, sign_in, matched_response(fed, sign_in))
    assert response.status_code == 303
    continue_url = response.headers["Location"]
    asked = asks_the_hub(other.get(continue_url), fed)  # did the citizen move the journey to this browser?
    assert asked["service"] == fed.matching_rp.entity_id and asked["request"] == sign_in.request_id
    assert_start_again(hub_says(other, fed, asked, moved=False), caplog, "answer-brought-to-another-session")
    assert not signed_in(other)
    # destroyed, not left for later: the browser that started the attempt cannot use it either
    assert_start_again(started.get(continue_url), caplog, "no-answer-for-this-key")
    assert not signed_in(started)
    # and the attempt was answered once: the same Response posted again finds nothing
    assert_start_again(hub_posts(started, sign_in, matched_response(fed, sign_in)), caplog, "no-sign-in-attempt")


def test_a_continue_without_any_cookie_is_refused_and_destroys_the_answer(app, client, fed, caplog):
    sign_in = start_sign_in(client)
    continue_url = hub_posts(client, sign_in, matched_response(fed, sign_in)).headers["Location"]
    no_cookie = app.test_client()
    asked = asks_the_hub(no_cookie.get(continue_url), fed)
    assert_start_again(hub_says(no_cookie, fed, asked, moved=False), caplog, "answer-brought-to-another-session")
    assert_start_again(client.get(continue_url), caplog, "no-answer-for-this-key")
    assert not signed_in(client)


def moved_to(app, client, fed):
    """The citizen started on `client` and moved the journey: the phone, asked-about, and the question."""
    sign_in = start_sign_in(client)
    continue_url = hub_posts(client, sign_in, matched_response(fed, sign_in)).headers["Location"]
    phone = app.test_client()  # never visited the service
    return phone, asks_the_hub(phone.get(continue_url), fed)


def test_the_browser_the_hub_says_the_journey_moved_to_is_signed_in_there_once(app, client, fed, caplog):
    caplog.set_level(logging.INFO)
    phone, asked = moved_to(app, client, fed)
    applied = hub_says(phone, fed, asked, moved=True)
    assert applied.status_code == 303 and applied.headers["Location"] == "/signed-in"
    assert f'id="identifier">{HASHED_PID}<' in phone.get("/signed-in").get_data(as_text=True)
    assert not signed_in(client)  # the laptop that started is not signed in by it
    assert asked["nonce"] not in caplog.text and HASHED_PID not in caplog.text
    assert_start_again(hub_says(phone, fed, asked, moved=True), caplog, "moved-journey-unknown-nonce")  # once


def test_the_hubs_yes_in_another_browser_is_worth_nothing(app, client, fed, caplog):
    phone, asked = moved_to(app, client, fed)
    elsewhere = app.test_client()
    assert_start_again(hub_says(elsewhere, fed, asked, moved=True), caplog, "moved-journey-other-browser")
    assert not signed_in(elsewhere) and not signed_in(phone)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"request_id": "_another-request"}, "moved-journey-unknown-nonce"),
        ({"nonce": "N" * 43}, "moved-journey-unknown-nonce"),
        ({"signed_by_another": True}, "moved-journey-jwt-"),
        ({"for_another_service": True}, "moved-journey-jwt-claim-"),
    ],
    ids=["other-request", "other-nonce", "not-the-hubs-key", "other-service"],
)
def test_a_statement_that_is_not_the_hubs_answer_to_this_question_is_refused(app, client, fed, caplog, changes, reason):
    phone, asked = moved_to(app, client, fed)
    credential = fed.idp_two.signing if changes.pop("signed_by_another", False) else None
    if changes.pop("for_another_service", False):
        asked = {**asked, "service": fed.non_matching_rp.entity_id}
    response = hub_says(phone, fed, asked, moved=True, credential=credential, **changes)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="start-again"' in page and "Traceback" not in page  # a way on
    assert f"reason={reason}" in caplog.text
    assert not signed_in(phone)


def test_the_continue_key_is_used_once(client, fed, caplog):
    sign_in = start_sign_in(client)
    continue_url = hub_posts(client, sign_in, matched_response(fed, sign_in)).headers["Location"]
    assert client.get(continue_url).status_code == 303
    assert_start_again(client.get(continue_url), caplog, "no-answer-for-this-key")
    assert signed_in(client)  # the first use stands


@pytest.mark.parametrize("query", ["", "?key=", "?key=not-a-key", "?key=" + "A" * 43, "?key=%00%ff"])
def test_a_continue_with_no_or_an_unknown_key_gets_a_clear_page(client, caplog, query):
    client.get("/")
    assert_start_again(client.get(f"{ACS}/continue{query}"), caplog, "no-answer-for-this-key")


def test_a_key_parked_for_one_service_does_not_work_at_another(client, fed, caplog):
    sign_in = start_sign_in(client)
    continue_url = hub_posts(client, sign_in, matched_response(fed, sign_in)).headers["Location"]
    response = client.get("/non-matching" + continue_url)
    assert_start_again(response, caplog, "no-answer-for-this-key")
    assert not signed_in(client, "/non-matching")


def test_the_relay_state_is_checked_on_the_cross_site_post(client, fed, caplog):
    sign_in = start_sign_in(client)
    response = hub_posts(client, sign_in, matched_response(fed, sign_in), relay_state="another-relay-state")
    assert response.status_code == 400 and 'id="problem-bad_response"' in response.get_data(as_text=True)
    assert "reason=relay-state-mismatch" in caplog.text
    # one answer per attempt: the attempt is gone, the genuine RelayState no longer helps
    assert_start_again(hub_posts(client, sign_in, matched_response(fed, sign_in)), caplog, "no-sign-in-attempt")
    assert not signed_in(client)


def test_a_response_for_the_non_matching_service_works_cross_site(client, fed):
    sign_in = start_sign_in(client, "/non-matching")
    saml = hub_response(fed, fed.non_matching_rp, in_response_to=sign_in.request_id, assertions=idp_assertions(fed))
    response = hub_posts(client, sign_in, saml, acs="/non-matching/SAML2/SSO/POST")
    assert response.headers["Location"].startswith("/non-matching/SAML2/SSO/POST/continue?key=")
    assert client.get(response.headers["Location"]).headers["Location"] == "/non-matching/signed-in"
    assert signed_in(client, "/non-matching")


def test_a_response_that_is_not_xml_or_names_no_request_is_refused(client, fed, caplog):
    sign_in = start_sign_in(client)
    for saml in ("PHg+PC94Pg==", "bm90IHhtbA=="):  # <x></x>, and "not xml"
        response = hub_posts(client, sign_in, saml)
        assert response.status_code == 400, response.get_data(as_text=True)
        assert "Traceback" not in response.get_data(as_text=True)
    assert "reason=no-in-response-to" in caplog.text


def test_no_other_site_is_sent_the_continue_url_as_referer(client, fed):
    sign_in = start_sign_in(client)
    response = hub_posts(client, sign_in, matched_response(fed, sign_in))
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer")
    applied = client.get(response.headers["Location"])
    assert applied.headers["Referrer-Policy"] in ("same-origin", "no-referrer")


@pytest.fixture
def clocked(fed, keys_dir, federation_config, tmp_path):
    """The service on a store whose clock the test moves."""
    clock = HandClock(1000.0)
    runtime = Runtime(config=federation_config, keys_dir=keys_dir, var_dir=tmp_path, environ={"RP_SECRET_KEY": "s"})
    app = create_app(runtime, metadata_fetch=lambda url, timeout: fed.metadata, store=MemoryStore(clock=clock))
    yield app, clock
    app.extensions["relying_party_example"]["metadata"].stop()


def test_a_parked_answer_expires_quickly(clocked, fed, caplog):
    app, clock = clocked
    client = app.test_client()
    sign_in = start_sign_in(client)
    continue_url = hub_posts(client, sign_in, matched_response(fed, sign_in)).headers["Location"]
    clock.now += ANSWER_TTL_SECONDS
    assert_start_again(client.get(continue_url), caplog, "no-answer-for-this-key")
    assert not signed_in(client)


def test_an_attempt_lasts_as_long_as_the_hub_may_answer_it(clocked, fed, federation_config, caplog):
    """A hub session's lifetime, and the time the hub still answers it once timed out."""
    app, clock = clocked
    client = app.test_client()
    config = federation_config
    lifetime = (config.session_lifetime + config.clock_skew + HUB_TIMED_OUT_SESSION_KEPT).total_seconds()
    first = start_sign_in(client)
    clock.now += lifetime - 1
    response = hub_posts(client, first, matched_response(fed, first))
    assert client.get(response.headers["Location"]).status_code == 303 and signed_in(client)
    second = start_sign_in(client)
    clock.now += lifetime
    assert_start_again(hub_posts(client, second, matched_response(fed, second)), caplog, "no-sign-in-attempt")
