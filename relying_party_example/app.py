"""The example department service (demo port 8083): signs citizens in through the hub.

It serves four relying parties of the demo federation through the client library (`hub_client`):
`test-rp` (matching journey) at `/`, `test-rp-non-matching` (no matching service) at `/non-matching/` and
`test-rp-new-accounts` (account creation) at `/new-accounts/` in the `verify` profile, and
`test-rp-standard` (no matching service, identity attributes) at `/standard/` in the `standard` profile,
and `test-rp-oidc`, an OpenID Connect client, at `/oidc/` with authlib's client (`oidc_service`);
paths come from each RP's service home page and ACS URL in the federation config. All use the `test-rp`
keys, as the demo config says.

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
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from flask import Flask, has_request_context, request
from werkzeug.exceptions import InternalServerError, MethodNotAllowed, NotFound

from federation import server_errors
from federation.config import ConfigError, FederationConfig
from federation.metadata import MetadataSource
from federation.runtime import Runtime
from federation.web import register_web
from federation.web.service_pages import LANGUAGE_COOKIE, CookieUse, FeedbackLog, ServicePages
from hub_client import HubClient
from relying_party_example import views
from relying_party_example.browser_session import BrowserSessions, install
from relying_party_example.oidc_service import BLUEPRINT as OIDC_BLUEPRINT
from relying_party_example.oidc_service import CLIENT as OIDC_CLIENT
from relying_party_example.oidc_service import oidc_blueprint
from relying_party_example.sign_ins import SignIns
from relying_party_example.store import MemoryStore, Store, StoreUnavailable, store_from_settings

# relying-party names in the federation config
SERVICES = ("test-rp", "test-rp-non-matching", "test-rp-new-accounts", "test-rp-standard")
KEYS_NAME = "test-rp"  # <keys_dir>/test-rp-signing.key etc.
# The hub answers a journey that timed out (NoAuthnContext, `session_expired`) for this long after its end,
# so an attempt is kept as long: the citizen who returns from the hub's time-out page gets the page that
# says their session ended, not "we could not find your sign-in attempt".
HUB_TIMED_OUT_SESSION_KEPT = timedelta(minutes=15)
MAX_FORM_BYTES = 1024 * 1024  # a base64 SAMLResponse of the largest message we accept, and some

log = logging.getLogger("relying_party_example")
_PACKAGE_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def _messages() -> dict[str, Any]:
    return {
        lang: yaml.safe_load((_PACKAGE_DIR / f"messages_{lang}.yaml").read_text(encoding="utf-8"))
        for lang in ("en", "cy")
    }


def _service(key: str, client: HubClient, config: FederationConfig) -> views.Service:
    rp = client.relying_party
    prefix = urlsplit(rp.service_home_url).path.rstrip("/")
    acs_path = urlsplit(client.acs_url).path
    if not acs_path.startswith(prefix + "/"):
        raise ConfigError(config.source, rp.entity_id, "assertion_consumer_services", "must be under service_home_url")
    return views.Service(key, rp, client, prefix, acs_path[len(prefix) :])


def _service_at(services: list[views.Service], path: str) -> str | None:
    """The service whose pages `path` is under (where the citizen came to the feedback form from): the one with
    the longest prefix, as the first service's pages are at the site's root."""
    under = [s for s in services if path == s.prefix or path.startswith(s.prefix + "/")]
    return max(under, key=lambda s: len(s.prefix)).relying_party.entity_id if under else None


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
    metadata = MetadataSource.for_config(config, fetch=metadata_fetch)
    services = []
    for name in SERVICES:
        client = HubClient.for_service(config, name, runtime.keys_dir, keys_name=KEYS_NAME, metadata_source=metadata)
        services.append(_service(name.replace("-", "_"), client, config))
    by_key = {service.key: service for service in services}

    app = Flask(__name__)  # no secret_key: Flask's cookie session is not used (`browser_session` is)
    app.config.update(MAX_CONTENT_LENGTH=MAX_FORM_BYTES, MAX_FORM_MEMORY_SIZE=MAX_FORM_BYTES)
    secure = urlsplit(services[0].relying_party.service_home_url).scheme == "https"
    sessions = _sessions(runtime, store, secure)
    install(app, sessions)

    named = {service.key: service.relying_party for service in services}
    if config.oidc_clients:
        named[OIDC_BLUEPRINT] = config.relying_party(OIDC_CLIENT)

    def service_name(lang: str) -> str:
        rp = named.get(request.blueprint or "") if has_request_context() else None
        return (rp or services[0].relying_party).display_name.get(lang)

    register_web(
        app,
        service_name=service_name,
        form_action_origins=[config.hub.sso_url, config.hub.base_url],  # OIDC: sign-in and sign-out redirect there
        service_url=services[0].prefix + "/",
        messages=_messages(),
        pages=ServicePages(
            operator=config.operator,
            cookies=(
                CookieUse(sessions.cookie_name, "pages.cookies.rp_session_purpose", "pages.cookies.session_end"),
                LANGUAGE_COOKIE,
            ),
            feedback=FeedbackLog(runtime.var_dir / "feedback-service.jsonl", app="service"),
            kind="service",
            service_in_use=lambda: _service_at(services, request.form.get("return_to", "")),
        ),
    )
    app.jinja_env.globals["csrf_token"] = views.csrf_token
    attempt_ttl = config.session_lifetime + config.clock_skew + HUB_TIMED_OUT_SESSION_KEPT
    sign_ins = SignIns(sessions.store, int(attempt_ttl.total_seconds()))
    for service in services:
        app.register_blueprint(views.service_blueprint(service, sign_ins))
    if config.oidc_clients:  # the fourth kind of service: OpenID Connect, with authlib's client
        app.register_blueprint(oidc_blueprint(app, config, runtime.keys_dir, sessions.store))

    @app.get("/healthcheck")
    def healthcheck() -> dict[str, str]:
        return {"status": "ok", "metadata": "ready" if metadata.ready else "loading"}

    @app.errorhandler(NotFound)
    def not_found(_error: NotFound):
        return views.problem("not_found", 404, home_url=services[0].prefix + "/")

    @app.errorhandler(MethodNotAllowed)
    def method_not_allowed(_error: MethodNotAllowed):
        return views.problem("not_found", 405, home_url=services[0].prefix + "/")

    @app.errorhandler(InternalServerError)
    def server_error(_error: InternalServerError):
        return views.problem("generic", 500)  # Flask has logged the exception; the citizen sees a page

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(error: StoreUnavailable):
        log.warning("session store unavailable: %s", error)  # names the store, never a key or a value
        return views.problem("unavailable", 503)

    server_errors.install(app, log)
    metadata.start()
    app.extensions["relying_party_example"] = {"metadata": metadata, "services": by_key, "store": sessions.store}
    return app
