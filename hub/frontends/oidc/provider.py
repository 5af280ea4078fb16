"""The hub as an OpenID Connect provider: its endpoints, its signing keys and its discovery document.

Tokens are signed with the first of the hub's `oidc_signing_certificates`' keys; the JWKS publishes every
configured key (current and next during a rotation), so a client that caches the JWKS verifies tokens
signed with either. The `kid` is each key's RFC 7638 thumbprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet

from federation import vectors_of_trust as vot
from federation.config import CORE_IDENTITY_CLAIM, OIDC_CLAIMS, FederationConfig
from federation.jose import ALGORITHMS, SigningKey, load_signing_key, public_jwk

AUTHORIZE_PATH = "/authorize"
TOKEN_PATH = "/token"  # noqa: S105 - a path, not a secret
USERINFO_PATH = "/userinfo"
END_SESSION_PATH = "/logout"
JWKS_PATH = "/.well-known/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"
TRUSTMARK_PATH = "/trustmark"

ID_TOKEN_ALG = "RS256"  # noqa: S105 - an algorithm name
# The hub's own claims: the matching service's answer for a matching client, and the return codes.
MATCHING_CLAIM = "https://vocab.federation.test/v1/matching"
RETURN_CODE_CLAIM = "return_code"


@dataclass(frozen=True, eq=False)
class OidcProvider:
    issuer: str
    signing_key: SigningKey
    published: tuple[dict[str, Any], ...]  # public JWKs, current first

    def url(self, path: str) -> str:
        return self.issuer + path

    @property
    def token_endpoint(self) -> str:
        return self.url(TOKEN_PATH)

    def jwks(self) -> dict[str, Any]:
        return {"keys": list(self.published)}

    def verification_keys(self) -> KeySet:
        """Our own published keys: an `id_token_hint` is verified with these."""
        return KeySet.import_key_set(self.jwks())

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.url(AUTHORIZE_PATH),
            "token_endpoint": self.url(TOKEN_PATH),
            "userinfo_endpoint": self.url(USERINFO_PATH),
            "end_session_endpoint": self.url(END_SESSION_PATH),
            "jwks_uri": self.url(JWKS_PATH),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["pairwise"],
            "scopes_supported": ["openid"],
            "id_token_signing_alg_values_supported": [ID_TOKEN_ALG],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": list(ALGORITHMS),
            "code_challenge_methods_supported": ["S256"],
            "claims_parameter_supported": True,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "sid",
                "vot",
                "vtm",
                "verified_claims",
                *OIDC_CLAIMS,
                MATCHING_CLAIM,
            ],  # fmt: skip
            "prompt_values_supported": ["none", "login", "select_account"],
            "ui_locales_supported": ["en", "cy"],
            "vtr_values_supported": _vectors_supported(),
            "trustmarks": self.url(TRUSTMARK_PATH),
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "authorization_response_iss_parameter_supported": True,
            # OpenID Connect for Identity Assurance 1.0
            "verified_claims_supported": True,
            "trust_frameworks_supported": [TRUST_FRAMEWORK],
            "evidence_supported": ["vouch"],
            "claims_in_verified_claims_supported": ["given_name", "family_name", "birthdate", "address"],
            "identity_jwt_claim": CORE_IDENTITY_CLAIM,
        }


TRUST_FRAMEWORK = "uk_tfida"


def _vectors_supported() -> list[str]:
    vectors = [vot.Vector(0, False), vot.Vector(0, True), *(vot.Vector(p, True) for p in (1, 2, 3, 4))]
    return [str(vector) for vector in vectors]


def build_provider(config: FederationConfig, keys_dir: Path) -> OidcProvider | None:
    """The provider for a hub with `oidc_signing_certificates`; None when it has none (no OIDC clients)."""
    certificates = config.hub.oidc_signing_certificates
    if not certificates:
        return None
    current = certificates[0]
    signing = load_signing_key(Path(keys_dir) / current.path.with_suffix(".key").name)
    published = tuple(public_jwk(cert.certificate) for cert in certificates)
    if published[0]["kid"] != signing.kid:
        raise ValueError(f"{current.path.with_suffix('.key').name} does not belong to {current.path.name}")
    return OidcProvider(issuer=config.hub.base_url, signing_key=signing, published=published)
