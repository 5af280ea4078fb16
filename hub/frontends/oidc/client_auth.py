"""Client authentication at the token endpoint: `private_key_jwt` (RFC 7523), verified with authlib against
the client's registered keys: its JWK Set file from the federation config, or the JWK Set at its `jwks_uri`
(fetched with a short timeout and cached for five minutes; the last good set is kept if a fetch fails).

The assertion must be signed by one of those keys (RS256, PS256 or ES256), with `iss` = `sub` = the client
ID, `aud` the hub's token endpoint or issuer, an `exp` no more than an hour ahead, and a `jti` never
seen before.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from federation.config import RelyingParty
from federation.jose import JwtError, parse_jwks
from federation.logsafe import log_safe
from federation.run_slots import waiting_elsewhere
from hub.frontends.oidc import OAuthError
from hub.services import HubServices

log = logging.getLogger("hub.oidc")

ASSERTION_TYPE = JWTBearerClientAssertion.CLIENT_ASSERTION_TYPE
MAX_ASSERTION_LIFETIME = 3600  # authlib signs for an hour; the jti is remembered as long
JWKS_CACHE_SECONDS = 300
JWKS_TIMEOUT_SECONDS = 3
MAX_JWKS_BYTES = 64 * 1024


@dataclass
class _Client:
    """What authlib's assertion check needs of a client."""

    rp: RelyingParty

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "private_key_jwt" and endpoint == "token"


@dataclass
class _Form:
    form: dict[str, str]
    client: Any = None


@dataclass
class JwksCache:
    """Clients' JWK Sets fetched from their `jwks_uri`, per process."""

    _entries: dict[str, tuple[float, KeySet]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, url: str, *, refresh: bool = False) -> KeySet:
        with self._lock:
            cached = self._entries.get(url)
        if cached is not None and not refresh and cached[0] > time.monotonic():
            return cached[1]
        try:
            with waiting_elsewhere():  # another request may run meanwhile (federation.run_slots)
                reply = requests.get(url, timeout=JWKS_TIMEOUT_SECONDS, allow_redirects=False, stream=True)
                body = reply.raw.read(MAX_JWKS_BYTES + 1, decode_content=True)
            if reply.status_code != 200 or len(body) > MAX_JWKS_BYTES:
                raise JwtError(f"jwks-uri-http-{reply.status_code}")
            keys = parse_jwks(json.loads(body))
        except (requests.RequestException, ValueError, JwtError) as exc:
            log.warning("client keys unavailable: %s (%s)", type(exc).__name__, log_safe(url))
            if cached is not None:
                return cached[1]  # the last good set, as with federation metadata
            raise OAuthError("invalid_client", "the client's keys could not be fetched", status=401) from None
        with self._lock:
            self._entries[url] = (time.monotonic() + JWKS_CACHE_SECONDS, keys)
        return keys


class _PrivateKeyJwt(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, hub: HubServices, cache: JwksCache) -> None:
        super().__init__(leeway=int(hub.config.clock_skew.total_seconds()))
        self.hub = hub
        self.cache = cache

    def get_audiences(self) -> list[str]:
        return [self.hub.oidc.token_endpoint, self.hub.oidc.issuer]

    def validate_jti(self, claims: Any, jti: str) -> bool:
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            return False
        ttl = MAX_ASSERTION_LIFETIME + int(self.hub.config.clock_skew.total_seconds()) * 2
        return self.hub.replay.add_if_absent("oidc-client-assertion", f"{claims['iss']} {jti}", ttl)

    def resolve_client_public_key(self, client: _Client) -> KeySet:
        oidc = client.rp.oidc
        if oidc.jwks is not None:
            return oidc.jwks
        return self.cache.get(oidc.jwks_uri)

    def verify_claims(self, claims: Any) -> None:
        super().verify_claims(claims)
        if int(claims["exp"]) > int(time.time()) + MAX_ASSERTION_LIFETIME:
            raise InvalidClientError(description="the client assertion lives too long")


def authenticate(hub: HubServices, form: dict[str, str], cache: JwksCache) -> RelyingParty:
    """The client that signed the request's `client_assertion`; OAuthError invalid_client (401) if none."""
    if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
        raise OAuthError("invalid_client", "private_key_jwt client authentication is required", status=401)
    if "client_secret" in form:
        raise OAuthError("invalid_client", "client secrets are not accepted", status=401)
    method = _PrivateKeyJwt(hub, cache)

    def query_client(client_id: str) -> _Client | None:
        rp = hub.config.oidc_client(client_id)
        return _Client(rp) if rp is not None else None

    try:
        client = method(query_client, _Form(dict(form)))
    except InvalidClientError as exc:
        log.warning("client authentication refused: %s", log_safe(exc.description or "invalid_client"))
        raise OAuthError("invalid_client", "client authentication failed", status=401) from None
    except (JoseError, ValueError, TypeError, KeyError) as exc:  # a malformed assertion authlib did not classify
        log.warning("client authentication refused: malformed assertion (%s)", type(exc).__name__)
        raise OAuthError("invalid_client", "client authentication failed", status=401) from None
    if client is None:
        raise OAuthError("invalid_client", "client authentication failed", status=401)
    claimed = form.get("client_id")
    if claimed is not None and claimed != client.rp.entity_id:
        raise OAuthError("invalid_client", "client_id does not match the client assertion", status=401)
    return client.rp
