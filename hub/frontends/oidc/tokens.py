"""The token endpoint: an authorization code, redeemed once by the client it was issued to, for an ID token
and an access token.

Checks, in order: the client authenticates with `private_key_jwt` (`client_auth`); `grant_type` is
`authorization_code`; the code is live and unused (taken atomically; a code seen before revokes the access
token it gave, RFC 6749 4.1.2); it was issued to this client for this `redirect_uri`; the PKCE
`code_verifier` hashes to its challenge (RFC 7636, S256 only). Every failure is the RFC 6749 error JSON.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Mapping
from typing import Any

from authlib.oauth2.rfc7636 import create_s256_code_challenge

from federation.jose import sign_jwt
from hub.frontends.oidc import OAuthError, grants
from hub.frontends.oidc.client_auth import JwksCache, authenticate
from hub.frontends.oidc.provider import TRUSTMARK_PATH
from hub.services import HubServices

log = logging.getLogger("hub.oidc")

ID_TOKEN_SECONDS = 300
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 4.1


def _at_hash(access_token: str) -> str:
    """OpenID Connect Core 3.1.3.6: the left half of the token's SHA-256, base64url."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def id_token(hub: HubServices, grant: grants.Grant, access_token: str) -> str:
    now = int(hub.now().timestamp())
    claims: dict[str, Any] = {
        "iss": hub.oidc.issuer,
        "sub": grant.sub,
        "aud": grant.client_id,
        "iat": now,
        "exp": now + ID_TOKEN_SECONDS,
        "auth_time": grant.auth_time,
        "sid": grant.sid,
        "vot": grant.vot,
        "vtm": hub.oidc.url(TRUSTMARK_PATH),
        "at_hash": _at_hash(access_token),
        "jti": secrets.token_urlsafe(16),
    }
    if grant.nonce is not None:
        claims["nonce"] = grant.nonce
    return sign_jwt(claims, hub.oidc.signing_key)


def exchange(hub: HubServices, form: Mapping[str, str], cache: JwksCache) -> dict[str, Any]:
    """The token response for a valid request; OAuthError otherwise."""
    for name in ("grant_type", "code", "redirect_uri", "code_verifier", "client_assertion"):
        if hasattr(form, "getlist") and len(form.getlist(name)) > 1:
            raise OAuthError("invalid_request", f"{name} is given more than once")
    client = authenticate(hub, dict(form), cache)
    if form.get("grant_type") != "authorization_code":
        raise OAuthError("unsupported_grant_type", "only the authorization_code grant is supported")
    code, verifier, redirect_uri = form.get("code", ""), form.get("code_verifier", ""), form.get("redirect_uri")
    if not code or not redirect_uri:
        raise OAuthError("invalid_request", "code and redirect_uri are required")
    if not _VERIFIER.fullmatch(verifier):
        raise OAuthError("invalid_request", "code_verifier is required (PKCE, RFC 7636)")
    redemption = grants.redeem_code(hub, code)
    if redemption.replayed:
        log.warning("token refused: code-replayed (its access token revoked)")
        raise OAuthError("invalid_grant", "the code has been used")
    grant = redemption.grant
    if grant is None:
        raise OAuthError("invalid_grant", "the code is unknown or has expired")
    if grant.client_id != client.entity_id:
        log.warning("token refused: code-issued-to-another-client")
        raise OAuthError("invalid_grant", "the code was issued to another client")
    if grant.redirect_uri != redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request's")
    if not hmac.compare_digest(create_s256_code_challenge(verifier), grant.code_challenge):
        raise OAuthError("invalid_grant", "code_verifier does not match the code challenge")
    access_token = grants.issue_access_token(hub, grant, code)
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": grants.TOKEN_SECONDS,
        "id_token": id_token(hub, grant, access_token),
    }
