"""The department's local matcher behind the JSON contract, and the client the SAML endpoint calls it with.

Order of a match request (ARCHITECTURE section 2, step 8):
    cycle 0  the hashed PID was linked by an earlier match, or an account was created for it -> match;
    cycle 3  when the request carries a cycle 3 dataset: the NINO rule of `matching_rule.match_cycle3`;
    cycle 1  otherwise: the matching dataset rule of `matching_rule.match_cycle1`.
A cycle 1 or cycle 3 match links the hashed PID to the record, so the citizen's next visit is a cycle 0 hit.

Logs carry the match ID, cycle and result only: never names, dates, addresses or the hashed PID.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from flask import Blueprint, Flask, Response, request
from werkzeug.exceptions import HTTPException

from matching_service import matching_rule
from matching_service.local_matching_contract import (
    CREATE_USER_RESULTS,
    MATCH_RESULTS,
    ContractError,
    CreateUserRequest,
    MatchRequest,
    create_user_request_to_json,
    match_request_to_json,
    parse_create_user_request,
    parse_match_request,
)
from matching_service.records import RecordSource, RecordStoreError

logger = logging.getLogger(__name__)

URL_PREFIX = "/local-matching"
MAX_BODY_BYTES = 64 * 1024
# Cycle 3 attribute names (as the RP's configuration names them) that carry a National Insurance number.
NINO_ATTRIBUTE_NAMES: frozenset[str] = frozenset({"nationalinsurancenumber", "nino", "ni"})


@dataclass(frozen=True)
class MatchOutcome:
    """What the matcher decided and how; `result` is the contract's "match" / "no-match"."""

    result: str
    cycle: int
    record_id: str | None = None
    reason: str | None = None


def _nino_from(attributes: Mapping[str, str], names: Collection[str]) -> str | None:
    wanted = {n.casefold() for n in names}
    values = [value for key, value in attributes.items() if key.casefold() in wanted]
    return values[0] if len(values) == 1 else None


def decide(
    store: RecordSource, match_request: MatchRequest, *, nino_attribute_names: Collection[str] = NINO_ATTRIBUTE_NAMES
) -> MatchOutcome:
    """Cycle 0, then cycle 3 or 1; links the hashed PID on a new match."""
    hashed_pid = match_request.hashed_pid
    linked = store.record_for_hashed_pid(hashed_pid)
    if linked is not None:
        return MatchOutcome("match", cycle=0, record_id=linked)
    if store.has_created_user(hashed_pid):
        return MatchOutcome("match", cycle=0)

    dataset = match_request.matching_dataset
    dob = dataset.date_of_birth
    candidates = store.candidates_by_date_of_birth(dob.value) if dob is not None and dob.verified else []
    if match_request.cycle3_attributes is not None:
        cycle = 3
        nino = _nino_from(match_request.cycle3_attributes, nino_attribute_names)
        if nino is None:
            return MatchOutcome("no-match", cycle=3, reason="no-usable-cycle3-attribute")
        decision = matching_rule.match_cycle3(dataset, nino, candidates)
    else:
        cycle = 1
        decision = matching_rule.match_cycle1(dataset, candidates)

    if isinstance(decision, matching_rule.NoMatch):
        return MatchOutcome("no-match", cycle=cycle, reason=str(decision.reason))
    try:
        store.link(hashed_pid, decision.record_id, match_request.level_of_assurance)
    except RecordStoreError:
        # A concurrent request linked this PID elsewhere: do not guess between them.
        return MatchOutcome("no-match", cycle=cycle, reason="link-conflict")
    return MatchOutcome("match", cycle=cycle, record_id=decision.record_id)


# --- the Flask side --------------------------------------------------------------------------------------


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


def local_matching_blueprint(
    store: RecordSource,
    *,
    nino_attribute_names: Collection[str] = NINO_ATTRIBUTE_NAMES,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Blueprint:
    """The JSON contract, mounted at /local-matching, over this store."""
    blueprint = Blueprint("local_matching", __name__, url_prefix=URL_PREFIX)

    @blueprint.post("/match")
    def match() -> Response:
        try:
            match_request = parse_match_request(_read_json_body(max_body_bytes))
        except _BadBody as bad:
            return bad.response
        except ContractError as exc:
            return _error(400, "invalid-request", str(exc))
        outcome = decide(store, match_request, nino_attribute_names=nino_attribute_names)
        logger.info(
            "local match %s: cycle %d, %s%s",
            match_request.match_id,
            outcome.cycle,
            outcome.result,
            f" ({outcome.reason})" if outcome.reason else "",
        )
        return _json_response({"result": outcome.result})

    @blueprint.post("/create-user")
    def create_user() -> Response:
        try:
            create_request = parse_create_user_request(_read_json_body(max_body_bytes))
        except _BadBody as bad:
            return bad.response
        except ContractError as exc:
            return _error(400, "invalid-request", str(exc))
        created = store.create_user(
            create_request.hashed_pid, create_request.level_of_assurance, create_request.attributes
        )
        result = "success" if created else "failure"
        logger.info("local create-user: %s", result)
        return _json_response({"result": result})

    @blueprint.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return _error(exc.code or 500, "http-error", exc.name)

    @blueprint.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        # The type only: an exception's message may quote request values.
        logger.error("local matcher failed: %s", type(exc).__name__)
        return _error(500, "internal-error", "the local matcher failed; see its logs")

    return blueprint


def create_local_matcher_app(store: RecordSource, **blueprint_options: Any) -> Flask:
    """A Flask app serving only the local matcher (for running it on its own, and for tests)."""
    app = Flask(__name__)
    app.register_blueprint(local_matching_blueprint(store, **blueprint_options))
    return app


# --- the client ------------------------------------------------------------------------------------------

MAX_RESPONSE_BYTES = 16 * 1024


class LocalMatcherError(Exception):
    """The local matcher did not answer within the contract (timeout, refused, HTTP error, garbage)."""


class LocalMatcherClient:
    """Calls a local matcher's JSON contract; `base_url` is where it is mounted, e.g.
    "http://127.0.0.1:8082/local-matching" (the client appends /match and /create-user)."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._local = threading.local()  # requests.Session is not documented as thread-safe

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def match(self, match_request: Mapping[str, Any] | MatchRequest) -> str:
        """Returns "match" or "no-match"; raises LocalMatcherError otherwise."""
        body = match_request_to_json(match_request) if isinstance(match_request, MatchRequest) else match_request
        return self._call("/match", body, MATCH_RESULTS)

    def create_user(self, hashed_pid: str, level_of_assurance: str, attributes: Mapping[str, Any] | None = None) -> str:
        """Returns "success" or "failure"; raises LocalMatcherError otherwise."""
        body = create_user_request_to_json(CreateUserRequest(hashed_pid, level_of_assurance, dict(attributes or {})))
        return self._call("/create-user", body, CREATE_USER_RESULTS)

    def _call(self, path: str, body: Mapping[str, Any], allowed: frozenset[str]) -> str:
        url = self.base_url + path
        try:
            with self._session().post(url, json=dict(body), timeout=self.timeout, stream=True) as response:
                status = response.status_code
                raw = b""
                for chunk in response.iter_content(chunk_size=4096):
                    raw += chunk
                    if len(raw) > MAX_RESPONSE_BYTES:
                        break
        except requests.Timeout as exc:
            raise LocalMatcherError(f"local matcher timed out after {self.timeout}s ({path})") from exc
        except (requests.RequestException, OSError) as exc:
            raise LocalMatcherError(f"local matcher unreachable ({path}): {type(exc).__name__}") from exc
        if status != 200:
            raise LocalMatcherError(f"local matcher answered HTTP {status} ({path})")
        if len(raw) > MAX_RESPONSE_BYTES:
            raise LocalMatcherError(f"local matcher answer too large ({path})")
        try:
            answer = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise LocalMatcherError(f"local matcher answered with something that is not JSON ({path})") from exc
        result = answer.get("result") if isinstance(answer, dict) else None
        if result not in allowed:
            raise LocalMatcherError(f"local matcher answered without a valid result ({path})")
        return str(result)
