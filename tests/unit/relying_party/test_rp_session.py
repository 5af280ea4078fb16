"""The service's session: the cookie holds a random ID and nothing else; sign-out and sign-in are real.

A copied cookie must be worth nothing once the citizen has signed out, and the cookie must not carry the
citizen's identifier (or the request ID and RelayState of a sign-in) in a form anyone can read.
"""

from __future__ import annotations

import base64
import binascii
import re
import socket
import zlib

import pytest
from rp_support import (
    HASHED_PID,
    REDIS_URL,
    csrf_token_of,
    hub_response,
    matching_service_assertion,
    sign_in_matched,
    start_sign_in,
)

from federation.config import load_federation_config
from federation.demo import DEMO_CONFIG
from federation.runtime import Runtime
from relying_party_example.app import create_app

COOKIE = "rp_session"
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")  # 32 random bytes, base64url without padding: 256 bits


def session_id(client, name: str = COOKIE) -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None, f"no {name} cookie"
    return cookie.value


def readable(cookie_value: str) -> str:
    """Everything anyone holding the cookie can read from it: each dot-separated part, base64 and zlib
    decoded where that works (what Flask's signed, not encrypted, cookie is made of)."""
    texts = [cookie_value]
    for part in cookie_value.split("."):
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            continue
        texts.append(raw.decode("latin-1"))
        try:
            texts.append(zlib.decompress(raw).decode("latin-1"))
        except zlib.error:
            pass
    return "\n".join(texts)


def sign_out(client) -> None:
    response = client.post("/sign-out", data={"csrf_token": csrf_token_of(client)})
    assert response.status_code == 303, response.get_data(as_text=True)


def test_sign_out_revokes_the_session_so_an_old_copy_of_the_cookie_is_signed_out_too(client, fed):
    sign_in_matched(client, fed)
    copied = session_id(client)
    sign_out(client)
    assert client.get("/signed-in").status_code == 303  # signed out in this browser
    client.set_cookie(COOKIE, copied)  # the copy someone kept of the cookie before sign-out
    replayed = client.get("/signed-in")
    assert replayed.status_code == 303 and replayed.headers["Location"].endswith("/"), replayed.status_code
    assert "/signed-in" not in client.get("/").get_data(as_text=True)  # the service page does not say signed in


def test_the_cookie_holds_a_random_session_id_and_no_identifier(client, fed):
    sign_in = start_sign_in(client)
    during = session_id(client)
    assert SESSION_ID.match(during), during
    assert sign_in.request_id not in readable(during) and sign_in.relay_state not in readable(during)

    assertion = matching_service_assertion(fed, in_response_to=sign_in.request_id)
    saml = hub_response(fed, fed.matching_rp, in_response_to=sign_in.request_id, assertions=[assertion])
    response = client.post("/SAML2/SSO/POST", data={"SAMLResponse": saml, "RelayState": sign_in.relay_state})
    while response.status_code == 303:
        response = client.get(response.headers["Location"])
    assert HASHED_PID in response.get_data(as_text=True)  # signed in

    after = session_id(client)
    assert SESSION_ID.match(after), after
    for secret in (HASHED_PID, "success_match", "LEVEL_2", sign_in.request_id, sign_in.relay_state):
        assert secret not in readable(after), secret


def test_the_cookie_is_httponly_samesite_lax_for_the_whole_site(client):
    client.get("/")
    response = client.get("/")  # a browser that already holds the cookie is not sent a new one
    assert "Set-Cookie" not in response.headers
    fresh = type(client)(client.application).get("/")
    cookie = fresh.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "samesite", "path"} <= attributes and "domain" not in attributes, cookie
    assert "SameSite=Lax" in cookie and "Path=/" in cookie


def test_the_session_id_is_renewed_when_the_hub_answer_is_applied(client, fed):
    client.get("/")
    before = session_id(client)
    sign_in_matched(client, fed)
    after = session_id(client)
    assert after != before  # a session ID someone planted or saw before sign-in is not the signed-in one
    client.set_cookie(COOKIE, before)
    assert client.get("/signed-in").status_code == 303


def test_a_session_id_the_service_never_issued_is_replaced(client):
    client.set_cookie(COOKIE, "chosen-by-someone-else")
    client.get("/")
    assert SESSION_ID.match(session_id(client))


@pytest.fixture(scope="module")
def https_app(fed, keys_dir, tmp_path_factory):
    """The service at an https address (behind TLS): its cookie takes the __Host- prefix."""
    config = load_federation_config(DEMO_CONFIG, keys_dir=keys_dir, variables={"RP_URL": "https://localhost"})
    runtime = Runtime(
        config=config, keys_dir=keys_dir, var_dir=tmp_path_factory.mktemp("rp-https"), environ={"RP_SECRET_KEY": "s"}
    )
    app = create_app(runtime, metadata_fetch=lambda url, timeout: fed.metadata)
    yield app
    app.extensions["relying_party_example"]["metadata"].stop()


def test_over_https_the_cookie_is_secure_with_the_host_prefix(https_app):
    response = https_app.test_client().get("/", base_url="https://localhost")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-rp_session="), cookie
    assert "; Secure" in cookie and "; HttpOnly" in cookie and "; Path=/" in cookie and "Domain" not in cookie


# --- sessions in Redis: several processes of the service, one session ----------------------------------------


def service(fed, keys_dir, federation_config, tmp_path, **environ: str):
    runtime = Runtime(config=federation_config, keys_dir=keys_dir, var_dir=tmp_path, environ=environ)
    return create_app(runtime, metadata_fetch=lambda url, timeout: fed.metadata)


def stopped(*apps) -> None:
    for app in apps:
        app.extensions["relying_party_example"]["metadata"].stop()


def test_with_redis_every_process_of_the_service_holds_the_same_sessions(
    fed, keys_dir, federation_config, tmp_path, raw_redis, redis_prefix
):
    settings = {"RP_REDIS_URL": REDIS_URL, "RP_REDIS_KEY_PREFIX": redis_prefix, "RP_SECRET_KEY": "shared-secret"}
    first = service(fed, keys_dir, federation_config, tmp_path, **settings)
    second = service(fed, keys_dir, federation_config, tmp_path, **settings)
    try:
        browser = first.test_client()
        sign_in_matched(browser, fed)
        stored = [raw_redis.get(key) for key in raw_redis.scan_iter(match=f"{redis_prefix}session:*")]
        assert len(stored) == 1 and HASHED_PID.encode() in stored[0]  # the identifier is in the store ...
        assert session_id(browser).encode() not in b"".join(raw_redis.scan_iter(match=f"{redis_prefix}*"))
        # ... and the other process, reached with the same cookie, knows it
        browser.application = second
        assert HASHED_PID in browser.get("/signed-in").get_data(as_text=True)
        sign_out(browser)
        assert not list(raw_redis.scan_iter(match=f"{redis_prefix}session:*"))  # gone from the store
    finally:
        stopped(first, second)


def test_redis_without_a_shared_secret_refuses_to_start(fed, keys_dir, federation_config, tmp_path):
    with pytest.raises(ValueError, match="RP_SECRET_KEY"):
        service(fed, keys_dir, federation_config, tmp_path, RP_REDIS_URL=REDIS_URL)


def test_store_down_gives_the_unavailable_page_and_signs_nobody_in(fed, keys_dir, federation_config, tmp_path, caplog):
    with socket.socket() as bound:  # bound but not listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        down = f"redis://:hunter2@127.0.0.1:{bound.getsockname()[1]}/0"
        app = service(fed, keys_dir, federation_config, tmp_path, RP_REDIS_URL=down, RP_SECRET_KEY="s")
        try:
            browser = app.test_client()
            browser.set_cookie(COOKIE, "A" * 43)
            for response in (browser.get("/"), browser.get("/signed-in")):
                page = response.get_data(as_text=True)
                assert response.status_code == 503 and 'id="problem-unavailable"' in page, page
                assert "Traceback" not in page
        finally:
            stopped(app)
    assert "session store unavailable" in caplog.text and "hunter2" not in caplog.text
