"""The one function that emits audit events: one JSON line each, never personal data.

Events feed the completion-rate, per-IDP and billing reports. The line holds the time (UTC, ISO 8601),
the event name, a one-way reference to the session (the session ID is a bearer secret, so it is not
written as such), the RP, the IDP, the levels of assurance, the PID only as `pid_hash`, and a few
allow-listed `extra` keys. Anything else is refused with ValueError, so a mistake fails in tests rather
than leaking into logs.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from federation.loa import LevelOfAssurance
from hub.metrics import JOURNEY_EVENTS

EVENTS: frozenset[str] = frozenset(
    {
        "session_started",
        "idp_selected",
        "idp_authn_succeeded",
        "no_authn_context",
        "idp_authn_failed",
        "idp_authn_pending",
        "fraud_detected",
        "requester_error",
        "cycle01_match",
        "cycle01_no_match",
        "waiting_for_cycle3_attributes",
        "cycle3_match",
        "cycle3_no_match",
        "cycle3_input_cancelled",
        "user_account_created",
        "user_account_creation_failed",
        "session_timeout",
        "release_declined",
        "journey_moved",
    }
)

# Facts about the journey, never about the citizen.
EXTRA_KEYS: frozenset[str] = frozenset(
    {
        "reason",
        "status",
        "status_detail",
        "matching_result",
        "journey",
        "comparison",
        "fraud_indicator",
        "front_end",
        "vtr",
    }
)
_MAX_EXTRA_TEXT = 200
_PERSONAL = re.compile(
    r"name|birth|dob|address|postcode|post_code|uprn|gender|pid|nino|insurance|email|phone|cycle3_value",
    re.IGNORECASE,
)
_PID_HASH = re.compile(r"^[0-9a-f]{64}$")

_lock = threading.Lock()
_sink: TextIO | None = None
_owned = False


def pid_hash(idp_entity_id: str, pid: str) -> str:
    """The only form in which a PID may be audited: hex(SHA-256(IDP entity ID + PID))."""
    return hashlib.sha256((idp_entity_id + pid).encode()).hexdigest()


def session_ref(session_id: str) -> str:
    """A stable, one-way reference to a session, to join a journey's events without exposing the ID."""
    return hashlib.sha256(b"audit-session\x00" + session_id.encode()).hexdigest()[:32]


def configure_audit(target: str | os.PathLike[str] | TextIO | None) -> None:
    """Send events to a file (appended to) or an open text stream; None returns to standard error."""
    global _sink, _owned
    with _lock:
        if _owned and _sink is not None:
            _sink.close()
        if target is None:
            _sink, _owned = None, False
        elif isinstance(target, str | os.PathLike):
            _sink, _owned = open(target, "a", encoding="utf-8", buffering=1), True
        elif isinstance(target, io.TextIOBase) or hasattr(target, "write"):
            _sink, _owned = target, False
        else:
            raise TypeError("configure_audit takes a path or a text stream")


def _levels(levels: LevelOfAssurance | Iterable[LevelOfAssurance] | None) -> list[str] | None:
    if levels is None:
        return None
    if isinstance(levels, LevelOfAssurance):
        levels = (levels,)
    names = []
    for level in levels:
        if not isinstance(level, LevelOfAssurance):
            raise ValueError(f"levels must be LevelOfAssurance values, not {level!r}")
        names.append(level.name)
    return names


def _extra(extra: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not extra:
        return None
    checked: dict[str, Any] = {}
    for key, value in extra.items():
        if key not in EXTRA_KEYS:
            if _PERSONAL.search(key):
                raise ValueError(f"audit extra key {key!r} looks like personal data; it is never audited")
            raise ValueError(f"audit extra key {key!r} is not allowed (allowed: {sorted(EXTRA_KEYS)})")
        if isinstance(value, str):
            if len(value) > _MAX_EXTRA_TEXT:
                raise ValueError(f"audit extra {key!r} is longer than {_MAX_EXTRA_TEXT} characters")
        elif value is not None and not isinstance(value, bool | int):
            raise ValueError(f"audit extra {key!r} must be text, a number or a boolean")
        checked[key] = value
    return checked


def emit(
    event_name: str,
    *,
    session_id: str,
    rp_entity_id: str | None = None,
    idp_entity_id: str | None = None,
    levels: LevelOfAssurance | Iterable[LevelOfAssurance] | None = None,
    pid_hash: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    if event_name not in EVENTS:
        raise ValueError(f"unknown audit event {event_name!r}")
    if not isinstance(session_id, str) or not session_id:
        raise ValueError("an audit event needs the session ID")
    if pid_hash is not None and not _PID_HASH.match(pid_hash):
        raise ValueError("pid_hash must be the 64-hex SHA-256 from audit.pid_hash(), never a raw PID")
    record: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event": event_name,
        "session_ref": session_ref(session_id),
        "rp": rp_entity_id,
        "idp": idp_entity_id,
        "levels": _levels(levels),
        "pid_hash": pid_hash,
    }
    checked_extra = _extra(extra)
    if checked_extra:
        record["extra"] = checked_extra
    line = json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"
    with _lock:
        sink = _sink if _sink is not None else sys.stderr
        sink.write(line)
        sink.flush()
    JOURNEY_EVENTS.labels(event=event_name, rp=rp_entity_id or "", idp=idp_entity_id or "").inc()


def emit_facts(session: Any, facts: Iterable[Any], *, idp_entity_id: str | None = None) -> None:
    """Write the audit facts a journey step produced (`hub.policy.journey.AuditFact`) for `session`."""
    for fact in facts:
        emit(
            fact.event,
            session_id=session.journey_id,
            rp_entity_id=session.rp_entity_id,
            idp_entity_id=idp_entity_id or session.selected_idp_entity_id,
            levels=fact.levels,
            pid_hash=fact.pid_hash,
            extra=dict(fact.extra) or None,
        )
