"""JSON Web Keys and Tokens: the one place the federation signs and verifies JWTs (with joserfc, authlib's
JOSE library).

The hub signs ID tokens, identity JWTs and logout tokens here; the hub verifies clients' `private_key_jwt`
assertions with the same key sets; the example service verifies the hub's logout tokens with it too. Keys
come from files or configuration, never from a token's header: a token names its key by `kid` only among
the keys its receiver already holds, and only the algorithms given are accepted (never `none`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

from federation.credentials import CredentialError, load_private_key

__all__ = [
    "ALGORITHMS",
    "JwtError",
    "SigningKey",
    "decode_jwt",
    "key_set",
    "load_jwks_file",
    "load_signing_key",
    "parse_jwks",
    "public_jwk",
    "public_jwks",
    "sign_jwt",
]

# Asymmetric signatures only: an HMAC or `none` token is never accepted, whatever its header says.
ALGORITHMS: tuple[str, ...] = ("RS256", "PS256", "ES256")
MAX_JWKS_KEYS = 10


class JwtError(Exception):
    """A token or key set that cannot be used; `reason` is short and safe to log (no token content)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, eq=False)
class SigningKey:
    """A private signing key as a JWK: `kid` is its RFC 7638 thumbprint, so it never needs configuring."""

    jwk: RSAKey | ECKey
    alg: str

    @property
    def kid(self) -> str:
        return str(self.jwk.kid)

    def public(self) -> dict[str, Any]:
        return {**self.jwk.as_dict(private=False), "use": "sig", "alg": self.alg}


def _alg_for(key: RSAKey | ECKey) -> str:
    return "RS256" if isinstance(key, RSAKey) else "ES256"


@functools.lru_cache(maxsize=32)
def _signing_key(path: Path) -> SigningKey:
    private = load_private_key(path)
    key: RSAKey | ECKey = (
        RSAKey.import_key(private) if isinstance(private, rsa.RSAPrivateKey) else ECKey.import_key(private)
    )
    key.ensure_kid()
    return SigningKey(key, _alg_for(key))


def load_signing_key(path: Path) -> SigningKey:
    """The private key at `path` (PEM, RSA or EC P-256), loaded once per process."""
    return _signing_key(Path(path).resolve())


def public_jwk(certificate: x509.Certificate) -> dict[str, Any]:
    """The public key of `certificate` as a JWK for verifying signatures (`kid`: its thumbprint)."""
    public = certificate.public_key()
    key: RSAKey | ECKey = (
        RSAKey.import_key(public) if isinstance(public, rsa.RSAPublicKey) else ECKey.import_key(public)
    )
    key.ensure_kid()
    return {**key.as_dict(private=False), "use": "sig", "alg": _alg_for(key)}


def public_jwks(keys: Iterable[SigningKey]) -> dict[str, Any]:
    """The public JWK Set a receiver verifies our tokens with (during a rotation: current and next)."""
    return {"keys": [key.public() for key in keys]}


def parse_jwks(raw: Any) -> KeySet:
    """A received or configured JWK Set of public signing keys; JwtError if it is anything else."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("keys"), list) or not raw["keys"]:
        raise JwtError("jwks-not-a-key-set")
    if len(raw["keys"]) > MAX_JWKS_KEYS:
        raise JwtError("jwks-too-many-keys")
    for item in raw["keys"]:
        if not isinstance(item, Mapping) or item.get("kty") not in ("RSA", "EC"):
            raise JwtError("jwks-unsupported-key-type")
        if "d" in item:
            raise JwtError("jwks-holds-a-private-key")
    try:
        keys = KeySet.import_key_set(dict(raw))
    except (JoseError, ValueError, TypeError) as exc:
        raise JwtError("jwks-invalid") from exc
    for key in keys.keys:
        key.ensure_kid()
    return keys


def load_jwks_file(path: Path) -> KeySet:
    """A JWK Set from a JSON file (a service's public keys, registered in the federation config)."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise CredentialError(f"JWK Set {path}: cannot be read ({exc.strerror})") from None
    except ValueError:
        raise CredentialError(f"JWK Set {path}: not JSON") from None
    try:
        return parse_jwks(raw)
    except JwtError as exc:
        raise CredentialError(f"JWK Set {path}: {exc.reason}") from None


def key_set(keys: Sequence[SigningKey]) -> KeySet:
    """The public halves of our own keys, for verifying what we signed (tests, the example service)."""
    return parse_jwks(public_jwks(keys))


def sign_jwt(claims: Mapping[str, Any], key: SigningKey, *, typ: str = "JWT") -> str:
    """A compact JWS over `claims`, with `kid` and `typ` in the header."""
    return jwt.encode({"alg": key.alg, "kid": key.kid, "typ": typ}, dict(claims), key.jwk, algorithms=[key.alg])


def decode_jwt(
    token: str,
    keys: KeySet,
    *,
    issuer: str | None = None,
    audience: str | Sequence[str] | None = None,
    now: int | None = None,
    leeway: int = 30,
    typ: str | None = None,
    required: Sequence[str] = ("iss", "aud", "iat", "exp"),
) -> dict[str, Any]:
    """The claims of a token signed by one of `keys`, checked for issuer, audience and time; JwtError if not.

    The key is chosen by the header's `kid` among `keys` (the only key if there is no `kid`).
    """
    if not isinstance(token, str) or len(token) > 16 * 1024 or token.count(".") != 2:
        raise JwtError("jwt-malformed")
    try:
        decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
    except JoseError as exc:
        raise JwtError(f"jwt-{exc.error}") from exc
    except (ValueError, TypeError) as exc:
        raise JwtError("jwt-malformed") from exc
    if typ is not None and str(decoded.header.get("typ", "")).lower() not in (
        typ.lower(),
        f"application/{typ}".lower(),
    ):
        raise JwtError("jwt-wrong-type")
    options: dict[str, Any] = {name: {"essential": True} for name in required}
    if issuer is not None:
        options["iss"] = {"essential": True, "value": issuer}
    if audience is not None:
        values = [audience] if isinstance(audience, str) else list(audience)
        options["aud"] = {"essential": True, "values": values}
    registry = jwt.JWTClaimsRegistry(now=now, leeway=leeway, **options)
    try:
        registry.validate(decoded.claims)
    except JoseError as exc:
        raise JwtError(f"jwt-claim-{exc.error}") from exc
    return dict(decoded.claims)
