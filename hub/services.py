"""Everything the hub builds once at start-up and its views share: config, keys, stores, clients.

Keys are loaded here, once per process; the request path only uses the objects this module built. The
signing keys and the session keys are files that rotate while the hub runs: those objects look at them at
most every few seconds and read them again only when they changed (`federation.keyring`).
Settings read here: `REDIS_URL`, or `REDIS_SENTINELS` with `REDIS_SENTINEL_MASTER` (and optionally
`REDIS_PASSWORD`, `REDIS_SENTINEL_PASSWORD`; see `federation.redis_client`): sessions and replay cache in
Redis, and then `HUB_SESSION_KEY` (or `HUB_SESSION_KEY_FILE`, keys that rotate: `hub.store.session_keys`)
and `HUB_SECRET` are required; `HUB_REDIS_PREFIX` (key prefix, default `hub:`),
`HUB_RATE_LIMIT_PER_MINUTE` (per client and SAML endpoint, default 120, 0 = off),
`HUB_BREAKER_FAILURES` and `HUB_BREAKER_COOLDOWN_SECONDS` (`hub.breakers`).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509

from federation.config import FederationConfig, IdentityProvider, RelyingParty
from federation.credentials import DecryptionCredential, SigningCredential, load_certificate, load_hub_credentials
from federation.keyring import PublishedSigningCertificates, SigningKeyRing
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
from hub.store.session_keys import SessionKeyFile
from hub.traffic import Traffic

if TYPE_CHECKING:
    from hub.frontends.oidc.provider import OidcProvider

log = logging.getLogger(__name__)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class HubServices:
    config: FederationConfig
    signing_keys: SigningKeyRing  # the hub's SAML signing key, current (and next), re-read when rotated
    decryption: tuple[DecryptionCredential, ...]
    metadata_keys: SigningKeyRing
    published: PublishedSigningCertificates  # every entity's signing certificates, current and next
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
    _metadata: tuple[dt.datetime, tuple[int, SigningCredential], bytes] | None = field(default=None, repr=False)

    @property
    def signing(self) -> SigningCredential:
        return self.signing_keys.current

    @property
    def metadata_signing(self) -> SigningCredential:
        return self.metadata_keys.current

    def signing_certificates(self, entity_id: str) -> tuple[x509.Certificate, ...]:
        """The certificates `entity_id`'s signatures are checked against: its current and next key."""
        return self.published.of(entity_id)

    def relying_party(self, entity_id: str) -> RelyingParty | None:
        return self.config.relying_party(entity_id)

    def identity_provider(self, entity_id: str | None) -> IdentityProvider | None:
        return self.config.identity_provider(entity_id) if entity_id else None

    def rp_certificates(self, issuer: str) -> Sequence[x509.Certificate]:
        return self.published.of(issuer) if self.config.relying_party(issuer) else ()

    def signed_metadata(self) -> bytes:
        """The signed federation metadata, re-signed when half its validity has passed, and as soon as a
        signing key or a published certificate changed (a rotation step)."""
        now = self.now()
        keys = (self.published.version, self.metadata_signing)
        if self._metadata is None or now >= self._metadata[0] or keys != self._metadata[1]:
            body = build_federation_metadata(
                self.config, keys[1], chain=self.metadata_chain, now=now, signing_certificates=self.published.of
            )
            self._metadata = (now + self.config.metadata.valid_for / 2, keys, body)
            METADATA_SIGNED.set(now.timestamp())  # the operator's listener reports its age
        return self._metadata[2]


def _session_codec(runtime: Runtime) -> SessionCodec:
    """From `HUB_SESSION_KEY_FILE` (keys that rotate while the hub runs), `HUB_SESSION_KEY`, or a key of
    this process's own (sessions in process memory only)."""
    key_file, configured = runtime.setting("HUB_SESSION_KEY_FILE"), runtime.setting("HUB_SESSION_KEY")
    if key_file and configured:
        raise ValueError("set HUB_SESSION_KEY or HUB_SESSION_KEY_FILE, not both")
    if key_file:
        return SessionCodec(key_file=SessionKeyFile(Path(key_file)))
    if configured:
        key = bytes.fromhex(configured)
        if len(key) != 32:
            raise ValueError("HUB_SESSION_KEY must be 64 hex digits (256 bits)")
        return SessionCodec(key)
    return SessionCodec(secrets.token_bytes(32))


class SharedStoreSettingsMissing(ValueError):
    """Hub processes sharing Redis must share the keys that encrypt sessions and derive CSRF tokens."""


def build_services(runtime: Runtime, *, store: MemoryStore | RedisStore | None = None) -> HubServices:
    from hub.frontends.oidc.provider import build_provider  # the front end's package imports these services

    config, keys = runtime.config, runtime.keys_dir
    shared = redis_settings(runtime.setting)  # RedisSettingsError (a ValueError) names a wrong setting
    if shared.configured:
        missing = [name for name in ("HUB_SESSION_KEY", "HUB_SECRET") if not runtime.setting(name)]
        if runtime.setting("HUB_SESSION_KEY_FILE") and "HUB_SESSION_KEY" in missing:
            missing.remove("HUB_SESSION_KEY")  # the keys come from the file
        if missing:
            which = "REDIS_URL" if shared.url else "REDIS_SENTINELS"
            raise SharedStoreSettingsMissing(
                f"{which} is set, so every hub process must share {' and '.join(missing)} (64 hex digits each)"
            )
    hub_keys = load_hub_credentials(
        keys, config.hub.signing_certificates[0].path, tuple(c.path for c in config.hub.encryption_certificates)
    )
    signing = SigningKeyRing(keys / "hub-signing.key", config.hub.signing_certificates[0].path)
    metadata_signing = SigningKeyRing(keys / "metadata-signing.key", config.metadata.signing_certificate.path)
    chain = (load_certificate(keys / "metadata-ca.crt"),)
    if store is None:
        prefix = runtime.setting("HUB_REDIS_PREFIX") or "hub:"
        store = RedisStore.from_client(redis_client(shared), key_prefix=prefix) if shared.configured else MemoryStore()
    sessions = SessionRepository(store, _session_codec(runtime), config.session_lifetime)
    secret = bytes.fromhex(runtime.setting("HUB_SECRET", "") or "") or secrets.token_bytes(32)
    rate_limiter = build_rate_limiter(
        per_minute_setting(runtime.setting("HUB_RATE_LIMIT_PER_MINUTE")),
        store,
        secret=secret,
        redis=isinstance(store, RedisStore),
    )
    return HubServices(
        config=config,
        signing_keys=signing,
        decryption=tuple(hub_keys.decryption),
        metadata_keys=metadata_signing,
        published=PublishedSigningCertificates(config),
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
