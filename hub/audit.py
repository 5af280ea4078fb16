"""The one function that emits audit events: one JSON line each, never personal data.

Events feed the completion-rate, per-IDP and billing reports. The line holds the time (UTC, ISO 8601),
the event name, a one-way reference to the session (the session ID is a bearer secret, so it is not
written as such), the RP, the IDP, the levels of assurance, the PID only as `pid_hash`, and a few
allow-listed `extra` keys. Anything else is refused with ValueError, so a mistake fails in tests rather
than leaking into logs.

The sink is a `logging.handlers.WatchedFileHandler` on its own logger (`hub.audit.sink`, not propagated):
before each line it checks that the path still names the file it has open, and reopens it if not, so
logrotate may move the file away (its default `create` mode) with no signal and no line lost. Each line
is one `write()` to a file opened for appending, so several hub processes may share the file.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import logging.handlers
import os
import re
import sys
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
        "returned_to_service",
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

_sink = logging.getLogger("hub.audit.sink")
_sink.propagate = False  # audit lines go to the audit file only, never into the service's own log
_sink.setLevel(logging.INFO)


def pid_hash(idp_entity_id: str, pid: str) -> str:
    """The only form in which a PID may be audited: hex(SHA-256(IDP entity ID + PID))."""
    return hashlib.sha256((idp_entity_id + pid).encode()).hexdigest()


def session_ref(session_id: str) -> str:
    """A stable, one-way reference to a session, to join a journey's events without exposing the ID."""
    return hashlib.sha256(b"audit-session\x00" + session_id.encode()).hexdigest()[:32]


class _Loud:
    """An audit line that cannot be written fails the step that emitted it (billing depends on the log),
    instead of logging's default of printing the error and carrying on without the line."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        raise


class _AuditFile(_Loud, logging.handlers.WatchedFileHandler):
    pass


class _AuditStream(_Loud, logging.StreamHandler):
    pass


def _handler(target: str | os.PathLike[str] | TextIO | None) -> logging.Handler:
    if target is None:
        return _AuditStream(sys.stderr)
    if isinstance(target, str | os.PathLike):
        return _AuditFile(os.fspath(target), encoding="utf-8")
    if isinstance(target, io.TextIOBase) or hasattr(target, "write"):
        return _AuditStream(target)
    raise TypeError("configure_audit takes a path or a text stream")


def configure_audit(target: str | os.PathLike[str] | TextIO | None) -> None:
    """Send events to a file (appended to, reopened after rotation) or an open text stream; None: stderr."""
    handler = _handler(target)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for old in list(_sink.handlers):
        _sink.removeHandler(old)
        old.close()
    _sink.addHandler(handler)


def reopen_audit() -> None:
    """Reopen the audit file now (the handler also does so by itself when the file was moved away)."""
    for handler in _sink.handlers:
        if isinstance(handler, logging.handlers.WatchedFileHandler):
            handler.acquire()
            try:
                handler.close()
                handler.stream = handler._open()
                handler._statstream()
            finally:
                handler.release()


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
    line = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    if not _sink.handlers:
        configure_audit(None)
    _sink.info(line)
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
