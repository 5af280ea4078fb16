"""The stub IDPs end to end under Flask's test client: hub-signed AuthnRequest in, IDP-signed Response out."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from stub_idp_support import RELAY_STATE, Journey, auto_post, csrf_of

from federation.loa import LevelOfAssurance
from federation.saml import Address, MdsValue, split_idp_assertions
from federation.saml import constants as c

L1, L2 = LevelOfAssurance.LEVEL_1, LevelOfAssurance.LEVEL_2


def pid(idp: str, username: str) -> str:
    return hashlib.sha256(f"{idp}:{username}".encode()).hexdigest()


def sign_in_and_send(j, username: str, **request_kwargs):
    assert j.start(**request_kwargs).status_code == 303
    response = j.login(username)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/{j.idp_name}/consent")
    sent = j.consent()
    assert sent.status_code == 200
    return j.read(sent.get_data(as_text=True))


# --- the service process --------------------------------------------------------------------------------


def test_healthcheck(client):
    response = client.get("/healthcheck")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "metadata": "ready"}


def test_index_lists_every_idp(client, federation_config):
    page = client.get("/").get_data(as_text=True)
    for idp in federation_config.identity_providers:
        assert idp.entity_id in page
        assert idp.sso_url in page


def test_sso_sets_a_lax_httponly_session_and_redirects_to_sign_in(journey):
    response = journey("stub-idp-two").start()
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/stub-idp-two/login")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# --- success --------------------------------------------------------------------------------------------


def test_full_journey_produces_a_response_the_hub_accepts(journey, federation_config, caplog):
    j = journey("stub-idp-two")
    with caplog.at_level(logging.DEBUG):
        data = sign_in_and_send(j, "alice")
    assert data.status.is_success
    assert data.issuer == "https://stub-idp-two.federation.test"
    assert data.in_response_to == j.request_id
    assert len(data.encrypted_assertions) == 2
    pair = split_idp_assertions([a.data for a in data.assertions], response_issuer=data.issuer)
    assert pair.authn.level_of_assurance is L2
    assert pair.authn.ip_address == "127.0.0.1"
    assert pair.authn.name_id == pair.matching_dataset.name_id == pid("stub-idp-two", "alice")
    assert pair.authn.in_response_to == pair.matching_dataset.in_response_to == j.request_id
    assert pair.authn.not_on_or_after <= datetime.now(UTC) + timedelta(minutes=90, seconds=5)
    mds = pair.matching_dataset.matching_dataset
    assert mds.first_names == (MdsValue("Alice", verified=True),)
    assert mds.middle_names == (MdsValue("Jane", verified=True),)
    assert mds.surnames == (MdsValue("Evans", verified=True, from_date=date(1985, 3, 14)),)
    assert mds.gender == MdsValue("FEMALE", verified=True)
    assert mds.date_of_birth == MdsValue(date(1985, 3, 14), verified=True)
    assert mds.current_address == Address(
        lines=("12 Orchard Road", "Bristol"),
        postcode="BS7 8QT",
        uprn="000000100001",
        verified=True,
        from_date=date(2015, 6, 1),
    )
    assert mds.previous_addresses[0].to_date == date(2015, 5, 31)
    # Logs: request IDs and outcomes, never personal data or the PID.
    assert j.request_id in caplog.text and "success" in caplog.text
    for secret in ("Alice", "alice", "Evans", "BS7", "1985", pid("stub-idp-two", "alice")):
        assert secret not in caplog.text


def test_non_ascii_names_survive_signing_and_encryption(journey):
    j = journey("stub-idp-two")
    assert j.start().status_code == 303
    j.login("zoe")
    page = j.consent_page()
    assert "Zoë Aoife Ó Briain" in page
    data = j.read(j.consent().get_data(as_text=True))
    mds = split_idp_assertions([a.data for a in data.assertions], response_issuer=data.issuer).matching_dataset
    assert mds.matching_dataset.first_names[0].value == "Zoë"
    assert mds.matching_dataset.surnames[0].value == "Ó Briain"


def test_level1_user_gets_a_warning_and_level1_is_sent_uncapped(journey):
    j = journey("stub-idp-two")
    assert j.start(levels=(L2,)).status_code == 303
    j.login("lee")
    page = j.consent_page()
    assert 'id="loa-warning"' in page
    assert "You are verified at Level 1, but the hub asked for at least Level 2" in page
    data = j.read(j.consent().get_data(as_text=True))
    pair = split_idp_assertions([a.data for a in data.assertions], response_issuer=data.issuer)
    assert pair.authn.level_of_assurance is L1


def test_no_warning_when_the_level_meets_the_request(journey):
    j = journey("stub-idp-two")
    assert j.start(levels=(L1, L2)).status_code == 303
    j.login("alice")
    page = j.consent_page()
    assert 'id="loa-warning"' not in page
    assert "Alice Jane Evans" in page and "14 March 1985" in page and "BS7 8QT" in page


def test_exact_comparison_warns_on_any_other_level(journey):
    j = journey("stub-idp-three")
    assert j.start(levels=(L1,), comparison="exact").status_code == 303
    j.login("alice")
    assert 'id="loa-warning"' in j.consent_page()


def test_idp_never_asserts_above_its_certification(journey):
    """alice is verified at LEVEL_2, but stub-idp-one is certified for LEVEL_1 only."""
    j = journey("stub-idp-one")
    data = sign_in_and_send(j, "alice", levels=(L1,))
    pair = split_idp_assertions([a.data for a in data.assertions], response_issuer=data.issuer)
    assert pair.authn.level_of_assurance is L1
    assert pair.authn.name_id == pid("stub-idp-one", "alice")


def test_consent_cancel_sends_authn_cancel(journey):
    j = journey("stub-idp-two")
    assert j.start().status_code == 303
    j.login("alice")
    data = j.read(j.consent("cancel").get_data(as_text=True))
    assert (data.status.code, data.status.sub_code, data.status.detail) == (
        c.STATUS_RESPONDER,
        c.STATUS_NO_AUTHN_CONTEXT,
        c.STATUS_DETAIL_AUTHN_CANCEL,
    )
    assert data.assertions == ()


def test_one_answer_per_request(journey):
    j = journey("stub-idp-two")
    sign_in_and_send(j, "alice")
    assert j.client.get("/stub-idp-two/consent").status_code == 400


# --- failures -------------------------------------------------------------------------------------------

FAILURES = {
    "cancel": (c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT, c.STATUS_DETAIL_AUTHN_CANCEL),
    "authn-failed": (c.STATUS_RESPONDER, c.STATUS_AUTHN_FAILED, None),
    "requester-error": (c.STATUS_REQUESTER, None, None),
    "request-denied": (c.STATUS_REQUESTER, c.STATUS_REQUEST_DENIED, None),
    "pending": (c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT, c.STATUS_DETAIL_LOA_PENDING),
    "uplift-failed": (c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT, c.STATUS_DETAIL_UPLIFT_FAILED),
}


@pytest.mark.parametrize("outcome", sorted(FAILURES))
def test_each_failure_button_sends_its_status(journey, outcome):
    j = journey("stub-idp-two")
    assert j.start().status_code == 303
    assert f'id="outcome-{outcome}"' in j.login_page()
    response = j.login("", "", outcome=outcome)
    assert response.status_code == 200
    data = j.read(response.get_data(as_text=True))
    assert (data.status.code, data.status.sub_code, data.status.detail) == FAILURES[outcome]
    assert data.assertions == () and data.encrypted_assertions == ()


@pytest.mark.parametrize("code", ["DF01", "FI01", "IT01"])
def test_fraud_buttons_send_levelx_with_fraud_attributes_and_the_mds(journey, code):
    j = journey("stub-idp-three")
    assert j.start().status_code == 303
    response = j.login("priya", "", outcome=f"fraud-{code}")
    data = j.read(response.get_data(as_text=True))
    assert data.status.is_success
    pair = split_idp_assertions([a.data for a in data.assertions], response_issuer=data.issuer)
    assert pair.authn.is_fraud and pair.authn.level_of_assurance is None
    assert pair.authn.gpg45_status == code
    assert pair.authn.fraud_event_id
    assert pair.matching_dataset.matching_dataset.first_names[0].value == "Priya"
    assert pair.authn.name_id == pid("stub-idp-three", "priya")


def test_fraud_needs_a_known_username(journey):
    j = journey("stub-idp-two")
    assert j.start().status_code == 303
    response = j.login("nobody", "", outcome="fraud-DF01")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "govuk-error-summary" in page and "data-federation-auto-submit" not in page


def test_wrong_password_is_refused_on_the_page(journey):
    j = journey("stub-idp-two")
    assert j.start().status_code == 303
    response = j.login("alice", "wrong")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Enter a correct username and password" in page
    assert "<title>Error:" in page


def test_user_unknown_to_this_idp_cannot_sign_in(journey):
    j = journey("stub-idp-one")  # lee is known to stub-idp-two only
    assert j.start(levels=(L1,)).status_code == 303
    assert j.login("lee").status_code == 200


# --- refused AuthnRequests ------------------------------------------------------------------------------


def _refused(response, reason: str) -> None:
    page = response.get_data(as_text=True)
    assert response.status_code == 400, page[-500:]
    assert f"Reason: {reason}" in page
    assert "Traceback" not in page


def test_unsigned_request_is_refused(journey):
    j = journey("stub-idp-two")
    _refused(j.start(j.authn_request(sign=False)), "signature-missing")


def test_request_signed_by_another_key_is_refused(journey, keys_dir):
    from federation.credentials import load_entity_credentials

    j = journey("stub-idp-two")
    rp = load_entity_credentials(keys_dir, "test-rp").signing
    _refused(j.start(j.authn_request(credential=rp)), "signature-invalid")


def test_request_from_anyone_but_the_hub_is_refused(journey, keys_dir):
    from federation.credentials import load_entity_credentials

    j = journey("stub-idp-two")
    rp = load_entity_credentials(keys_dir, "test-rp").signing
    request = j.authn_request(credential=rp, issuer="https://test-rp.federation.test")
    _refused(j.start(request), "unknown-issuer")


def test_request_for_another_idp_is_refused(journey, federation_config):
    j = journey("stub-idp-two")
    other = next(i for i in federation_config.identity_providers if i.name == "stub-idp-one")
    _refused(j.start(j.authn_request(destination=other.sso_url)), "wrong-destination")


def test_stale_request_is_refused(journey):
    j = journey("stub-idp-two")
    _refused(j.start(j.authn_request(now=datetime.now(UTC) - timedelta(minutes=10))), "issue-instant-stale")


def test_replayed_request_is_refused(journey):
    j = journey("stub-idp-two")
    request = j.authn_request()
    assert j.start(request).status_code == 303
    _refused(j.start(request), "replayed-request")


@pytest.mark.parametrize(
    ("form", "reason"),
    [({}, "missing-message"), ({"SAMLRequest": "not base64!"}, "invalid-base64"), ({"SAMLRequest": "PGE+"}, "")],
)
def test_malformed_requests_get_the_error_page(client, form, reason):
    response = client.post("/stub-idp-two/SAML2/SSO", data=form)
    assert response.status_code == 400
    assert "Traceback" not in response.get_data(as_text=True)
    if reason:
        assert f"Reason: {reason}" in response.get_data(as_text=True)


def test_relay_state_longer_than_80_bytes_is_refused(journey):
    _refused(journey("stub-idp-two").start(relay_state="x" * 81), "relay-state-too-long")


def test_metadata_unavailable_is_a_503_page(make_app, federation_config, hub_keys):
    def fetch(url, timeout):
        raise OSError("connection refused")

    j = Journey(make_app(fetch=fetch).test_client(), federation_config, hub_keys, "stub-idp-two")
    response = j.start()
    assert response.status_code == 503
    assert "Reason: unavailable" in response.get_data(as_text=True)


def test_metadata_loads_in_the_background_once_the_hub_is_up_never_on_a_request(
    make_app, federation_config, hub_keys, signed_metadata
):
    hub_up = threading.Event()
    fetched_in: list[str] = []

    def fetch(url, timeout):
        fetched_in.append(threading.current_thread().name)
        if not hub_up.is_set():
            raise OSError("connection refused")
        return signed_metadata

    client = make_app(fetch=fetch).test_client()
    j = Journey(client, federation_config, hub_keys, "stub-idp-two")
    assert j.start().status_code == 503  # at once: the request does not fetch, nor wait for a fetch
    assert client.get("/healthcheck").get_json()["metadata"] == "loading"
    hub_up.set()
    deadline = time.monotonic() + 10
    while client.get("/healthcheck").get_json()["metadata"] != "ready" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert j.start().status_code == 303
    assert fetched_in[0] == "MainThread"  # the attempt made while the app starts
    assert set(fetched_in[1:]) == {"metadata-refresh"}  # then only the background thread


# --- pages ----------------------------------------------------------------------------------------------


def test_pages_need_a_pending_request(client):
    for path in ("/stub-idp-two/login", "/stub-idp-two/register", "/stub-idp-two/consent"):
        response = client.get(path)
        assert response.status_code == 400
        assert 'id="problem-no_pending"' in response.get_data(as_text=True)


def test_unknown_idp_is_404(client):
    response = client.post("/no-such-idp/SAML2/SSO", data={"SAMLRequest": "x"})
    assert response.status_code == 404
    assert client.get("/no-such-page").status_code == 404


def test_forms_need_the_csrf_token(journey):
    j = journey("stub-idp-two")
    assert j.start().status_code == 303
    response = j.client.post("/stub-idp-two/login", data={"username": "alice", "password": "bar"})
    assert response.status_code == 400
    assert 'id="problem-csrf"' in response.get_data(as_text=True)


def test_pages_in_welsh(journey):
    j = journey("stub-idp-two")
    assert j.start().status_code == 303
    page = j.client.get("/stub-idp-two/login?lang=cy").get_data(as_text=True)
    assert 'lang="cy"' in page
    assert "Mewngofnodi: IDP Bonyn Dau" in page
    j.login("alice")
    assert "Gwiriwch beth fydd IDP Bonyn Dau yn ei anfon" in j.consent_page()
    assert "14 Mawrth 1985" in j.consent_page()


def test_auto_post_page_works_without_javascript_and_allows_posting_to_the_hub(journey, federation_config):
    j = journey("stub-idp-two")
    assert j.start().status_code == 303
    j.login("alice")
    response = j.consent()
    page = response.get_data(as_text=True)
    assert 'id="saml-continue"' in page  # the visible Continue button
    assert auto_post(page).relay_state == RELAY_STATE
    assert "form-action 'self' http://127.0.0.1:8080" in response.headers["Content-Security-Policy"]


# --- registration ---------------------------------------------------------------------------------------

REGISTRATION = {
    "username": "new-user",
    "password": "secret-test",
    "first_name": "Gwenllian",
    "middle_names": "",
    "surname": "Ap Rhys",
    "gender": "FEMALE",
    "dob-day": "2",
    "dob-month": "11",
    "dob-year": "1991",
    "address_line1": "1 Ffordd y Môr",
    "address_line2": "",
    "address_town": "Aberystwyth",
    "postcode": "sy23 1aa",
    "level_of_assurance": "LEVEL_1",
}


def test_registration_creates_a_user_who_can_sign_in(journey):
    j = journey("stub-idp-two")
    assert j.start(levels=(L1,)).status_code == 303
    token = csrf_of(j.client.get("/stub-idp-two/register").get_data(as_text=True))
    response = j.client.post("/stub-idp-two/register", data={**REGISTRATION, "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/stub-idp-two/login")
    assert "Your test account was created" in j.login_page()
    assert j.login("new-user", "secret-test").status_code == 303
    assert "Gwenllian Ap Rhys" in j.consent_page()
    data = j.read(j.consent().get_data(as_text=True))
    pair = split_idp_assertions([a.data for a in data.assertions], response_issuer=data.issuer)
    assert pair.authn.level_of_assurance is L1
    assert pair.authn.name_id == pid("stub-idp-two", "new-user")
    mds = pair.matching_dataset.matching_dataset
    assert mds.date_of_birth.value == date(1991, 11, 2)
    assert mds.current_address.lines == ("1 Ffordd y Môr", "Aberystwyth")
    assert mds.current_address.postcode == "SY23 1AA"


def test_registration_errors_are_shown_on_the_form(journey):
    j = journey("stub-idp-two")
    assert j.start().status_code == 303
    token = csrf_of(j.client.get("/stub-idp-two/register").get_data(as_text=True))
    bad = {**REGISTRATION, "csrf_token": token, "postcode": "nope", "dob-month": "13", "username": "alice"}
    page = j.client.post("/stub-idp-two/register", data=bad).get_data(as_text=True)
    assert "govuk-error-summary" in page
    assert 'href="#dob-day"' in page and 'href="#postcode"' in page
    taken = {**REGISTRATION, "csrf_token": token, "username": "alice"}
    page = j.client.post("/stub-idp-two/register", data=taken).get_data(as_text=True)
    assert "That username is already taken" in page


def test_registration_offers_only_the_idps_levels(journey):
    j = journey("stub-idp-one")
    assert j.start(levels=(L1,)).status_code == 303
    page = j.client.get("/stub-idp-one/register").get_data(as_text=True)
    assert 'value="LEVEL_1"' in page and 'value="LEVEL_2"' not in page


# --- headless -------------------------------------------------------------------------------------------


def _headless(j, **fields):
    data = {"SAMLRequest": j.authn_request(), "RelayState": RELAY_STATE, **fields}
    return j.client.post(f"/{j.idp_name}/SAML2/SSO/headless", data=data)


def test_headless_success(journey):
    j = journey("stub-idp-two")
    response = _headless(j, username="sian")
    assert response.status_code == 200
    data = j.read(response.get_data(as_text=True))
    pair = split_idp_assertions([a.data for a in data.assertions], response_issuer=data.issuer)
    assert pair.authn.level_of_assurance is L2
    assert pair.matching_dataset.matching_dataset.first_names[0].value == "Siân"


def test_headless_answer_leaves_the_session_alone(journey):
    """No pending request in the session to forget, so no session cookie is signed and sent."""
    j = journey("stub-idp-two")
    response = _headless(j, username="alice")
    assert response.status_code == 200
    assert "SAMLResponse" in response.get_data(as_text=True)
    assert "stub_idp_session" not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("outcome", sorted(FAILURES))
def test_headless_failures(journey, outcome):
    j = journey("stub-idp-two")
    data = j.read(_headless(j, outcome=outcome).get_data(as_text=True))
    assert (data.status.code, data.status.sub_code, data.status.detail) == FAILURES[outcome]


def test_headless_fraud(journey):
    j = journey("stub-idp-two")
    data = j.read(_headless(j, username="alice", outcome="fraud-IT01").get_data(as_text=True))
    pair = split_idp_assertions([a.data for a in data.assertions], response_issuer=data.issuer)
    assert pair.authn.is_fraud and pair.authn.gpg45_status == "IT01"


def test_headless_refuses_bad_input(journey):
    j = journey("stub-idp-two")
    _refused(_headless(j, username="nobody"), "unknown-user")
    _refused(_headless(j, username="alice", outcome="teleport"), "unknown-outcome")
    response = j.client.post(
        "/stub-idp-two/SAML2/SSO/headless", data={"SAMLRequest": j.authn_request(sign=False), "username": "alice"}
    )
    _refused(response, "signature-missing")


def test_headless_is_off_unless_enabled(make_app, federation_config, hub_keys):
    j = Journey(make_app({"STUB_IDP_HEADLESS": "0"}).test_client(), federation_config, hub_keys, "stub-idp-two")
    assert _headless(j, username="alice").status_code == 404
    assert j.start().status_code == 303  # the normal endpoint still works
