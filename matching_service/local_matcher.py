"""The department's local matcher: the decision behind the JSON contract.

Order of a match request (ARCHITECTURE section 2, step 8):
    cycle 0  the hashed PID was linked by an earlier match, or an account was created for it -> match;
    cycle 3  when the request carries a cycle 3 dataset: the NINO rule of `matching_rule.match_cycle3`;
    cycle 1  otherwise: the matching dataset rule of `matching_rule.match_cycle1`.
A cycle 1 or cycle 3 match links the hashed PID to the record, so the citizen's next visit is a cycle 0 hit.

The contract's answers (`local_matching_answers`) are called by the SAML endpoint in process
(`local_matcher_inprocess`, `local_matching_url: builtin:`), or over HTTP through `local_matcher_client` from
`local_matcher_app` (its own process and listener, behind a bearer token).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from matching_service import matching_rule
from matching_service.local_matching_contract import MatchRequest
from matching_service.records import RecordSource, RecordStoreError

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
