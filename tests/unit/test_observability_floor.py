"""The per-request log line and latency metric, made cheaper without changing what they say: the plain
format's lines are exactly logging's own Formatter's, the stream handler sends every line whole and at once,
and the histogram's children are reused per route, method and status."""

from __future__ import annotations

import io
import logging
import os
import sys

import pytest
from flask import Flask
from prometheus_client import REGISTRY

from federation import logging_setup
from federation.observability import install

FORMAT = "%(asctime)s hub %(levelname)s %(name)s [%(request_id)s]: %(message)s"


def record(created: float, msg: str = "request %s %s %d %.0fms", args=("GET", "/x", 200, 3.4), **extra):
    made = logging.LogRecord("federation.request", logging.INFO, __file__, 1, msg, args, None)
    made.created, made.msecs = created, (created - int(created)) * 1000
    made.request_id = "abc123def456"
    made.__dict__.update(extra)
    return made


@pytest.mark.parametrize(
    "created", [1_764_417_600.0, 1_764_417_600.999, 1_764_417_601.0005, 1_764_417_659.5, 1_700_000_000.123]
)
def test_plain_lines_are_exactly_loggings_own(created):
    ours, theirs = logging_setup.plain_formatter("hub"), logging.Formatter(FORMAT)
    for when in (created, created + 0.25, created + 1, created):  # the cached second, the next one, back
        assert ours.format(record(when)) == theirs.format(record(when))
    percent = record(created, "a %% sign and %s", ("100%",))
    assert ours.format(percent) == theirs.format(record(created, "a %% sign and %s", ("100%",)))


def test_a_line_with_an_exception_or_a_stack_is_loggings_own():
    ours, theirs = logging_setup.plain_formatter("hub"), logging.Formatter(FORMAT)
    try:
        raise ValueError("boom")
    except ValueError:
        failed = sys.exc_info()
    with_error = record(1_764_417_600.5, exc_info=failed)
    assert ours.format(with_error) == theirs.format(record(1_764_417_600.5, exc_info=failed))
    assert "ValueError: boom" in ours.format(with_error)
    stacked = record(1_764_417_600.5, stack_info="Stack (most recent call last):\n  here")
    assert ours.format(stacked) == theirs.format(record(1_764_417_600.5, stack_info=stacked.stack_info))


def test_a_record_without_the_request_id_fails_as_loggings_own_does():
    bare = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", (), None)
    with pytest.raises(ValueError):  # logging's Formatter: "Formatting field not found in record"
        logging_setup.plain_formatter("hub").format(bare)


class Counting:
    """A stream that counts its flushes."""

    def __init__(self, *, line_buffering: bool) -> None:
        self.line_buffering = line_buffering
        self.text = io.StringIO()
        self.flushes = 0

    def write(self, text: str) -> int:
        return self.text.write(text)

    def flush(self) -> None:
        self.flushes += 1


@pytest.mark.parametrize("line_buffered", [True, False])
def test_each_line_is_written_whole_and_flushed_unless_the_stream_sends_lines(line_buffered):
    stream = Counting(line_buffering=line_buffered)
    logging_setup.configure_logging("hub", {}, stream=stream)
    try:
        logging.getLogger("hub.x").info("first")
        logging.getLogger("hub.x").info("second %s", "line")
    finally:
        logging.getLogger().handlers.clear()
    lines = stream.text.getvalue().splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == ["first", "second line"]
    assert all(" hub INFO hub.x [-]" in line for line in lines)
    assert stream.flushes == (0 if line_buffered else 2)


def test_a_line_reaches_a_line_buffered_pipe_at_once():
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    with os.fdopen(write_end, "w", buffering=1, encoding="utf-8") as stream:
        logging_setup.configure_logging("hub", {}, stream=stream)
        try:
            logging.getLogger("hub.x").info("a line %s", "with\nan embedded newline")
            arrived = os.read(read_end, 65536).decode()
        finally:
            logging.getLogger().handlers.clear()
    os.close(read_end)
    assert arrived.endswith(": a line with\nan embedded newline\n") and arrived.count(" hub INFO ") == 1


def test_standard_error_sends_each_line_by_itself():
    handler = logging_setup.LineHandler(sys.stderr)
    assert sys.stderr.line_buffering or sys.stderr.write_through
    assert handler._sends_lines


def count(**labels) -> float:
    return REGISTRY.get_sample_value("http_request_duration_seconds_count", labels) or 0.0


def test_each_route_method_and_status_is_observed_under_its_own_labels():
    app = Flask(__name__)
    app.add_url_rule("/a/<name>", "a", lambda name: ("ok", 201 if name == "new" else 200), methods=["GET", "POST"])
    install(app, "floor-test", trust_request_id=False)
    client = app.test_client()
    for path, method in [("/a/x", "GET"), ("/a/y", "GET"), ("/a/new", "GET"), ("/a/x", "POST"), ("/b", "GET")]:
        client.open(path, method=method)
    client.open("/a/x", method="PURGE")
    base = {"service": "floor-test", "route": "/a/<name>"}
    assert count(**base, method="GET", status="200") == 2
    assert count(**base, method="GET", status="201") == 1
    assert count(**base, method="POST", status="200") == 1
    assert count(service="floor-test", route="unmatched", method="GET", status="404") == 1
    assert count(service="floor-test", route="unmatched", method="other", status="405") == 1


def test_the_request_line_says_method_route_status_and_time(caplog):
    app = Flask(__name__)
    app.add_url_rule("/a/<name>", "a", lambda name: "ok")
    install(app, "floor-test-log", trust_request_id=False)
    with caplog.at_level(logging.INFO, logger="federation.request"):
        answer = app.test_client().get("/a/secret?q=also-secret")
    (line,) = [r.getMessage() for r in caplog.records if r.name == "federation.request"]
    method, route, status, took = line.split()[1:]
    assert (line.split()[0], method, route, status) == ("request", "GET", "/a/<name>", "200")
    assert took.endswith("ms") and took[:-2].isdigit()
    assert answer.headers["X-Request-ID"] and logging_setup.current_request_id() == "-"
