"""How every service process logs: plain text (the default, for the demo) or one JSON object per line.

`LOG_FORMAT=json` turns JSON on: `{"time", "level", "service", "logger", "request_id", "message"}` and, for
an exception, `"error"` (its type) and `"traceback"` (as the text format would print it). Every line,
in either format, carries the request ID of the HTTP request being served (`-` outside one).

The request ID is what joins one citizen's step across the four services: a service takes it from the
`X-Request-ID` header when the sender is trusted to set it (a proxy named in TRUSTED_PROXY, or a
back-channel caller: the hub calling a matching service, a matching service calling its local matcher)
and it is well formed, and otherwise makes a new one; it answers with it in `X-Request-ID` and sends it
on with every back-channel call (`outgoing_headers()`). It is an opaque random value, never personal data.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
LOG_FORMAT_SETTING = "LOG_FORMAT"
_WELL_FORMED = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")
_NONE = "-"

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default=_NONE)


def new_request_id() -> str:
    return secrets.token_hex(16)


def well_formed(value: str | None) -> bool:
    """Whether a received request ID may be kept: 8 to 64 letters, digits and `._:-` (nothing to forge a log)."""
    return bool(value) and _WELL_FORMED.match(value) is not None


def set_request_id(value: str | None) -> contextvars.Token:
    """Make `value` the current request ID (a new one if None); returns the token to reset it with."""
    return _request_id.set(value or new_request_id())


def reset_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)


def current_request_id() -> str:
    """The request ID of the request being served, or `-`."""
    return _request_id.get()


def outgoing_headers() -> dict[str, str]:
    """The headers a back-channel call sends so the next service logs under the same request ID."""
    current = _request_id.get()
    return {REQUEST_ID_HEADER: current} if current != _NONE else {}


class RequestIdFilter(logging.Filter):
    """Puts the current request ID and the service's name on every record (for either format)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        record.service = self.service
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "service": getattr(record, "service", ""),
            "logger": record.name,
            "request_id": getattr(record, "request_id", _NONE),
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


class PlainFormatter(logging.Formatter):
    """`<asctime> <service> <LEVEL> <logger> [<request ID>]: <message>`, as logging's own Formatter with that
    format writes it, for less: the date and time are formatted once a second, not for every line, and the
    line is joined directly. A line with an exception or a stack goes through logging's own code."""

    def __init__(self, service: str) -> None:
        super().__init__(f"%(asctime)s {service} %(levelname)s %(name)s [%(request_id)s]: %(message)s")
        self.service = service
        self._second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging's)
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        second = int(record.created)  # what time.localtime does with a float: whole seconds, rounded down
        cached = self._second
        if cached[0] != second:
            cached = (second, time.strftime(self.default_time_format, self.converter(second)))
            self._second = cached  # one tuple, swapped whole: another thread sees the old or the new
        return self.default_msec_format % (cached[1], record.msecs)

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info or record.exc_text or record.stack_info:
            return super().format(record)
        record.message = message = record.getMessage()
        record.asctime = asctime = self.formatTime(record)
        request_id = record.__dict__.get("request_id")
        if request_id is None:  # a record the request ID filter did not see: as %-formatting would fail
            return super().format(record)
        return f"{asctime} {self.service} {record.levelname} {record.name} [{request_id}]: {message}"


def plain_formatter(service: str) -> logging.Formatter:
    return PlainFormatter(service)


def _sends_each_line(stream: Any) -> bool:
    """Whether `stream` passes each line on by itself (line-buffered, or write-through)."""
    return bool(getattr(stream, "line_buffering", False) or getattr(stream, "write_through", False))


class LineHandler(logging.StreamHandler):
    """A StreamHandler that skips the flush after each line when the stream already sends every line on
    (line-buffered, as standard error always is, or write-through): each line still leaves in one write,
    whole, as it is logged. Any other stream is flushed after each line, as logging does."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._sends_lines = _sends_each_line(self.stream)

    def setStream(self, stream: Any) -> Any:  # noqa: N802 (logging's name)
        old = super().setStream(stream)
        self._sends_lines = _sends_each_line(self.stream)
        return old

    def flush(self) -> None:
        if not self._sends_lines:
            super().flush()


def lean_log_records() -> None:
    """What the services' log lines never show is not collected for every record: the caller's file, line
    and function (a walk up the stack), the thread's and process's names and IDs (the logging HOWTO's
    "Optimization" settings). Neither format prints any of them. For a service process (`federation.serve`),
    not for a test run, whose own log output names the caller."""
    logging._srcfile = None  # type: ignore[attr-defined]  # the documented switch for findCaller
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def configure_logging(service: str, environ: Mapping[str, str], *, stream=None) -> None:
    """Set up the root logger of a service process: its format from LOG_FORMAT (`text` or `json`)."""
    wanted = (environ.get(LOG_FORMAT_SETTING) or "text").strip().lower()
    if wanted not in ("text", "json"):
        raise ValueError(f"{LOG_FORMAT_SETTING} must be 'text' or 'json', not {wanted!r}")
    handler = LineHandler(stream or sys.stderr)
    handler.addFilter(RequestIdFilter(service))
    handler.setFormatter(JsonFormatter() if wanted == "json" else plain_formatter(service))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, logging.StreamHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
