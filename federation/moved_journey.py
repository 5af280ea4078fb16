"""The hub's word that a sign-in's journey moved to this browser: the one format, for the hub and services.

A service binds the hub's answer to the browser that started the sign-in (`docs/client-library.md`). When
the citizen moved the journey to another device at the hub (a code entered there, confirmed on the first
device), the answer arrives in a browser the service has never seen. The service then sends that browser
to the hub (`MOVED_JOURNEY_PATH`, with its request ID and a fresh nonce it keeps with this browser's
session); the hub looks at its own cookie in that browser and answers, through the browser, with this
statement, a JWS it signs with its SAML signing key (the one in the signed federation metadata):

    iss  the hub's entity ID             aud    the service's entity ID
    iat, exp  a short validity           irt    the service's request ID (InResponseTo)
    nonce  the service's nonce, echoed   moved  true only if this browser received the journey

So a statement says something only about the browser that fetched it, and only for the service's own
nonce: an answer pushed into a victim's browser (login CSRF) makes the hub say `moved: false` there.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import ECKey, RSAKey

from federation.credentials import SigningCredential
from federation.jose import JwtError, SigningKey, decode_jwt, parse_jwks, public_jwk, sign_jwt

__all__ = [
    "MAX_FIELD_LENGTH",
    "MOVED_JOURNEY_PARAMETER",
    "MOVED_JOURNEY_PATH",
    "STATEMENT_LIFETIME",
    "MovedJourney",
    "check_url",
    "issue_statement",
    "read_statement",
]

MOVED_JOURNEY_PATH = "/continue/sign-in-here"  # on the hub: GET ?service=&request=&nonce=
MOVED_JOURNEY_PARAMETER = "HubMovedJourney"  # the query parameter the statement comes back in, at the ACS
STATEMENT_TYPE = "moved-journey+jwt"  # the JWS header's typ
STATEMENT_LIFETIME = timedelta(minutes=2)  # the browser carries it at once: two hops
MAX_FIELD_LENGTH = 256  # request IDs are 41 characters, nonces 43


@dataclass(frozen=True)
class MovedJourney:
    """What the hub said, once its signature, issuer, audience and time have been checked."""

    request_id: str
    nonce: str
    moved: bool


@functools.lru_cache(maxsize=8)
def _jws_key(credential: SigningCredential) -> SigningKey:
    private = credential.private_key
    key = RSAKey.import_key(private) if isinstance(private, rsa.RSAPrivateKey) else ECKey.import_key(private)
    key.ensure_kid()
    return SigningKey(key, "RS256" if isinstance(key, RSAKey) else "ES256")


def check_url(hub_base_url: str, service_entity_id: str, request_id: str, nonce: str) -> str:
    """Where a service sends a browser to ask the hub whether this request's journey moved to it."""
    query = urlencode({"service": service_entity_id, "request": request_id, "nonce": nonce})
    return f"{hub_base_url.rstrip('/')}{MOVED_JOURNEY_PATH}?{query}"


def issue_statement(
    credential: SigningCredential,
    *,
    hub_entity_id: str,
    service: str,
    request_id: str,
    nonce: str,
    moved: bool,
    now: datetime,
) -> str:
    """The hub's signed statement for one browser's question (see the module's docstring)."""
    issued = int(now.timestamp())
    claims = {
        "iss": hub_entity_id,
        "aud": service,
        "iat": issued,
        "exp": issued + int(STATEMENT_LIFETIME.total_seconds()),
        "irt": request_id,
        "nonce": nonce,
        "moved": moved,
    }
    return sign_jwt(claims, _jws_key(credential), typ=STATEMENT_TYPE)


def read_statement(
    token: str,
    hub_certificates: tuple[x509.Certificate, ...],
    *,
    hub_entity_id: str,
    service: str,
    now: datetime,
    leeway: timedelta,
) -> MovedJourney:
    """The statement if the hub signed it for `service` and it is in time; JwtError (a short reason) if not."""
    keys = parse_jwks({"keys": [public_jwk(cert) for cert in hub_certificates]})
    claims = decode_jwt(
        token,
        keys,
        issuer=hub_entity_id,
        audience=service,
        now=int(now.timestamp()),
        leeway=int(leeway.total_seconds()),
        typ=STATEMENT_TYPE,
        required=("iss", "aud", "iat", "exp", "irt", "nonce", "moved"),
    )
    request_id, nonce, moved = claims["irt"], claims["nonce"], claims["moved"]
    if not all(isinstance(value, str) and 0 < len(value) <= MAX_FIELD_LENGTH for value in (request_id, nonce)):
        raise JwtError("moved-journey-bad-claims")
    if not isinstance(moved, bool):
        raise JwtError("moved-journey-bad-claims")
    return MovedJourney(request_id, nonce, moved)
