"""The matching service process (demo port 8082): the SAML endpoints the hub calls, and nothing else.

    GET  /healthcheck                        {"status": "ok"}
    POST /matching-service/POST              SOAP AttributeQuery: cycle 0/1, or cycle 3
    POST /unknown-user-attribute-query       SOAP AttributeQuery: account creation
    GET  /matching-service/SAML2/metadata    our signed EntityDescriptor

Which matching service this process is: `MATCHING_SERVICE_NAME` (default `test-rp-ms`), an entry of the
federation config's matching_services; its keys are `<name>-signing/-encryption` in the keys directory.
The matching decision is the local matcher's, reached as the config's `local_matching_url` says:

- `builtin:` (the demo's default): our local matcher, called inside this process
  (`local_matcher_inprocess`) over the records in `MATCHING_SERVICE_DB`. No listener, no token: nothing
  is reachable from the network but the SAML endpoints below, and `/local-matching/*` is still a 404.
- a URL: a matcher of its own, ours (`matching_service.local_matcher_app`, e.g. 127.0.0.1:8084) or a
  department's, called over HTTP with the bearer token from `LOCAL_MATCHING_TOKEN` or
  `LOCAL_MATCHING_TOKEN_FILE` (this process refuses to start without one) and opening no records database.

The replay cache of query IDs is in process unless `MATCHING_SERVICE_REDIS_URL` (or
`MATCHING_SERVICE_REDIS_SENTINELS` with `MATCHING_SERVICE_REDIS_SENTINEL_MASTER`) names a Redis, under keys
prefixed `MATCHING_SERVICE_REDIS_PREFIX` (default `matching-service:`): then every process of this
matching service refuses a query any of them has answered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from federation import server_errors, xmlsecurity
from federation.config import ConfigError, MatchingService
from federation.credentials import EntityCredentials, load_entity_credentials
from federation.keyring import SigningKeyRing
from federation.metadata import MetadataSource
from federation.replay_cache import replay_cache_from_settings
from federation.runtime import Runtime
from matching_service import local_matcher_app
from matching_service.attribute_query_endpoint import AttributeQueryService
from matching_service.local_matcher_client import LocalMatcher, LocalMatcherClient
from matching_service.local_matcher_inprocess import InProcessLocalMatcher
from matching_service.local_matching_auth import TOKEN_FILE_SETTING, TOKEN_SETTING, load_local_matching_token
from matching_service.metadata import CONTENT_TYPE as METADATA_CONTENT_TYPE
from matching_service.metadata import MetadataPublisher
from matching_service.responses import SoapReply, fault

log = logging.getLogger(__name__)

DEFAULT_NAME = "test-rp-ms"
DEFAULT_REDIS_PREFIX = "matching-service:"
# The records file's name in VAR_DIR: the local matcher opens it; `matching-service import` names it from here.
DATABASE_FILE = local_matcher_app.DATABASE_FILE


def _this_matching_service(runtime: Runtime) -> MatchingService:
    name = runtime.setting("MATCHING_SERVICE_NAME", DEFAULT_NAME)
    for ms in runtime.config.matching_services:
        if ms.name == name:
            return ms
    raise ConfigError(
        runtime.config.source, "matching_services", None, f"no matching service named {name!r} (MATCHING_SERVICE_NAME)"
    )


def _check_keys_match_config(runtime: Runtime, ms: MatchingService, credentials: EntityCredentials) -> None:
    """Refuse to start with keys the federation does not know: every reply would be refused anyway."""
    if credentials.signing.certificate not in [c.certificate for c in ms.signing_certificates]:
        raise ConfigError(
            runtime.config.source, ms.entity_id, "signing_certificates", f"none matches {ms.name}-signing.crt"
        )
    if credentials.encryption.certificate != ms.encryption_certificate.certificate:
        raise ConfigError(
            runtime.config.source, ms.entity_id, "encryption_certificate", f"does not match {ms.name}-encryption.crt"
        )


def _local_matcher_timeout(runtime: Runtime) -> float:
    # The hub waits `matching_service_timeout_seconds` for us; the local matcher must answer within that.
    return max(1.0, runtime.config.matching_service_timeout_seconds * 0.8)


def _local_matcher(runtime: Runtime, ms: MatchingService) -> LocalMatcher:
    """In process for `builtin:` (the token, if set, is not needed and not read), else over HTTP with it."""
    if ms.uses_builtin_local_matcher:
        if runtime.setting(TOKEN_SETTING) or runtime.setting(TOKEN_FILE_SETTING):
            log.warning(
                "%s/%s is set but not used: the built-in local matcher runs in this process",
                TOKEN_SETTING,
                TOKEN_FILE_SETTING,
            )
        log.info("local matcher: built-in, in this process (no listener)")
        return InProcessLocalMatcher(local_matcher_app.open_records(runtime))
    return LocalMatcherClient(
        ms.local_matching_url, token=load_local_matching_token(runtime.setting), timeout=_local_matcher_timeout(runtime)
    )


def _soap(reply: SoapReply) -> Response:
    return Response(reply.body, status=reply.status, content_type=reply.content_type)


def create_app(runtime: Runtime, *, metadata_fetch: Callable[[str, float], bytes] | None = None) -> Flask:
    """`metadata_fetch(url, timeout) -> bytes` replaces the HTTP fetch of federation metadata (tests)."""
    ms = _this_matching_service(runtime)
    keys_dir = runtime.keys_dir
    credentials = load_entity_credentials(keys_dir, ms.name)
    _check_keys_match_config(runtime, ms, credentials)
    signing_keys = SigningKeyRing(
        keys_dir / f"{ms.name}-signing.key",
        keys_dir / f"{ms.name}-signing.crt",
        also_published=[cert.path for cert in ms.signing_certificates],
    )
    local_matcher = _local_matcher(runtime, ms)

    metadata = MetadataSource.for_config(runtime.config, fetch=metadata_fetch)
    # loaded now if the hub is up, else in the background with retries; never while answering the hub,
    # which may be waiting on us with every worker (a query before the first copy gets a 503 at once)
    metadata.start()
    service = AttributeQueryService(
        config=runtime.config,
        matching_service=ms,
        credentials=credentials,
        metadata=metadata,
        local_matcher=local_matcher,
        signing_keys=signing_keys,
        replay_cache=replay_cache_from_settings(
            runtime.setting,
            settings_prefix="MATCHING_SERVICE_",
            key_prefix=runtime.setting("MATCHING_SERVICE_REDIS_PREFIX") or DEFAULT_REDIS_PREFIX,
        ),
    )
    publisher = MetadataPublisher(ms, signing_keys, valid_for=runtime.config.metadata.valid_for)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = xmlsecurity.MAX_MESSAGE_BYTES
    app.extensions["matching_service"] = service

    @app.get("/healthcheck")
    def healthcheck() -> Response:
        return jsonify(status="ok", metadata="ready" if metadata.ready else "loading")

    def answer(handler: Callable[[bytes], SoapReply]) -> Response:
        try:
            return _soap(handler(request.get_data(cache=False)))
        except RequestEntityTooLarge:
            log.warning("attribute query refused: too-large")
            return _soap(fault("too-large", status=413))
        except Exception as exc:  # noqa: BLE001 - the hub gets a fault, never a stack trace
            # The type only: a message could quote request content.
            log.error("attribute query failed unexpectedly: %s", type(exc).__name__)
            return _soap(fault("internal-error"))

    @app.post("/matching-service/POST")
    def attribute_query() -> Response:
        return answer(service.match)

    @app.post("/unknown-user-attribute-query")
    def account_creation_query() -> Response:
        return answer(service.create_account)

    @app.get("/matching-service/SAML2/metadata")
    def own_metadata() -> Response:
        return Response(publisher.document(), content_type=METADATA_CONTENT_TYPE)

    server_errors.install(app, log)  # a SOAP fault is a 5xx: one line, its ID in X-Error-ID
    return app
