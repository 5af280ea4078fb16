"""The example service's OpenID Connect sign-in at /oidc/: authlib's Flask client, as a department writes it.

Discovery from the hub's `/.well-known/openid-configuration`; the authorization code flow with PKCE (S256),
`state` and `nonce` kept in the service's server-side session (never in a cookie); client authentication
with `private_key_jwt` (the key registered in the federation config as a JWK Set); the ID token checked by
authlib (signature from the hub's JWKS, issuer, audience, nonce, expiry, `at_hash`); a `claims` request
for OpenID Connect for Identity Assurance `verified_claims` and the identity JWT, whose signature is checked
too. Sign-out ends the local session and the hub's (RP-initiated logout); the hub's back-channel logout
token ends the local session of whoever signed in with that `sid`.

A journey the citizen moved to another device at the hub comes back to the callback in a browser that did
not start it: the attempt is also kept server-side by its `state` (`ATTEMPTS`), so the callback keeps the
code under a fresh nonce bound to this browser's session and asks the hub, through this browser, whether
the journey moved here (`federation.moved_journey`, as the SAML services do with `hub_client`); only on the
hub's signed yes is the code redeemed, here.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from flask import Blueprint, Flask, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from joserfc.jwk import KeySet

from federation import moved_journey
from federation.config import CORE_IDENTITY_CLAIM, FederationConfig, RelyingParty
from federation.jose import JwtError, decode_jwt, load_signing_key
from federation.web import current_language
from relying_party_example.browser_session import NAMESPACE as SESSIONS
from relying_party_example.browser_session import BrowserSession, current, sessions_of_app
from relying_party_example.store import Store

log = logging.getLogger("relying_party_example")

CLIENT = "test-rp-oidc"  # its client ID in the federation config
BLUEPRINT = "oidc"
CLIENT_KEY = "test-rp-oidc-client.key"  # in the keys directory; its public half is registered as a JWK Set
RESULT = "oidc:result"
ATTEMPT = "oidc:attempt"
LOGINS = "oidc-sid"  # the hub's sid -> this service's session, for back-channel logout
ATTEMPTS = "oidc-attempt"  # state -> the attempt and the session that started it (a journey may move)
AWAITING_HUB = "oidc-awaiting-hub"  # nonce -> a callback in another browser, until the hub's word
AWAITING_SECONDS = 60  # two automatic hops; the hub's code lives 60 s anyway
_NONCE_FORM = re.compile(r"^[A-Za-z0-9_-]{43}$")
SEEN_LOGOUT_TOKENS = "oidc-logout-jti"
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# What the citizen may ask for: authentication only, or authentication with verified identity.
VECTORS = {"sign_in": "Cl.Cm", "prove_identity": "Cl.Cm.P2"}
IDENTITY_CLAIMS = {
    "userinfo": {
        "verified_claims": {
            "verification": {"trust_framework": None},
            "claims": {"given_name": None, "family_name": None, "birthdate": None, "address": None},
        },
        CORE_IDENTITY_CLAIM: None,
    }
}


def _register(oauth: OAuth, config: FederationConfig, rp: RelyingParty, keys_dir: Path) -> None:
    hub = config.hub.base_url
    oauth.register(
        "hub",
        client_id=rp.oidc.client_id,
        client_secret=load_signing_key(keys_dir / CLIENT_KEY).jwk,  # private_key_jwt signs with it
        server_metadata_url=f"{hub}/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid",
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "private_key_jwt",
        },
        client_auth_methods=[PrivateKeyJWT(f"{hub}/token")],
    )


def oidc_blueprint(app: Flask, config: FederationConfig, keys_dir: Path, store: Store) -> Blueprint:
    rp = config.oidc_client(CLIENT)
    oauth = OAuth(app)
    _register(oauth, config, rp, keys_dir)
    hub = oauth.hub
    prefix = urlsplit(rp.service_home_url).path.rstrip("/")
    redirect_uri = rp.oidc.redirect_uris[0]
    blueprint = Blueprint(BLUEPRINT, __name__, url_prefix=prefix)
    ttl = int(config.session_lifetime.total_seconds())

    def problem(name: str, status: int = 400) -> ResponseReturnValue:
        page = render_template("relying_party/problem.html", problem=name, rp=rp, home_url=url_for(".home"))
        return page, status

    def hub_keys() -> KeySet:
        return KeySet.import_key_set(hub.fetch_jwk_set())

    @blueprint.get("/")
    def home() -> ResponseReturnValue:
        return render_template("relying_party/oidc_service.html", rp=rp, result=current().data.get(RESULT))

    @blueprint.post("/start")
    def start() -> ResponseReturnValue:
        session = current()
        if not sessions_of_app().csrf_valid(session, request.form.get("csrf_token", "")):
            return problem("form_expired")
        vector = VECTORS.get(request.form.get("assurance", ""), VECTORS["sign_in"])
        extra: dict[str, Any] = {"vtr": json.dumps([vector]), "ui_locales": current_language()}
        if vector.endswith(".P2"):
            extra["claims"] = json.dumps(IDENTITY_CLAIMS)
        try:
            authorization = hub.create_authorization_url(redirect_uri, **extra)
        except Exception as exc:  # noqa: BLE001 - discovery failed: the hub is unreachable
            log.warning("oidc sign-in unavailable: %s", type(exc).__name__)
            return problem("unavailable", 503)
        session.data[ATTEMPT] = {k: authorization[k] for k in ("state", "nonce", "code_verifier")}
        session.data.pop(RESULT, None)
        sessions_of_app().save(session)
        store.put(ATTEMPTS, authorization["state"], {**session.data[ATTEMPT], "session_ref": session.ref}, ttl)
        return redirect(authorization["url"], 303)

    @blueprint.get("/callback")
    def callback() -> ResponseReturnValue:
        if moved_journey.MOVED_JOURNEY_PARAMETER in request.args:
            return moved_journey_answer()
        session, sessions = current(), sessions_of_app()
        state = request.args.get("state", "")
        attempt = session.data.pop(ATTEMPT, None)
        if attempt is None or not hmac.compare_digest(state, attempt["state"]):
            return ask_the_hub(session, state)  # another browser's attempt, if the journey moved here
        store.delete(ATTEMPTS, state)
        sessions.save(session)  # the attempt is used up, whatever follows
        return finish(session, attempt, dict(request.args))

    def ask_the_hub(session: BrowserSession, state: str) -> ResponseReturnValue:
        """The answer to an attempt this browser did not start: keep it for this browser, ask the hub."""
        attempt = store.take(ATTEMPTS, state) if 0 < len(state) <= moved_journey.MAX_FIELD_LENGTH else None
        if attempt is None:
            return problem("no_attempt")
        nonce = secrets.token_urlsafe(32)
        kept = {"attempt": attempt, "args": dict(request.args), "browser_ref": session.ref}
        store.put(AWAITING_HUB, nonce, kept, AWAITING_SECONDS)
        log.info("oidc answer in another browser: asking the hub")
        return redirect(moved_journey.check_url(config.hub.base_url, rp.entity_id, state, nonce), 303)

    def moved_journey_answer() -> ResponseReturnValue:
        """The hub's signed word on whether the journey moved to this browser; the code is redeemed only on yes."""
        try:
            said = moved_journey.read_statement(
                request.args.get(moved_journey.MOVED_JOURNEY_PARAMETER, ""),
                tuple(cert.certificate for cert in config.hub.signing_certificates),
                hub_entity_id=config.hub.entity_id,
                service=rp.entity_id,
                now=datetime.now(UTC),
                leeway=config.clock_skew,
            )
        except JwtError as exc:
            log.warning("oidc sign-in refused: moved-journey %s", exc.reason)
            return problem("bad_response")
        kept = store.take(AWAITING_HUB, said.nonce) if _NONCE_FORM.match(said.nonce) else None
        session = current()
        if kept is None or not hmac.compare_digest(str(kept["attempt"]["state"]), said.request_id):
            return problem("no_attempt")
        if not session.started_by_this_browser(str(kept["browser_ref"])) or not said.moved:
            log.warning("oidc sign-in refused: answer-brought-to-another-session")
            return problem("no_attempt")
        log.info("oidc journey moved to this browser")
        return finish(session, kept["attempt"], kept["args"])

    def finish(session: BrowserSession, attempt: dict[str, Any], args: dict[str, str]) -> ResponseReturnValue:
        """The answer to `attempt`, in this browser: an error to show, or a code to redeem and sign in with."""
        sessions = sessions_of_app()
        if args.get("iss") != hub.load_server_metadata()["issuer"]:
            return problem("bad_response")  # RFC 9207: the answer comes from the provider we asked
        if "error" in args:
            log.info("oidc sign-in ended: %s", args.get("error"))
            session.data[RESULT] = {
                "error": args.get("error"),
                "return_code": args.get("return_code"),
                "return_offer": args.get("return_offer"),
            }
            sessions.save(session)
            return redirect(url_for(".home"), 303)
        try:
            token = hub.fetch_access_token(
                redirect_uri, code=args.get("code", ""), code_verifier=attempt["code_verifier"]
            )
            id_token = hub.parse_id_token(token, nonce=attempt["nonce"])
            userinfo = dict(hub.userinfo(token=token))
        except OAuthError as exc:
            log.warning("oidc sign-in refused: %s", exc.error)
            return problem("bad_response")
        if userinfo.get("sub") != id_token["sub"]:
            return problem("bad_response")
        identity_jwt = userinfo.pop(CORE_IDENTITY_CLAIM, None)
        if identity_jwt is not None:
            try:
                decode_jwt(identity_jwt, hub_keys(), issuer=id_token["iss"], audience=rp.oidc.client_id)
            except JwtError as exc:
                log.warning("oidc sign-in refused: identity JWT %s", exc.reason)
                return problem("bad_response")
        sessions.renew(session)
        session.data[RESULT] = {
            "sub": id_token["sub"],
            "vot": id_token["vot"],
            "sid": id_token.get("sid"),
            "id_token": token["id_token"],
            "verified_claims": userinfo.get("verified_claims"),
            "identity_jwt": identity_jwt is not None,
        }
        sessions.save(session)
        if id_token.get("sid"):
            store.put(LOGINS, id_token["sid"], {"session_id": session.id}, ttl)
        log.info("oidc sign-in applied vot=%s", id_token["vot"])
        return redirect(url_for(".home"), 303)

    @blueprint.post("/sign-out")
    def sign_out() -> ResponseReturnValue:
        session, sessions = current(), sessions_of_app()
        if not sessions.csrf_valid(session, request.form.get("csrf_token", "")):
            return problem("form_expired")
        result = session.data.get(RESULT) or {}
        sessions.end(session)
        if not result.get("id_token"):
            return redirect(url_for(".home"), 303)
        logout = hub.create_logout_url(
            post_logout_redirect_uri=rp.oidc.post_logout_redirect_uris[0], id_token_hint=result["id_token"]
        )
        return redirect(logout["url"], 303)  # the hub ends its session and tells the services signed in to it

    @blueprint.post("/backchannel-logout")
    def backchannel_logout() -> ResponseReturnValue:
        """OpenID Connect Back-Channel Logout 1.0: the hub says a citizen's login session has ended."""
        try:
            claims = decode_jwt(
                request.form.get("logout_token", ""),
                hub_keys(),
                issuer=hub.load_server_metadata()["issuer"],
                audience=rp.oidc.client_id,
                typ="logout+jwt",
                required=("iss", "aud", "iat", "exp", "jti", "events"),
            )
        except JwtError as exc:
            log.warning("logout token refused: %s", exc.reason)
            return {"error": "invalid_request"}, 400
        events = claims.get("events")
        if not isinstance(events, dict) or BACKCHANNEL_EVENT not in events or "nonce" in claims:
            return {"error": "invalid_request"}, 400
        if not isinstance(claims.get("sid"), str) or store.get(SEEN_LOGOUT_TOKENS, str(claims["jti"])) is not None:
            return {"error": "invalid_request"}, 400
        store.put(SEEN_LOGOUT_TOKENS, str(claims["jti"]), {"seen": True}, 600)
        login = store.take(LOGINS, claims["sid"])
        if login is not None:
            store.delete(SESSIONS, str(login["session_id"]))
        log.info("back-channel logout applied (%s)", "session ended" if login else "no session")
        return "", 200

    return blueprint
