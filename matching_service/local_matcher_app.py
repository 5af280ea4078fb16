"""The local matcher process: the JSON contract over the department's records, on a listener of its own.

    GET  /healthcheck                 {"status": "ok"}  (no token: it says nothing about anyone)
    POST /local-matching/match        is this citizen in our records? (links the hashed PID on a match)
    POST /local-matching/create-user  make an account for a citizen we could not match
    every /local-matching call needs  Authorization: Bearer <LOCAL_MATCHING_TOKEN>, else 401 (and a log line)

The contract says whether a person is in the department's records, confirms a National Insurance number and
writes PID links and accounts, so it is never served on the matching service's public listener (the one the
hub reaches). The matching service usually runs our matcher inside its own process, with no listener at all
(`local_matching_url: builtin:`, `local_matcher_inprocess`). This module is the other way: the contract as
a process of its own, `python -m federation.serve local_matcher --port 8084`, bound to 127.0.0.1 or to the
department's internal network, answering only callers that hold the token
(`matching_service.local_matching_auth`); it is what a department's own matcher must look like (README,
"Running your own local matcher"). The answers themselves are `local_matching_answers`', shared by both ways.

Settings: `LOCAL_MATCHING_TOKEN` or `LOCAL_MATCHING_TOKEN_FILE` (required); `MATCHING_SERVICE_DB` (a SQLite
file, default `<VAR_DIR>/matching-service.sqlite3`, or a `postgresql://` URL; loaded with
`matching-service import FILE`; pending schema migrations are applied at start-up); with
`MATCHING_SERVICE_IMPORT_CSV` set, that CSV is imported (an idempotent upsert) at start-up.

Logs carry the match ID (escaped: it is the caller's), cycle and result only: never names, dates, addresses
or the hashed PID, and never the token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from federation import server_errors
from federation.logsafe import log_safe
from federation.runtime import Runtime
from matching_service.local_matcher import NINO_ATTRIBUTE_NAMES
from matching_service.local_matching_answers import answer_create_user, answer_match
from matching_service.local_matching_auth import bearer_token_matches, load_local_matching_token
from matching_service.local_matching_contract import ContractError
from matching_service.records import RecordSource, RecordStoreError, describe_location, open_record_store

logger = logging.getLogger(__name__)

URL_PREFIX = "/local-matching"
MAX_BODY_BYTES = 64 * 1024
DATABASE_FILE = "matching-service.sqlite3"


def _json_response(body: Mapping[str, Any], status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _error(status: int, error: str, message: str) -> Response:
    return _json_response({"error": error, "message": message}, status)


class _BadBody(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate key")
        result[key] = value
    return result


def _refuse_constant(_name: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


def _read_json_body(max_bytes: int) -> object:
    if not request.is_json:
        raise _BadBody(_error(415, "unsupported-media-type", "send Content-Type: application/json"))
    if request.content_length is not None and request.content_length > max_bytes:
        raise _BadBody(_error(413, "too-large", f"request body over {max_bytes} bytes"))
    data = request.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _BadBody(_error(413, "too-large", f"request body over {max_bytes} bytes"))
    try:
        return json.loads(
            data.decode("utf-8"), object_pairs_hook=_refuse_duplicate_keys, parse_constant=_refuse_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _BadBody(_error(400, "malformed-json", "the request body is not valid UTF-8 JSON")) from None


def _refuse_without_token(token: str) -> Response | None:
    """401 unless the request carries our bearer token; says why in the log, never with the token."""
    problem = bearer_token_matches(request.headers.get("Authorization"), token)
    if problem is None:
        return None
    logger.warning(
        "local matcher call refused: %s (%s %s from %s)",
        problem,
        log_safe(request.method, max_chars=16),
        log_safe(request.path),
        log_safe(request.remote_addr, max_chars=64),
    )
    message = {
        "missing-credential": "send Authorization: Bearer <the local matching token>",
        "not-bearer": "use the Bearer scheme: Authorization: Bearer <the local matching token>",
        "wrong-token": "the bearer token is not the local matching token",
    }[problem]
    response = _error(401, problem, message)
    response.headers["WWW-Authenticate"] = 'Bearer realm="local-matching"'
    return response


def local_matching_blueprint(
    store: RecordSource,
    *,
    token: str,
    nino_attribute_names: Collection[str] = NINO_ATTRIBUTE_NAMES,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Blueprint:
    """The JSON contract, mounted at /local-matching, over this store; every call must carry `token`."""
    if not token:
        raise ValueError("the local matching contract is never served without a token")
    blueprint = Blueprint("local_matching", __name__, url_prefix=URL_PREFIX)
    blueprint.before_request(lambda: _refuse_without_token(token))

    @blueprint.post("/match")
    def match() -> Response:
        return _answer(lambda body: answer_match(store, body, nino_attribute_names=nino_attribute_names))

    @blueprint.post("/create-user")
    def create_user() -> Response:
        return _answer(lambda body: answer_create_user(store, body))

    def _answer(handler: Callable[[object], Mapping[str, Any]]) -> Response:
        try:
            return _json_response(handler(_read_json_body(max_body_bytes)))
        except _BadBody as bad:
            return bad.response
        except ContractError as exc:
            return _error(400, "invalid-request", str(exc))

    @blueprint.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return _error(exc.code or 500, "http-error", exc.name)

    @blueprint.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        # The type only: an exception's message may quote request values.
        logger.error("local matcher failed: %s", type(exc).__name__)
        return _error(500, "internal-error", "the local matcher failed; see its logs")

    return blueprint


def create_local_matcher_app(store: RecordSource, *, token: str, **blueprint_options: Any) -> Flask:
    """A Flask app serving only the local matcher's contract (behind `token`) and /healthcheck."""
    app = Flask(__name__)
    app.register_blueprint(local_matching_blueprint(store, token=token, **blueprint_options))

    @app.get("/healthcheck")
    def healthcheck() -> Response:
        return jsonify(status="ok")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:  # 404, 405 outside the contract: JSON, like the rest
        return _error(exc.code or 500, "http-error", exc.name)

    server_errors.install(app, logger)
    return app


def records_database(runtime: Runtime) -> str | Path:
    """`MATCHING_SERVICE_DB`, else `<VAR_DIR>/matching-service.sqlite3` (where `make demo` imports the records)."""
    return runtime.setting("MATCHING_SERVICE_DB") or Path(runtime.var_dir) / DATABASE_FILE


def open_records(runtime: Runtime) -> RecordSource:
    """The department's records (`MATCHING_SERVICE_DB`), with `MATCHING_SERVICE_IMPORT_CSV` imported if set;
    a ValueError naming the setting when the database cannot be opened (the process must not start)."""
    runtime.var_dir.mkdir(parents=True, exist_ok=True)
    database = records_database(runtime)
    try:
        store = open_record_store(database)
    except (RecordStoreError, OSError) as exc:
        shown = describe_location(database)
        raise ValueError(f"cannot open the records database {shown} (MATCHING_SERVICE_DB): {exc}") from None
    csv_file = runtime.setting("MATCHING_SERVICE_IMPORT_CSV")
    if csv_file:
        logger.info("imported %d records from %s", store.import_csv(csv_file), csv_file)
    return store


def create_app(runtime: Runtime) -> Flask:
    """The local matcher process; refuses to start (LocalMatchingTokenError, a ValueError) without a token."""
    token = load_local_matching_token(runtime.setting)
    return create_local_matcher_app(open_records(runtime), token=token)
