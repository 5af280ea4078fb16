"""OpenID Connect through the real hub, stub IDPs and matching service, with two independent clients:
requests-oauth2client (its own JOSE library, jwskate) driven here, and authlib's Flask client in the
example service (/oidc/). Then every error the provider must give, at the right place.

Mirrors of the OpenID Foundation conformance suite's provider tests (it cannot run here, having no network
to its servers): discovery document shape (oidcc-discovery), code flow with nonce and state (oidcc-server),
`at_hash` in the ID token, unregistered redirect URI shown an error page (oidcc-ensure-registered-redirect-uri),
redirect URI with a query (oidcc-redirect-uri-query-mismatch), code reuse (oidcc-codereuse, which also checks
the first access token is revoked), prompt=none without a session (oidcc-prompt-none-not-logged-in),
missing PKCE refused (FAPI's ensure-pkce-required), `private_key_jwt` with a wrong key
(fapi1-...-ensure-client-assertion-signed-by-wrong-key-fails), back-channel logout token checks
(oidcc-backchannel-rp-initiated-logout).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from urllib.parse import urlencode

import pytest
import requests
from authlib.oidc.discovery import OpenIDProviderMetadata
from jwskate import Jwk, JwkSet, SignedJwt
from requests_oauth2client import OAuth2Client, PrivateKeyJwt

from federation.config import CORE_IDENTITY_CLAIM
from federation.jose import load_signing_key, sign_jwt
from federation.saml.standard import pairwise_id
from tests.e2e.journey import IDP_ENTITY, expected_hashed_pid, idp_pid
from tests.e2e.oidc_support import (
    CLIENT,
    CLIENT_KEY,
    IDENTITY_CLAIMS,
    MATCHING_CLIENT,
    SECTOR,
    hub_answer,
    journey,
    query,
    redirect_uri,
    to_hub_start,
)
from tests.support.browser_client import BrowserClient

pytestmark = pytest.mark.e2e
MATCHING_CLAIM = "https://vocab.federation.test/v1/matching"


def hub(federation) -> str:
    return federation.urls["HUB_URL"]


def second_library(federation, keys_dir, client_id: str = CLIENT) -> OAuth2Client:
    """requests-oauth2client, configured as its documentation shows: discovery, private_key_jwt."""
    private = Jwk.from_pem((keys_dir / CLIENT_KEY).read_bytes()).with_usage_parameters("RS256")
    return OAuth2Client.from_discovery_endpoint(
        f"{hub(federation)}/.well-known/openid-configuration",
        issuer=hub(federation),
        auth=PrivateKeyJwt(client_id, private.with_kid_thumbprint(), alg="RS256"),
        redirect_uri=redirect_uri(federation),
        code_challenge_method="S256",
        testing=True,  # the test federation serves plain http on 127.0.0.1; this library otherwise wants https
    )


def hub_keys(federation) -> JwkSet:
    return JwkSet(requests.get(f"{hub(federation)}/.well-known/jwks.json", timeout=10).json())


def test_discovery_and_a_jwks_with_both_keys_of_a_rotation(federation):
    metadata = requests.get(f"{hub(federation)}/.well-known/openid-configuration", timeout=10).json()
    OpenIDProviderMetadata(metadata).validate()  # authlib's check of the OpenID Connect Discovery rules
    assert metadata["issuer"] == hub(federation)
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert metadata["subject_types_supported"] == ["pairwise"]
    assert "Cl.Cm.P2" in metadata["vtr_values_supported"] and metadata["backchannel_logout_supported"] is True
    jwks = requests.get(metadata["jwks_uri"], timeout=10).json()
    kids = [key["kid"] for key in jwks["keys"]]
    assert len(kids) == 2 and len(set(kids)) == 2  # current and next
    assert all("d" not in key for key in jwks["keys"])


def test_second_library_signs_in_with_verified_identity(federation, keys_dir):
    client = second_library(federation, keys_dir)
    request = client.authorization_request(scope="openid", vtr=json.dumps(["Cl.Cm.P2"]), claims=IDENTITY_CLAIMS)
    location = journey(BrowserClient(), str(request.uri), "alice")
    response = request.validate_callback(location)  # state and the iss parameter (RFC 9207)
    token = client.authorization_code(response)  # private_key_jwt, PKCE verifier, ID token validated
    id_token = token.id_token
    assert id_token.get_claim("vot") == "Cl.Cm.P2"
    idp = IDP_ENTITY["stub-idp-two"]
    assert id_token.subject == pairwise_id(idp, SECTOR, idp_pid("stub-idp-two", "alice"))
    assert id_token.get_claim("nonce") == request.nonce and id_token.get_claim("sid")
    info = client.userinfo(token)
    verified = info["verified_claims"]
    assert verified["verification"]["trust_framework"] == "uk_tfida"
    assert verified["verification"]["assurance_level"] == "P2"
    assert verified["verification"]["evidence"][0]["type"] == "vouch"
    assert verified["claims"]["given_name"] == "Alice" and verified["claims"]["family_name"]
    assert len(verified["claims"]["birthdate"]) == 10 and verified["claims"]["address"]["postal_code"]
    identity = SignedJwt(info[CORE_IDENTITY_CLAIM])
    assert identity.verify_signature(hub_keys(federation), alg="RS256")
    assert identity.audiences == [CLIENT] and identity.subject == id_token.subject
    assert identity.expires_at.timestamp() - time.time() <= 180
    subject = identity.get_claim("vc")["credentialSubject"]
    assert subject["name"][0]["nameParts"][0] == {"type": "GivenName", "value": "Alice"}
    assert subject["birthDate"][0]["value"] == verified["claims"]["birthdate"]
    again = client.userinfo(token)  # identity is served once; the token still names the citizen
    assert again == {"sub": id_token.subject}


def test_authentication_only_never_carries_identity(federation, keys_dir):
    client = second_library(federation, keys_dir)
    request = client.authorization_request(scope="openid", vtr=json.dumps(["Cl.Cm"]), claims=IDENTITY_CLAIMS)
    token = client.authorization_code(request.validate_callback(journey(BrowserClient(), str(request.uri))))
    assert token.id_token.get_claim("vot") == "Cl.Cm"
    assert client.userinfo(token) == {"sub": token.id_token.subject}


@pytest.mark.parametrize(("username", "outcome"), [("alice", "match"), ("nora", "account-created")])
def test_matching_client_gets_the_matching_service_answer(federation, keys_dir, username, outcome):
    client = second_library(federation, keys_dir, MATCHING_CLIENT)
    request = client.authorization_request(scope="openid", claims=IDENTITY_CLAIMS)
    browser = BrowserClient()
    page = to_hub_start(browser, str(request.uri))
    from tests.e2e.journey import IDP_TWO, at_idp_headless, choose

    page = at_idp_headless(browser, choose(browser, page, IDP_TWO), username)
    token = client.authorization_code(request.validate_callback(hub_answer(browser, page)))
    info = client.userinfo(token)
    assert info[MATCHING_CLAIM] == {"outcome": outcome, "hashed_pid": expected_hashed_pid("stub-idp-two", username)}
    assert info["verified_claims"]["claims"]["given_name"]
    assert "address" not in info["verified_claims"]["claims"]  # not registered for this client


def test_authlib_example_service_signs_in_and_is_told_of_logout(federation):
    browser = BrowserClient()
    rp = federation.urls["RP_URL"]
    page = browser.get(f"{rp}/oidc/")
    page = browser.submit(page, page.form(button="Prove your identity"), {"assurance": "prove_identity"})
    assert page.url.split("?")[0].endswith("/start"), page.url
    from tests.e2e.journey import IDP_TWO, at_idp_headless, choose

    page = at_idp_headless(browser, choose(browser, page, IDP_TWO), "alice")
    page = browser.get(hub_answer(browser, page))  # the example service's callback: authlib does the rest
    assert page.url == f"{rp}/oidc/", page.url
    assert page.heading == "You're signed in", (page.heading, page.text[-3000:])
    doc = page.doc
    assert doc.get_element_by_id("vot").text_content() == "Cl.Cm.P2"
    assert doc.get_element_by_id("claim-given_name").text_content() == "Alice"
    # The hub's login session ends (the browser's hub cookie names it): the service is told by back channel.
    assert any(cookie.name == "hub_oidc_sid" for cookie in browser.http.cookies)
    confirm = browser.get(f"{hub(federation)}/logout")  # no ID token: the citizen confirms (no logout CSRF)
    assert confirm.heading == "Sign out of the services you used?"
    assert requests.post(f"{hub(federation)}/logout", data={"confirm": "forged"}, timeout=10).status_code == 200
    assert browser.get(f"{rp}/oidc/").doc.get_element_by_id("vot") is not None  # still signed in
    ended = browser.submit(confirm, confirm.form(button="Sign out"))
    assert ended.status == 200 and ended.heading == "You have signed out"
    page = browser.get(f"{rp}/oidc/")
    assert "oidc-result" not in page.text  # the service's session was ended by the logout token


def test_ui_locales_cy_carries_welsh_into_the_journey(federation, keys_dir):
    client = second_library(federation, keys_dir)
    request = client.authorization_request(scope="openid", ui_locales="cy-GB en")
    page = to_hub_start(BrowserClient(), str(request.uri))
    assert 'lang="cy"' in page.text


# ------------------------------------------------------------------------------------------------ errors


def authorize_params(federation, **overrides) -> dict[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "client_id": CLIENT,
        "redirect_uri": redirect_uri(federation),
        "response_type": "code",
        "scope": "openid",
        "state": "s-123",
        "nonce": "n-456",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {key: value for key, value in params.items() if value is not None}


def authorize(federation, **overrides) -> requests.Response:
    url = f"{hub(federation)}/authorize?{urlencode(authorize_params(federation, **overrides))}"
    return requests.get(url, allow_redirects=False, timeout=10)


@pytest.mark.parametrize(
    "overrides",
    [
        {"redirect_uri": "https://attacker.example/callback"},
        {"redirect_uri": None},
        {"client_id": "no-such-client"},
        {"client_id": "https://test-rp.federation.test"},  # a SAML service is no OIDC client
    ],
)
def test_unregistered_redirect_uri_or_client_gets_a_page_never_a_redirect(federation, overrides):
    reply = authorize(federation, **overrides)
    assert reply.status_code == 400 and "Location" not in reply.headers
    assert "<h1" in reply.text and "Traceback" not in reply.text


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"nonce": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"scope": "profile"}, "invalid_scope"),
        ({"vtr": '["Cl.P2"]'}, "invalid_request"),  # identity confidence needs Cl.Cm
        ({"vtr": '["Cl.Cm.P1.P2"]'}, "invalid_request"),  # at most one P
        ({"vtr": '["Cm"]'}, "invalid_request"),
        ({"vtr": "Cl.Cm"}, "invalid_request"),  # not a JSON array
        ({"vtr": '["Cl.Cm.P3"]'}, "invalid_request"),  # not allowed for this client
        ({"prompt": "none"}, "login_required"),
        ({"prompt": "consent"}, "consent_required"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"claims": "{not json"}, "invalid_request"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
    ],
)
def test_bad_authorization_requests_get_the_oauth_error_at_the_redirect_uri(federation, overrides, error):
    reply = authorize(federation, **overrides)
    assert reply.status_code == 303
    location = reply.headers["Location"]
    assert location.startswith(redirect_uri(federation) + "?")
    answer = query(location)
    assert answer["error"] == error and answer["state"] == "s-123" and answer["iss"] == hub(federation)


@pytest.mark.parametrize(
    ("outcome", "return_code", "offer"),
    [
        ("fraud-DF01", "fraud_suspected", "other_ways"),
        ("authn-failed", "authentication_failed", "try_another_company"),
        ("pending", "registration_pending", "come_back_later"),
    ],
)
def test_failed_journeys_give_access_denied_with_return_codes(federation, outcome, return_code, offer):
    url = f"{hub(federation)}/authorize?{urlencode(authorize_params(federation, vtr=json.dumps(['Cl.Cm.P2'])))}"
    answer = query(journey(BrowserClient(), url, "alice", outcome=outcome))
    assert answer["error"] == "access_denied" and answer["state"] == "s-123"
    assert (answer["return_code"], answer["return_offer"]) == (return_code, offer)


def test_cancel_gives_access_denied_with_cancelled(federation):
    from tests.e2e.journey import IDP_TWO, at_idp_headless, choose

    browser = BrowserClient()
    url = f"{hub(federation)}/authorize?{urlencode(authorize_params(federation))}"
    page = at_idp_headless(browser, choose(browser, to_hub_start(browser, url), IDP_TWO), "alice", outcome="cancel")
    answer = query(hub_answer(browser, page))
    assert (answer["error"], answer["return_code"], answer["return_offer"]) == (
        "access_denied",
        "cancelled",
        "try_again",
    )


def client_assertion(federation, keys_dir, *, key_file: str = CLIENT_KEY, jti: str | None = None, **claims) -> str:
    now = int(time.time())
    body = {"iss": CLIENT, "sub": CLIENT, "aud": f"{hub(federation)}/token", "iat": now, "exp": now + 60}
    body["jti"] = jti or secrets.token_urlsafe(16)
    body.update(claims)
    return sign_jwt(body, load_signing_key(keys_dir / key_file))


def a_code(federation) -> tuple[str, str]:
    """A fresh authorization code for CLIENT (authentication only) and its PKCE verifier."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = f"{hub(federation)}/authorize?" + urlencode(
        authorize_params(federation, code_challenge=challenge, vtr='["Cl.Cm"]')
    )
    return query(journey(BrowserClient(), url))["code"], verifier


def token_request(federation, keys_dir, code: str, verifier: str, **overrides) -> requests.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri(federation),
        "code_verifier": verifier,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": client_assertion(federation, keys_dir),
    }
    form.update(overrides)
    return requests.post(f"{hub(federation)}/token", data={k: v for k, v in form.items() if v is not None}, timeout=10)


def userinfo(federation, access_token: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {access_token}"}
    return requests.get(f"{hub(federation)}/userinfo", headers=headers, timeout=10)


def test_a_replayed_code_is_refused_and_revokes_the_token_it_gave(federation, keys_dir):
    code, verifier = a_code(federation)
    first = token_request(federation, keys_dir, code, verifier)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    access_token = first.json()["access_token"]
    assert userinfo(federation, access_token).status_code == 200
    replay = token_request(federation, keys_dir, code, verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    revoked = userinfo(federation, access_token)
    assert revoked.status_code == 401 and revoked.json()["error"] == "invalid_token"


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"code_verifier": "x" * 43}, 400, "invalid_grant"),  # PKCE: not the verifier of the challenge
        ({"code_verifier": None}, 400, "invalid_request"),
        ({"redirect_uri": "http://localhost:8083/elsewhere"}, 400, "invalid_grant"),
        ({"grant_type": "refresh_token"}, 400, "unsupported_grant_type"),
        ({"client_assertion": None}, 401, "invalid_client"),
        ({"client_assertion_type": None, "client_secret": "guess"}, 401, "invalid_client"),
    ],
)
def test_bad_token_requests_get_the_oauth_error(federation, keys_dir, overrides, status, error):
    code, verifier = a_code(federation)
    reply = token_request(federation, keys_dir, code, verifier, **overrides)
    assert reply.status_code == status and reply.json()["error"] == error, reply.text


def test_client_assertions_signed_by_another_key_or_replayed_are_refused(federation, keys_dir):
    code, verifier = a_code(federation)
    wrong_key = client_assertion(federation, keys_dir, key_file="test-rp-signing.key")
    reply = token_request(federation, keys_dir, code, verifier, client_assertion=wrong_key)
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in reply.headers
    code, verifier = a_code(federation)
    assertion = client_assertion(federation, keys_dir, jti="once-only")
    assert token_request(federation, keys_dir, code, verifier, client_assertion=assertion).status_code == 200
    code, verifier = a_code(federation)
    replayed = token_request(federation, keys_dir, code, verifier, client_assertion=assertion)
    assert replayed.status_code == 401 and replayed.json()["error"] == "invalid_client"
    code, verifier = a_code(federation)
    other_audience = client_assertion(federation, keys_dir, aud="https://elsewhere.example/token")
    reply = token_request(federation, keys_dir, code, verifier, client_assertion=other_audience)
    assert reply.status_code == 401


def test_userinfo_needs_a_bearer_token(federation):
    reply = requests.get(f"{hub(federation)}/userinfo", timeout=10)
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_request"
    assert userinfo(federation, "not-a-token").json()["error"] == "invalid_token"


@pytest.mark.parametrize("with_hint", [False, True])
def test_logout_refuses_an_unregistered_post_logout_redirect_uri(federation, keys_dir, with_hint):
    params = {"post_logout_redirect_uri": "https://attacker.example/"}
    if with_hint:
        now = int(time.time())
        claims = {"iss": hub(federation), "aud": CLIENT, "sub": "x", "sid": "y", "iat": now, "exp": now + 60}
        params["id_token_hint"] = sign_jwt(claims, load_signing_key(keys_dir / "hub-oidc-signing.key"))
    reply = requests.get(f"{hub(federation)}/logout", params=params, allow_redirects=False, timeout=10)
    assert reply.status_code == 400 and "Location" not in reply.headers


def test_logout_with_an_id_token_hint_returns_to_the_registered_uri(federation, keys_dir):
    client = second_library(federation, keys_dir)
    request = client.authorization_request(scope="openid", vtr=json.dumps(["Cl.Cm"]))
    token = client.authorization_code(request.validate_callback(journey(BrowserClient(), str(request.uri))))
    post_logout = federation.urls["RP_URL"] + "/oidc/"
    params = {"id_token_hint": str(token.id_token), "post_logout_redirect_uri": post_logout, "state": "bye"}
    reply = requests.get(f"{hub(federation)}/logout", params=params, allow_redirects=False, timeout=10)
    assert reply.status_code == 303 and reply.headers["Location"] == post_logout + "?state=bye"
    forged = dict(params, id_token_hint=str(token.id_token)[:-4] + "AAAA")
    assert (
        requests.get(f"{hub(federation)}/logout", params=forged, allow_redirects=False, timeout=10).status_code == 400
    )


def test_saml_services_get_the_same_return_codes_in_the_status_message(federation):
    """The SAML extension: the hub's Response carries the code in its StatusMessage (docs/saml-profiles.md)."""
    from tests.e2e.journey import IDP_TWO, at_idp_headless, choose, start_at_service

    browser = BrowserClient()
    page = at_idp_headless(
        browser, choose(browser, start_at_service(browser, federation), IDP_TWO), "alice", "fraud-DF01"
    )
    page = browser.submit(page, page.form(button="Return to"))
    saml_response = page.form(auto=True).xpath(".//input[@name='SAMLResponse']")[0].get("value")
    xml = base64.b64decode(saml_response).decode()
    assert "<saml2p:StatusMessage>return-code=fraud_suspected offer=other_ways</saml2p:StatusMessage>" in xml or (
        "return-code=fraud_suspected offer=other_ways" in xml and "StatusMessage" in xml
    )


def test_a_code_redeemed_by_another_client_is_refused(federation, keys_dir):
    """Both demo clients share one key: the signature passes, the code's binding to its client does not."""
    code, verifier = a_code(federation)
    other = client_assertion(federation, keys_dir, iss=MATCHING_CLIENT, sub=MATCHING_CLIENT)
    reply = token_request(federation, keys_dir, code, verifier, client_assertion=other)
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_grant"
