"""Everything the hub builds once at start-up and its views share: config, keys, stores, clients.

Keys are loaded here, once per process; the request path only uses the objects this module built.
Settings read here: `REDIS_URL`, or `REDIS_SENTINELS` with `REDIS_SENTINEL_MASTER` (and optionally
`REDIS_PASSWORD`, `REDIS_SENTINEL_PASSWORD`; see `federation.redis_client`): sessions and replay cache in
Redis, and then `HUB_SESSION_KEY` and `HUB_SECRET` are required; `HUB_REDIS_PREFIX` (key prefix, default
`hub:`), `HUB_RATE_LIMIT_PER_MINUTE` (per client and SAML endpoint, default 120, 0 = off),
`HUB_BREAKER_FAILURES` and `HUB_BREAKER_COOLDOWN_SECONDS` (`hub.breakers`).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography import x509

from federation.config import FederationConfig, IdentityProvider, RelyingParty
from federation.credentials import (
    DecryptionCredential,
    SigningCredential,
    load_certificate,
    load_hub_credentials,
    load_signing_credential,
)
from federation.metadata import build_federation_metadata
from federation.redis_client import redis_client, redis_settings
from federation.runtime import Runtime
from hub.breakers import Breakers, settings_from
from hub.engines.matching import MatchingServiceClient
from hub.metrics import METADATA_SIGNED
from hub.rate_limit import RateLimiter, build_rate_limiter, per_minute_setting
from hub.store.base import HubStore, RetryAwareReplayCache
from hub.store.crypto import SessionCodec
from hub.store.memory import MemoryStore
from hub.store.redis import RedisStore
from hub.store.repository import SessionRepository
from hub.traffic import Traffic

if TYPE_CHECKING:
    from hub.frontends.oidc.provider import OidcProvider

log = logging.getLogger(__name__)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class HubServices:
    config: FederationConfig
    signing: SigningCredential
    decryption: tuple[DecryptionCredential, ...]
    metadata_signing: SigningCredential
    metadata_chain: tuple[x509.Certificate, ...]
    store: HubStore
    replay: RetryAwareReplayCache
    sessions: SessionRepository
    matching: MatchingServiceClient
    secret: bytes
    breakers: Breakers  # per company and matching service, shared through `store`
    traffic: Traffic  # the operator's weights and caps per company, in `store`
    now: Callable[[], dt.datetime] = utc_now
    rate_limiter: RateLimiter | None = None
    oidc: OidcProvider | None = None  # the OpenID Connect provider, when the hub has OIDC signing keys
    _metadata: tuple[dt.datetime, bytes] | None = field(default=None, repr=False)

    def relying_party(self, entity_id: str) -> RelyingParty | None:
        return self.config.relying_party(entity_id)

    def identity_provider(self, entity_id: str | None) -> IdentityProvider | None:
        return self.config.identity_provider(entity_id) if entity_id else None

    def rp_certificates(self, issuer: str) -> Sequence[x509.Certificate]:
        rp = self.config.relying_party(issuer)
        return tuple(c.certificate for c in rp.signing_certificates) if rp else ()

    def signed_metadata(self) -> bytes:
        """The signed federation metadata, re-signed when half its validity has passed."""
        now = self.now()
        if self._metadata is None or now >= self._metadata[0]:
            body = build_federation_metadata(self.config, self.metadata_signing, chain=self.metadata_chain, now=now)
            self._metadata = (now + self.config.metadata.valid_for / 2, body)
            METADATA_SIGNED.set(now.timestamp())  # the operator's listener reports its age
        return self._metadata[1]


def _session_key(runtime: Runtime) -> bytes:
    configured = runtime.setting("HUB_SESSION_KEY")
    if configured:
        key = bytes.fromhex(configured)
        if len(key) != 32:
            raise ValueError("HUB_SESSION_KEY must be 64 hex digits (256 bits)")
        return key
    return secrets.token_bytes(32)


class SharedStoreSettingsMissing(ValueError):
    """Hub processes sharing Redis must share the keys that encrypt sessions and derive CSRF tokens."""


def build_services(runtime: Runtime, *, store: MemoryStore | RedisStore | None = None) -> HubServices:
    from hub.frontends.oidc.provider import build_provider  # the front end's package imports these services

    config, keys = runtime.config, runtime.keys_dir
    shared = redis_settings(runtime.setting)  # RedisSettingsError (a ValueError) names a wrong setting
    if shared.configured:
        missing = [name for name in ("HUB_SESSION_KEY", "HUB_SECRET") if not runtime.setting(name)]
        if missing:
            which = "REDIS_URL" if shared.url else "REDIS_SENTINELS"
            raise SharedStoreSettingsMissing(
                f"{which} is set, so every hub process must share {' and '.join(missing)} (64 hex digits each)"
            )
    hub_keys = load_hub_credentials(
        keys, config.hub.signing_certificates[0].path, tuple(c.path for c in config.hub.encryption_certificates)
    )
    signing, decryption = hub_keys.signing, hub_keys.decryption
    metadata_signing = load_signing_credential(keys / "metadata-signing.key", config.metadata.signing_certificate.path)
    chain = (load_certificate(keys / "metadata-ca.crt"),)
    if store is None:
        prefix = runtime.setting("HUB_REDIS_PREFIX") or "hub:"
        store = RedisStore.from_client(redis_client(shared), key_prefix=prefix) if shared.configured else MemoryStore()
    sessions = SessionRepository(store, SessionCodec(_session_key(runtime)), config.session_lifetime)
    secret = bytes.fromhex(runtime.setting("HUB_SECRET", "") or "") or secrets.token_bytes(32)
    rate_limiter = build_rate_limiter(
        per_minute_setting(runtime.setting("HUB_RATE_LIMIT_PER_MINUTE")),
        store,
        secret=secret,
        redis=isinstance(store, RedisStore),
    )
    return HubServices(
        config=config,
        signing=signing,
        decryption=tuple(decryption),
        metadata_signing=metadata_signing,
        metadata_chain=chain,
        store=store,
        replay=store,
        sessions=sessions,
        matching=MatchingServiceClient(timeout=config.matching_service_timeout_seconds),
        secret=secret,
        breakers=Breakers(store, settings_from(runtime.setting)),
        traffic=Traffic.for_store(store, secret=secret, redis=isinstance(store, RedisStore)),
        rate_limiter=rate_limiter,
        oidc=build_provider(config, keys),
    )
