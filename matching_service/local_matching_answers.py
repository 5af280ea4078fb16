"""The local matcher's answers to the contract's two calls, however the call arrives.

One function per call, taking the JSON-shaped request (a parsed JSON object) and returning the JSON-shaped
answer. The local matcher's HTTP listener (`local_matcher_app`) and the in-process built-in matcher
(`local_matcher_inprocess`) both call these, so the two ways share the contract's strict parsing
(`local_matching_contract`), the decision (`local_matcher.decide`) and the log lines: the match ID (escaped:
it is the caller's text), cycle and result only; never names, dates, addresses or the hashed PID.

A request that breaks the contract raises `ContractError` (its message names the field, never the value).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from federation.logsafe import log_safe
from matching_service.local_matcher import NINO_ATTRIBUTE_NAMES, decide
from matching_service.local_matching_contract import parse_create_user_request, parse_match_request
from matching_service.records import RecordSource

# The log lines keep the name they had when only the listener wrote them: operators' searches still work.
logger = logging.getLogger("matching_service.local_matcher_app")


def answer_match(
    store: RecordSource, body: object, *, nino_attribute_names: Collection[str] = NINO_ATTRIBUTE_NAMES
) -> dict[str, Any]:
    """`POST /local-matching/match`: {"result": "match" | "no-match"}; links the hashed PID on a new match."""
    match_request = parse_match_request(body)
    outcome = decide(store, match_request, nino_attribute_names=nino_attribute_names)
    logger.info(
        "local match %s: cycle %d, %s%s",
        log_safe(match_request.match_id),
        outcome.cycle,
        outcome.result,
        f" ({outcome.reason})" if outcome.reason else "",
    )
    return {"result": outcome.result}


def answer_create_user(store: RecordSource, body: object) -> dict[str, Any]:
    """`POST /local-matching/create-user`: {"result": "success" | "failure"}."""
    create_request = parse_create_user_request(body)
    created = store.create_user(create_request.hashed_pid, create_request.level_of_assurance, create_request.attributes)
    result = "success" if created else "failure"
    logger.info("local create-user: %s", result)
    return {"result": result}
