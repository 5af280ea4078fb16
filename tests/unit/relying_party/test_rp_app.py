"""The example service end to end in-process: /start, the hub's Response POSTed to the ACS, the pages."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from rp_support import (
    HASHED_PID,
    IDP_PID,
    account_creation_attributes,
    hub_response,
    idp_assertions,
    matching_service_assertion,
    start_sign_in,
)

from federation.loa import LevelOfAssurance
from federation.saml import Status, parse_authn_request
from federation.saml import constants as c
from federation.saml.hashed_pid import hashed_pid

NON_MATCHING = "/non-matching"


def post_to_acs(client, url: str, saml_response: str, relay_state: str):
    return client.post(url, data={"SAMLResponse": saml_response, "RelayState": relay_state})


def signed_in_page(client, response, prefix: str = "") -> str:
    """The ACS's 303 to its one-time continue URL, then that URL's 303 to the signed-in page."""
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].startswith(f"{prefix}/SAML2/SSO/POST/continue?key=")
    applied = client.get(response.headers["Location"])
    assert applied.status_code == 303, applied.get_data(as_text=True)
    assert applied.headers["Location"] == f"{prefix}/signed-in"
    page = client.get(f"{prefix}/signed-in")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def test_healthcheck(client):
    response = client.get("/healthcheck")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "metadata": "ready"}


@pytest.mark.parametrize(("lang", "button"), [("en", "Prove your identity"), ("cy", "Profi pwy ydych chi")])
def test_service_page_has_a_start_button_in_both_languages(client, lang, button):
    page = client.get(f"/?lang={lang}").get_data(as_text=True)
    assert button in page
    assert "govuk-button--start" in page
    assert 'action="/start"' in page
    assert f'lang="{lang}"' in page


def test_session_cookie_is_httponly_and_samesite_lax(client):
    response = client.get("/")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("rp_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize(("prefix", "rp_name"), [("", "test-rp"), (NON_MATCHING, "test-rp-non-matching")])
def test_start_sends_a_signed_authn_request_to_the_hub_sso(client, fed, prefix, rp_name):
    rp = next(rp for rp in fed.config.relying_parties if rp.name == rp_name)
    sign_in = start_sign_in(client, prefix)
    hub_sso = fed.config.hub.sso_url
    assert sign_in.action == hub_sso + "?lang=en"  # the citizen's language goes to the hub
    request = parse_authn_request(
        sign_in.authn_request,
        certificates_for_issuer=lambda issuer: [fed.rp.signing.certificate] if issuer == rp.entity_id else [],
        expected_destination=hub_sso,
        now=datetime.now(UTC),
    )
    assert request.issuer == rp.entity_id
    assert request.id == sign_in.request_id
    assert request.acs_index is None and request.acs_url is None
    assert 0 < len(sign_in.relay_state.encode()) <= 80


def test_start_without_the_form_token_is_refused(client):
    response = client.post("/start", data={})
    assert response.status_code == 400
    assert 'id="problem-form_expired"' in response.get_data(as_text=True)


def test_success_match_shows_signed_in_with_hashed_pid_and_loa(client, fed, caplog):
    caplog.set_level(logging.INFO)
    sign_in = start_sign_in(client)
    assertion = matching_service_assertion(fed, in_response_to=sign_in.request_id)
    saml = hub_response(fed, fed.matching_rp, in_response_to=sign_in.request_id, assertions=[assertion])
    page = signed_in_page(client, post_to_acs(client, "/SAML2/SSO/POST", saml, sign_in.relay_state))
    assert 'id="outcome-success_match"' in page
    assert "You&#39;re signed in" in page
    assert f'id="identifier">{HASHED_PID}<' in page
    assert '<span id="level">Level 2</span>' in page
    assert "scenario=SUCCESS_MATCH" in caplog.text and "loa=LEVEL_2" in caplog.text
    assert HASHED_PID not in caplog.text  # no identifiers of the citizen in the log
    # the service page now says so, and signing out forgets it
    home = client.get("/").get_data(as_text=True)
    assert "/signed-in" in home
    token = client.get("/").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/sign-out", data={"csrf_token": token}).status_code == 303
    assert client.get("/signed-in").status_code == 303


def test_signed_in_page_in_welsh(client, fed):
    sign_in = start_sign_in(client)
    assertion = matching_service_assertion(fed, in_response_to=sign_in.request_id)
    saml = hub_response(fed, fed.matching_rp, in_response_to=sign_in.request_id, assertions=[assertion])
    signed_in_page(client, post_to_acs(client, "/SAML2/SSO/POST", saml, sign_in.relay_state))
    page = client.get("/signed-in?lang=cy").get_data(as_text=True)
    assert "Rydych wedi mewngofnodi" in page and "Lefel 2" in page


def test_account_creation(client, fed, caplog):
    caplog.set_level(logging.INFO)
    sign_in = start_sign_in(client)
    assertion = matching_service_assertion(
        fed, in_response_to=sign_in.request_id, attributes=account_creation_attributes()
    )
    saml = hub_response(fed, fed.matching_rp, in_response_to=sign_in.request_id, assertions=[assertion])
    page = signed_in_page(client, post_to_acs(client, "/SAML2/SSO/POST", saml, sign_in.relay_state))
    assert 'id="outcome-account_creation"' in page
    assert "created an account" in page
    assert "Alex" not in caplog.text and "1980" not in caplog.text


@pytest.mark.parametrize(
    ("status", "outcome", "heading"),
    [
        (Status(c.STATUS_RESPONDER, c.STATUS_NO_MATCH), "no_match", "could not find your records"),
        (Status(c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT), "cancellation", "did not finish proving"),
        (Status(c.STATUS_RESPONDER, c.STATUS_AUTHN_FAILED), "authentication_failed", "could not be proved"),
        (Status(c.STATUS_REQUESTER), "request_error", "problem with the service"),
    ],
)
def test_unsuccessful_outcomes_say_what_to_do_next(client, fed, status, outcome, heading):
    sign_in = start_sign_in(client)
    saml = hub_response(fed, fed.matching_rp, in_response_to=sign_in.request_id, status=status)
    page = signed_in_page(client, post_to_acs(client, "/SAML2/SSO/POST", saml, sign_in.relay_state))
    assert f'id="outcome-{outcome}"' in page
    assert heading in page
    assert 'id="start-again"' in page  # what to do next
    assert "Other ways to prove your identity" in page
    assert 'id="identifier"' not in page


@pytest.mark.parametrize(
    ("status", "code", "heading", "next_step"),
    [
        (
            Status(c.STATUS_RESPONDER, c.STATUS_AUTHN_FAILED),
            "fraud_suspected",
            "cannot prove your identity online",
            None,
        ),
        (
            Status(c.STATUS_RESPONDER, c.STATUS_AUTHN_FAILED),
            "matching_unavailable",
            "could not check your records",
            "Try again",
        ),
        (
            Status(c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT),
            "session_expired",
            "Your session has ended",
            "Start again",
        ),
        (
            Status(c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT),
            "details_not_given",
            "could not find your records",
            "Start again",
        ),
        (Status(c.STATUS_REQUESTER), "request_refused", "problem with the certified company", "Try again"),
    ],
)
def test_the_page_is_worded_from_the_return_code(client, fed, status, code, heading, next_step):
    sign_in = start_sign_in(client)
    status = dataclasses.replace(status, message=f"return-code={code} offer=try_again")
    saml = hub_response(fed, fed.matching_rp, in_response_to=sign_in.request_id, status=status)
    page = signed_in_page(client, post_to_acs(client, "/SAML2/SSO/POST", saml, sign_in.relay_state))
    assert f'data-return-code="{code}"' in page and heading in page
    if next_step:
        assert 'id="start-again"' in page and next_step in page
    else:  # the hub says not to send them round again: a way back to the start, and the other ways
        assert 'id="start-again"' not in page and 'id="go-to-start"' in page


def test_an_unknown_return_code_is_worded_from_the_status(client, fed):
    sign_in = start_sign_in(client)
    status = Status(c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT, message="return-code=from_the_future offer=x")
    saml = hub_response(fed, fed.matching_rp, in_response_to=sign_in.request_id, status=status)
    page = signed_in_page(client, post_to_acs(client, "/SAML2/SSO/POST", saml, sign_in.relay_state))
    assert 'id="outcome-cancellation"' in page and "data-return-code" not in page and 'id="start-again"' in page


def test_non_matching_identity_verified(client, fed):
    sign_in = start_sign_in(client, NON_MATCHING)
    rp = fed.non_matching_rp
    saml = hub_response(fed, rp, in_response_to=sign_in.request_id, assertions=idp_assertions(fed))
    response = post_to_acs(client, f"{NON_MATCHING}/SAML2/SSO/POST", saml, sign_in.relay_state)
    page = signed_in_page(client, response, NON_MATCHING)
    assert 'id="outcome-identity_verified"' in page
    expected = hashed_pid(fed.idp_two_entity_id, rp.entity_id, IDP_PID)
    assert f'id="identifier">{expected}<' in page
    assert IDP_PID not in page


def refused(response, caplog, reason: str, problem: str = "bad_response") -> None:
    page = response.get_data(as_text=True)
    assert response.status_code == 400, page
    assert f'id="problem-{problem}"' in page
    assert "Traceback" not in page
    assert f"reason={reason}" in caplog.text


def test_response_signed_by_a_wrong_key_is_refused(client, fed, caplog):
    sign_in = start_sign_in(client)
    assertion = matching_service_assertion(fed, in_response_to=sign_in.request_id)
    saml = hub_response(
        fed, fed.matching_rp, in_response_to=sign_in.request_id, assertions=[assertion], signer=fed.idp_one.signing
    )
    refused(post_to_acs(client, "/SAML2/SSO/POST", saml, sign_in.relay_state), caplog, "signature-invalid")
    assert client.get("/signed-in").status_code == 303  # not signed in


def test_response_signed_by_the_matching_service_instead_of_the_hub_is_refused(client, fed, caplog):
    sign_in = start_sign_in(client)
    assertion = matching_service_assertion(fed, in_response_to=sign_in.request_id)
    saml = hub_response(
        fed,
        fed.matching_rp,
        in_response_to=sign_in.request_id,
        assertions=[assertion],
        signer=fed.matching_service.signing,
        issuer=fed.ms_entity_id,
    )
    refused(post_to_acs(client, "/SAML2/SSO/POST", saml, sign_in.relay_state), caplog, "unknown-issuer")


def test_assertion_minted_by_the_hub_is_refused(client, fed, caplog):
    # End-to-end trust: the hub's key cannot stand in for the matching service's.
    sign_in = start_sign_in(client)
    assertion = matching_service_assertion(fed, in_response_to=sign_in.request_id, signer=fed.hub.signing)
    saml = hub_response(fed, fed.matching_rp, in_response_to=sign_in.request_id, assertions=[assertion])
    refused(post_to_acs(client, "/SAML2/SSO/POST", saml, sign_in.relay_state), caplog, "signature-invalid")


def test_an_answer_to_a_request_the_service_never_sent_is_refused(client, fed, caplog):
    sign_in = start_sign_in(client)
    other = "_" + "0" * 40
    assertion = matching_service_assertion(fed, in_response_to=other)
    saml = hub_response(fed, fed.matching_rp, in_response_to=other, assertions=[assertion])
    response = post_to_acs(client, "/SAML2/SSO/POST", saml, sign_in.relay_state)
    refused(response, caplog, "no-sign-in-attempt", problem="no_attempt")


def test_assertion_answering_another_request_is_refused(client, fed, caplog):
    sign_in = start_sign_in(client)
    assertion = matching_service_assertion(fed, in_response_to="_" + "1" * 40)
    saml = hub_response(fed, fed.matching_rp, in_response_to=sign_in.request_id, assertions=[assertion])
    refused(post_to_acs(client, "/SAML2/SSO/POST", saml, sign_in.relay_state), caplog, "wrong-in-response-to")


def test_wrong_audience_is_refused(client, fed, caplog):
    sign_in = start_sign_in(client)
    assertion = matching_service_assertion(
        fed, in_response_to=sign_in.request_id, audience=fed.non_matching_rp.entity_id
    )
    saml = hub_response(fed, fed.matching_rp, in_response_to=sign_in.request_id, assertions=[assertion])
    refused(post_to_acs(client, "/SAML2/SSO/POST", saml, sign_in.relay_state), caplog, "wrong-audience")


def test_wrong_recipient_is_refused(client, fed, caplog):
    sign_in = start_sign_in(client)
    assertion = matching_service_assertion(
        fed, in_response_to=sign_in.request_id, recipient=fed.non_matching_rp.default_acs_url()
    )
    saml = hub_response(fed, fed.matching_rp, in_response_to=sign_in.request_id, assertions=[assertion])
    refused(post_to_acs(client, "/SAML2/SSO/POST", saml, sign_in.relay_state), caplog, "wrong-recipient")


def test_response_for_the_other_service_is_refused(client, fed, caplog):
    # Destination is the matching RP's ACS, posted to the non-matching RP's ACS.
    sign_in = start_sign_in(client, NON_MATCHING)
    saml = hub_response(
        fed,
        fed.non_matching_rp,
        in_response_to=sign_in.request_id,
        destination=fed.matching_rp.default_acs_url(),
        assertions=idp_assertions(fed),
    )
    response = post_to_acs(client, f"{NON_MATCHING}/SAML2/SSO/POST", saml, sign_in.relay_state)
    refused(response, caplog, "wrong-destination")


def test_relay_state_mismatch_is_refused(client, fed, caplog):
    sign_in = start_sign_in(client)
    saml = hub_response(fed, fed.matching_rp, in_response_to=sign_in.request_id, status=Status(c.STATUS_REQUESTER))
    refused(post_to_acs(client, "/SAML2/SSO/POST", saml, "something-else"), caplog, "relay-state-mismatch")


def test_missing_cookie_asks_to_start_again(app, fed, caplog):
    browser = app.test_client()
    sign_in = start_sign_in(browser)
    assertion = matching_service_assertion(fed, in_response_to=sign_in.request_id)
    saml = hub_response(fed, fed.matching_rp, in_response_to=sign_in.request_id, assertions=[assertion])
    other_browser = app.test_client()  # no cookie: a different browser, or cookies blocked
    response = post_to_acs(other_browser, "/SAML2/SSO/POST", saml, sign_in.relay_state)
    assert response.status_code == 303  # verified and parked, not applied: the continue GET decides
    asked = other_browser.get(response.headers["Location"])  # ... by asking the hub whether the journey moved here
    assert asked.status_code == 303 and "/continue/sign-in-here?" in asked.headers["Location"]
    assert "We could not find your sign-in attempt" in other_browser.get(response.headers["Location"]).text


def test_an_answer_is_used_once(client, fed, caplog):
    sign_in = start_sign_in(client)
    assertion = matching_service_assertion(fed, in_response_to=sign_in.request_id)
    saml = hub_response(fed, fed.matching_rp, in_response_to=sign_in.request_id, assertions=[assertion])
    assert post_to_acs(client, "/SAML2/SSO/POST", saml, sign_in.relay_state).status_code == 303
    again = post_to_acs(client, "/SAML2/SSO/POST", saml, sign_in.relay_state)
    refused(again, caplog, "no-sign-in-attempt", problem="no_attempt")


def test_garbage_is_refused_without_a_stack_trace(client, fed, caplog):
    sign_in = start_sign_in(client)
    refused(post_to_acs(client, "/SAML2/SSO/POST", "not base64!", sign_in.relay_state), caplog, "invalid-base64")


def test_non_matching_assertion_not_signed_by_the_idp_is_refused(client, fed, caplog):
    sign_in = start_sign_in(client, NON_MATCHING)
    forged = idp_assertions(fed, signer=fed.hub.signing)
    saml = hub_response(fed, fed.non_matching_rp, in_response_to=sign_in.request_id, assertions=forged)
    response = post_to_acs(client, f"{NON_MATCHING}/SAML2/SSO/POST", saml, sign_in.relay_state)
    refused(response, caplog, "signature-invalid")


def test_loa_below_what_the_service_accepts_is_refused(client, fed, caplog):
    # test-rp accepts LEVEL_2 only (test-rp-non-matching also accepts LEVEL_1)
    sign_in = start_sign_in(client)
    assertion = matching_service_assertion(fed, in_response_to=sign_in.request_id, level=LevelOfAssurance.LEVEL_1)
    saml = hub_response(fed, fed.matching_rp, in_response_to=sign_in.request_id, assertions=[assertion])
    refused(post_to_acs(client, "/SAML2/SSO/POST", saml, sign_in.relay_state), caplog, "loa-too-low")


def test_hub_metadata_unavailable_gives_a_clear_page(fed, keys_dir, federation_config, tmp_path, caplog):
    from federation.runtime import Runtime
    from relying_party_example.app import create_app

    def down(url: str, timeout: float) -> bytes:
        raise OSError("connection refused")

    runtime = Runtime(config=federation_config, keys_dir=keys_dir, var_dir=tmp_path, environ={})
    app = create_app(runtime, metadata_fetch=down)
    try:
        client = app.test_client()
        token = client.get("/").get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
        response = client.post("/start", data={"csrf_token": token})
        assert response.status_code == 503
        assert 'id="problem-unavailable"' in response.get_data(as_text=True)
        assert "reason=metadata-unavailable" in caplog.text
    finally:
        app.extensions["relying_party_example"]["metadata"].stop()


def test_english_and_welsh_messages_have_the_same_keys():
    from federation.web.i18n import _flatten
    from relying_party_example.app import _messages

    messages = _messages()
    assert set(_flatten(messages["en"])) == set(_flatten(messages["cy"]))
    assert len(_flatten(messages["en"])) > 30


EVIL = "https://evil.example/"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/signed-in"),
        ("get", "/non-matching/signed-in"),
        ("get", "/SAML2/SSO/POST/continue"),
        ("post", "/sign-out"),
        ("get", "/non-matching"),
    ],
)
@pytest.mark.parametrize("param", ["next", "return_to", "redirect", "url", "RelayState", "came_from"])
def test_the_service_redirects_only_to_its_own_pages(client, method, path, param):
    """No return URL is read from the request: every redirect the service answers stays on the service."""
    client.get("/")
    for value in (EVIL, "//evil.example/", "/\\evil.example/", "https:evil.example"):
        response = getattr(client, method)(path, query_string={param: value}, data={param: value})
        location = response.headers.get("Location")
        if location is not None:
            parts = urlsplit(location)
            assert parts.netloc in ("", "localhost") and not parts.path.startswith("//"), location


def test_a_sign_in_is_never_sent_on_to_a_relay_state_url(client, fed, caplog):
    """Some services treat RelayState as a return URL; ours is an opaque random value, compared, never followed."""
    sign_in = start_sign_in(client)
    saml = hub_response(fed, fed.matching_rp, in_response_to=sign_in.request_id, status=Status(c.STATUS_REQUESTER))
    refused(post_to_acs(client, "/SAML2/SSO/POST", saml, EVIL), caplog, "relay-state-mismatch")
