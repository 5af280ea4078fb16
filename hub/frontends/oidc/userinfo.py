"""The userinfo endpoint: the claims an access token stands for (RFC 6750 bearer token in the header).

`sub` always; the verified identity (`verified_claims`), the identity JWT and the matching service's
answer when the grant holds them. The identity JWT is signed now, valid for three minutes, with `aud` the
client. Identity data is served once: the token then stands for `sub` alone until it expires.
"""

from __future__ import annotations

import secrets
from typing import Any

from federation.config import CORE_IDENTITY_CLAIM
from federation.jose import sign_jwt
from hub.frontends.oidc import OAuthError, grants
from hub.frontends.oidc.provider import TRUSTMARK_PATH
from hub.services import HubServices

IDENTITY_JWT_SECONDS = 180


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise OAuthError("invalid_request", "a Bearer access token is required", status=401)
    return token.strip()


def userinfo(hub: HubServices, token: str) -> dict[str, Any]:
    grant = grants.token_grant(hub, token)
    if grant is None:
        raise OAuthError("invalid_token", "the access token is unknown, revoked or expired", status=401)
    body: dict[str, Any] = {"sub": grant.sub, **grant.claims}
    if grant.identity_jwt is not None:
        now = int(hub.now().timestamp())
        claims = {
            "iss": hub.oidc.issuer,
            "sub": grant.sub,
            "aud": grant.client_id,
            "iat": now,
            "nbf": now,
            "exp": now + IDENTITY_JWT_SECONDS,
            "vtm": hub.oidc.url(TRUSTMARK_PATH),
            "jti": secrets.token_urlsafe(16),
            **grant.identity_jwt,
        }
        body[CORE_IDENTITY_CLAIM] = sign_jwt(claims, hub.oidc.signing_key)
    return body
