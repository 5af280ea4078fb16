"""Read the hub's audit events (JSON lines, see `hub.audit`) and the feedback log for the reports.

Several files may be given (the current file and the ones logrotate kept, `audit.jsonl.1`, `.2.gz`...),
in any order: events are sorted by time. A line that is not an audit event (cut short by a crash, or
written by something else) is counted and skipped, never fatal: a report over a year of logs should not
fail on one bad line.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class AuditEvent:
    """One audit line, reduced to what reports use (no PID hash: reports never need it)."""

    time: datetime
    event: str
    session_ref: str
    rp: str
    idp: str
    levels: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def day(self) -> date:
        return self.time.date()


@dataclass(frozen=True)
class Feedback:
    """One feedback form answer: the app it was given on, its rating (the comment is never read here)."""

    time: datetime
    app: str
    rating: str
    service: str = ""  # the service's entity ID, where the form knew which service the citizen was using

    @property
    def day(self) -> date:
        return self.time.date()


@dataclass
class ReadCounts:
    """How many lines were read and how many were skipped as not an event."""

    read: int = 0
    skipped: int = 0


def _lines(path: Path) -> Iterator[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        yield from handle


def _time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_event(line: str) -> AuditEvent | None:
    """The audit event on `line`, or None if the line is not one."""
    try:
        raw = json.loads(line)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    when, name, ref = _time(raw.get("time")), raw.get("event"), raw.get("session_ref")
    if when is None or not isinstance(name, str) or not isinstance(ref, str):
        return None
    extra = raw.get("extra") if isinstance(raw.get("extra"), dict) else {}
    levels = raw.get("levels") if isinstance(raw.get("levels"), list) else []
    return AuditEvent(
        time=when,
        event=name,
        session_ref=ref,
        rp=str(raw.get("rp") or ""),
        idp=str(raw.get("idp") or ""),
        levels=tuple(str(level) for level in levels),
        extra=dict(extra),
    )


def read_events(paths: Iterable[Path], counts: ReadCounts | None = None) -> list[AuditEvent]:
    """Every audit event in `paths` (missing files are skipped), sorted by time."""
    counts = counts if counts is not None else ReadCounts()
    events: list[AuditEvent] = []
    for path in paths:
        if not Path(path).exists():
            continue
        for line in _lines(Path(path)):
            if not line.strip():
                continue
            counts.read += 1
            event = parse_event(line)
            if event is None:
                counts.skipped += 1
            else:
                events.append(event)
    events.sort(key=lambda e: e.time)
    return events


def read_feedback(paths: Iterable[Path]) -> list[Feedback]:
    """Every feedback rating in `paths` (comments are not read), sorted by time."""
    answers: list[Feedback] = []
    for path in paths:
        if not Path(path).exists():
            continue
        for line in _lines(Path(path)):
            try:
                raw = json.loads(line)
            except ValueError:
                continue
            when = _time(raw.get("time")) if isinstance(raw, dict) else None
            if when is None or not isinstance(raw.get("rating"), str):
                continue
            app, service = str(raw.get("app") or ""), str(raw.get("service") or "")
            answers.append(Feedback(time=when, app=app, rating=raw["rating"], service=service))
    answers.sort(key=lambda f: f.time)
    return answers


def log_files(var_dir: Path, stem: str) -> list[Path]:
    """`<stem>.jsonl` in `var_dir` and the rotated copies logrotate leaves beside it."""
    return sorted(p for p in Path(var_dir).glob(f"{stem}*.jsonl*") if p.is_file())


class UnchangedFilesCache:
    """The last reading of a set of files, read again only when a file's size or modification time changes
    or the set itself changes: the operator's report page is reloaded far more often than the logs grow."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple = ()
        self._value: Any = None

    def get(self, files: Sequence[Path], read: Callable[[], Any]) -> Any:
        key = tuple(_signature(p) for p in files)
        with self._lock:
            if key != self._key or self._value is None:
                self._value, self._key = read(), key
            return self._value


def _signature(path: Path) -> tuple:
    try:
        found = path.stat()
    except OSError:  # rotated away between the listing and now
        return (str(path), None, None)
    return (str(path), found.st_mtime_ns, found.st_size)
