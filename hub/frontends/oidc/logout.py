"""Logout: the end-session endpoint (OpenID Connect RP-Initiated Logout) and back-channel logout (OpenID
Connect Back-Channel Logout 1.0).

When the citizen's hub login session ends, every client signed in to it that registered a
`backchannel_logout_uri` is sent a signed `logout_token` (`iss`, `aud`, `iat`, `exp`, a fresh `jti`,
`sid`, `sub`, the back-channel logout event, no `nonce`; header `typ: logout+jwt`), posted as a form, one
attempt with a short timeout: a client that is down misses it and its own session lapses as usual. A
token is for one client and one session only; clients must refuse a `jti` seen before.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any

import requests

from federation.jose import JwtError, decode_jwt, sign_jwt
from federation.logsafe import log_safe
from federation.run_slots import waiting_elsewhere
from hub.frontends.oidc import NoRedirect, grants
from hub.frontends.oidc.answer import redirect_url
from hub.services import HubServices

log = logging.getLogger("hub.oidc")

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_SECONDS = 120
BACKCHANNEL_TIMEOUT_SECONDS = 3


def logout_token(hub: HubServices, client_id: str, sub: str, sid: str) -> str:
    now = int(hub.now().timestamp())
    claims = {
        "iss": hub.oidc.issuer,
        "aud": client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_SECONDS,
        "jti": secrets.token_urlsafe(16),
        "sid": sid,
        "sub": sub,
        "events": {BACKCHANNEL_EVENT: {}},
    }
    return sign_jwt(claims, hub.oidc.signing_key, typ="logout+jwt")


def notify_clients(hub: HubServices, sid: str, signed_in: tuple[grants.SignedIn, ...]) -> int:
    """Post a logout token to each signed-in client with a back-channel URI; how many accepted it."""
    delivered = 0
    for item in signed_in:
        rp = hub.config.oidc_client(item.client_id)
        uri = rp.oidc.backchannel_logout_uri if rp is not None and rp.oidc is not None else None
        if uri is None:
            continue
        token = logout_token(hub, item.client_id, item.sub, sid)
        try:
            with waiting_elsewhere():  # another request may run meanwhile (federation.run_slots)
                reply = requests.post(
                    uri, data={"logout_token": token}, timeout=BACKCHANNEL_TIMEOUT_SECONDS, allow_redirects=False
                )
        except requests.RequestException as exc:
            log.warning("back-channel logout to %s failed: %s", item.client_id, type(exc).__name__)
            continue
        if reply.status_code == 200:
            delivered += 1
        else:
            log.warning("back-channel logout to %s refused: http-%s", item.client_id, reply.status_code)
    return delivered


def confirmation_token(hub: HubServices, browser_sid: str) -> str:
    """The form token that confirms a logout asked for without an ID token (against logout CSRF)."""
    return hmac.new(hub.secret, b"oidc-logout:" + browser_sid.encode(), hashlib.sha256).hexdigest()


def confirmed(hub: HubServices, browser_sid: str | None, sent: str) -> bool:
    return bool(browser_sid) and hmac.compare_digest(confirmation_token(hub, browser_sid), sent)


@dataclass(frozen=True)
class LoggedOut:
    redirect: str | None  # the client's registered post-logout redirect URI (with its state), or None
    clients: int


def _hint(hub: HubServices, id_token_hint: str | None) -> dict[str, Any] | None:
    """The claims of an ID token we issued (it may have expired: a hint names a session, it grants nothing)."""
    if not id_token_hint:
        return None
    try:
        return decode_jwt(
            id_token_hint, hub.oidc.verification_keys(), issuer=hub.oidc.issuer, leeway=10**9, required=("iss", "aud")
        )
    except JwtError as exc:
        raise NoRedirect(f"id-token-hint-{exc.reason}") from None


def end_session(
    hub: HubServices,
    *,
    id_token_hint: str | None,
    post_logout_redirect_uri: str | None,
    state: str | None,
    browser_sid: str | None,
) -> LoggedOut:
    """End the login session named by the hint (or this browser's, once the citizen has confirmed) and
    tell its clients."""
    hint = _hint(hub, id_token_hint)
    redirect = None
    if post_logout_redirect_uri is not None:
        client = hub.config.oidc_client(hint.get("aud")) if hint else None
        if client is None or post_logout_redirect_uri not in client.oidc.post_logout_redirect_uris:
            raise NoRedirect("post-logout-redirect-uri-not-registered")  # never an open redirect
        redirect = redirect_url(post_logout_redirect_uri, {"state": state} if state else {})
    sid = str(hint["sid"]) if hint and isinstance(hint.get("sid"), str) else browser_sid
    signed_in = grants.end_login(hub, sid)
    delivered = notify_clients(hub, sid, signed_in) if sid and signed_in else 0
    log.info("oidc logout: %d client(s) signed in, %d told by back channel (%s)", len(signed_in), delivered,
             log_safe(hint.get("aud") if hint else "no hint"))  # fmt: skip
    return LoggedOut(redirect, delivered)
