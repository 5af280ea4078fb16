"""The example department service (demo port 8083): signs citizens in through the hub.

It serves three relying parties of the demo federation: `test-rp` (matching journey) at `/`,
`test-rp-non-matching` (no matching service) at `/non-matching/` and `test-rp-new-accounts` (account
creation) at `/new-accounts/`; paths come from each RP's service home page and ACS URL in the federation
config. All use the `test-rp` keys, as the demo config says.

The citizen's session is kept server-side (`browser_session`; the cookie holds only a random ID) in the
service's store (`store`), for as long as a hub session lasts (`session_lifetime` in the federation config).
Settings:
  `RP_SECRET_KEY`        keys the form tokens (CSRF); a random per-process key otherwise. Every process of
                         one service needs the same key, so it is required with `RP_REDIS_URL`.
  `RP_REDIS_URL`         keep sessions, sign-in attempts and the hub's parked answers in this Redis
                         (redis://, rediss://, unix://), shared by every process of the service; in
                         process memory otherwise (lost on restart).
  `RP_REDIS_KEY_PREFIX`  the prefix of the service's Redis keys (default "rp:").
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from flask import Flask, has_request_context, request
from werkzeug.exceptions import InternalServerError

from federation.config import ConfigError, FederationConfig, RelyingParty
from federation.credentials import EntityCredentials, load_entity_credentials
from federation.metadata import MetadataSource
from federation.runtime import Runtime
from federation.web import register_web
from relying_party_example import views
from relying_party_example.browser_session import BrowserSessions, install
from relying_party_example.client import HubClient
from relying_party_example.sign_ins import SignIns
from relying_party_example.store import MemoryStore, Store, StoreUnavailable, store_from_settings

SERVICES = ("test-rp", "test-rp-non-matching", "test-rp-new-accounts")  # relying-party names in the federation config
KEYS_NAME = "test-rp"  # <keys_dir>/test-rp-signing.key etc.
MAX_FORM_BYTES = 1024 * 1024  # a base64 SAMLResponse of the largest message we accept, and some

log = logging.getLogger("relying_party_example")
_PACKAGE_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def _messages() -> dict[str, Any]:
    return {
        lang: yaml.safe_load((_PACKAGE_DIR / f"messages_{lang}.yaml").read_text(encoding="utf-8"))
        for lang in ("en", "cy")
    }


def _relying_party(config: FederationConfig, name: str, credentials: EntityCredentials) -> RelyingParty:
    """The RP by name, checked against the keys we hold, so a mismatch stops start-up with a clear error."""
    rp = next((rp for rp in config.relying_parties if rp.name == name), None)
    if rp is None:
        raise ConfigError(config.source, name, None, "the example service needs this relying party")

    def error(field: str, problem: str) -> ConfigError:
        return ConfigError(config.source, rp.entity_id, field, problem, kind="relying party")

    if all(cert.certificate != credentials.signing.certificate for cert in rp.signing_certificates):
        raise error("signing_certificates", f"does not list the certificate of the {KEYS_NAME!r} signing key")
    encryption = rp.encryption_certificate
    if encryption is not None and encryption.certificate != credentials.encryption.certificate:
        raise error("encryption_certificate", f"is not the certificate of the {KEYS_NAME!r} encryption key")
    return rp


def _service(key: str, rp: RelyingParty, client: HubClient, config: FederationConfig) -> views.Service:
    prefix = urlsplit(rp.service_home_url).path.rstrip("/")
    acs_path = urlsplit(client.acs_url).path
    if not acs_path.startswith(prefix + "/"):
        raise ConfigError(config.source, rp.entity_id, "assertion_consumer_services", "must be under service_home_url")
    return views.Service(key, rp, client, prefix, acs_path[len(prefix) :])


def _sessions(runtime: Runtime, store: Store | None, secure: bool) -> BrowserSessions:
    store = store if store is not None else store_from_settings(runtime.setting)
    secret = runtime.setting("RP_SECRET_KEY")
    if not secret and not isinstance(store, MemoryStore):
        raise ValueError("RP_REDIS_URL is set: every process of the service needs the same RP_SECRET_KEY")
    ttl = int(runtime.config.session_lifetime.total_seconds())
    return BrowserSessions(store, ttl, secret=secret.encode() if secret else secrets.token_bytes(32), secure=secure)


def create_app(
    runtime: Runtime, metadata_fetch: Callable[[str, float], bytes] | None = None, store: Store | None = None
) -> Flask:
    """`metadata_fetch(url, timeout) -> bytes` replaces the HTTP fetch of federation metadata (tests);
    `store` replaces the store the settings choose (tests)."""
    config = runtime.config
    credentials = load_entity_credentials(runtime.keys_dir, KEYS_NAME)
    metadata = MetadataSource.for_config(config, fetch=metadata_fetch)
    services = []
    for name in SERVICES:
        rp = _relying_party(config, name, credentials)
        client = HubClient(config, rp, credentials, metadata)
        services.append(_service(name.replace("-", "_"), rp, client, config))
    by_key = {service.key: service for service in services}

    app = Flask(__name__)  # no secret_key: Flask's cookie session is not used (`browser_session` is)
    app.config.update(MAX_CONTENT_LENGTH=MAX_FORM_BYTES, MAX_FORM_MEMORY_SIZE=MAX_FORM_BYTES)
    secure = urlsplit(services[0].relying_party.service_home_url).scheme == "https"
    sessions = _sessions(runtime, store, secure)
    install(app, sessions)

    def service_name(lang: str) -> str:
        service = by_key.get(request.blueprint or "", services[0]) if has_request_context() else services[0]
        return service.relying_party.display_name.get(lang)

    register_web(
        app,
        service_name=service_name,
        form_action_origins=[config.hub.sso_url],
        service_url=services[0].prefix + "/",
        messages=_messages(),
    )
    app.jinja_env.globals["csrf_token"] = views.csrf_token
    sign_ins = SignIns(sessions.store, int((config.session_lifetime + config.clock_skew).total_seconds()))
    for service in services:
        app.register_blueprint(views.service_blueprint(service, sign_ins))

    @app.get("/healthcheck")
    def healthcheck() -> dict[str, str]:
        return {"status": "ok"}

    @app.errorhandler(InternalServerError)
    def server_error(_error: InternalServerError):
        return views.problem("generic", 500)  # Flask has logged the exception; the citizen sees a page

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(error: StoreUnavailable):
        log.warning("session store unavailable: %s", error)  # names the store, never a key or a value
        return views.problem("unavailable", 503)

    metadata.start()
    app.extensions["relying_party_example"] = {"metadata": metadata, "services": by_key, "store": sessions.store}
    return app
