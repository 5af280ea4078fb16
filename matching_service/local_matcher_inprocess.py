"""The built-in local matcher, called inside the matching service's process (`local_matching_url: builtin:`).

The same calls as `LocalMatcherClient` (HTTP to a matcher of its own), so the SAML endpoint cannot tell
them apart: the request is built as the contract's JSON object, copied through `json` (so it holds exactly
what would have crossed the wire), parsed and checked as strictly as the listener does, decided, logged
and answered by the same functions (`local_matching_answers`). Only HTTP is skipped: no listener, no port,
no token, nothing on the network for anyone to reach. A failure (the records database down, a request that
breaks the contract) is a `LocalMatcherError`, which the SAML endpoint answers with a Responder status, as
it does when a matcher over HTTP fails.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Mapping
from typing import Any

from matching_service.local_matcher import NINO_ATTRIBUTE_NAMES
from matching_service.local_matcher_client import LocalMatcherError
from matching_service.local_matching_answers import answer_create_user, answer_match
from matching_service.local_matching_contract import (
    CREATE_USER_RESULTS,
    MATCH_RESULTS,
    ContractError,
    CreateUserRequest,
    MatchRequest,
    create_user_request_to_json,
    match_request_to_json,
)
from matching_service.records import RecordSource

log = logging.getLogger(__name__)


class InProcessLocalMatcher:
    """The built-in matcher over `store`, answering in the caller's thread (the store is thread-safe)."""

    def __init__(self, store: RecordSource, *, nino_attribute_names: Collection[str] = NINO_ATTRIBUTE_NAMES) -> None:
        self._store = store
        self._nino_attribute_names = nino_attribute_names

    def match(self, match_request: Mapping[str, Any] | MatchRequest) -> str:
        """Returns "match" or "no-match"; raises LocalMatcherError otherwise."""
        body = match_request_to_json(match_request) if isinstance(match_request, MatchRequest) else match_request
        return self._call(
            "/match",
            body,
            lambda request: answer_match(self._store, request, nino_attribute_names=self._nino_attribute_names),
            MATCH_RESULTS,
        )

    def create_user(self, hashed_pid: str, level_of_assurance: str, attributes: Mapping[str, Any] | None = None) -> str:
        """Returns "success" or "failure"; raises LocalMatcherError otherwise."""
        body = create_user_request_to_json(CreateUserRequest(hashed_pid, level_of_assurance, dict(attributes or {})))
        return self._call(
            "/create-user", body, lambda request: answer_create_user(self._store, request), CREATE_USER_RESULTS
        )

    def _call(
        self,
        path: str,
        body: Mapping[str, Any],
        answer: Callable[[object], Mapping[str, Any]],
        allowed: frozenset[str],
    ) -> str:
        try:
            request = json.loads(json.dumps(dict(body), allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise LocalMatcherError(f"built-in local matcher: the request is not JSON ({path})") from exc
        try:
            result = answer(request).get("result")
        except ContractError as exc:  # names the field, never its value
            raise LocalMatcherError(f"built-in local matcher refused the request ({path}): {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - as the listener's 500: the type only, a message may quote values
            log.error("local matcher failed: %s", type(exc).__name__)
            raise LocalMatcherError(f"built-in local matcher failed ({path}): {type(exc).__name__}") from None
        if result not in allowed:
            raise LocalMatcherError(f"built-in local matcher answered without a valid result ({path})")
        return str(result)
