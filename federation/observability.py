"""What every service's Flask app does around each request: its request ID, its latency, one log line.

`install(app, service, trust_request_id=...)` is called by `federation.serve` for every service, so the
apps need no code of their own. Per request:

- the request ID (`federation.logging_setup`): the caller's `X-Request-ID` when `trust_request_id` and
  well formed, otherwise a new one; set for every log line of the request and answered in `X-Request-ID`;
- `http_request_duration_seconds{service, route, method, status}`: a Prometheus histogram labelled by the
  route's pattern (`/SAML2/SSO`, `/journey/result`), never the raw path, so a caller cannot make up labels;
  `route` is `unmatched` for a path no route serves;
- a log line `request <METHOD> <route> <status> <ms>`: the pattern again, never a query string.

It counts every refusal the service logs (`<what> refused: <reason>`, the convention of every service's
log lines) as `federation_refusals_total{service, what, reason}`: the reason is the code before any `:`
detail, so a sender's value (logged quoted, after the code) never becomes a label.

It also watches the process's federation metadata refreshes (`federation.metadata.MetadataSource` logs
each one): `federation_metadata_refreshed_timestamp_seconds{service}` when the last good copy was loaded,
`federation_metadata_refresh_failures_total{service, reason}` when a refresh was refused or failed.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from flask import Flask, Response, request
from prometheus_client import Counter, Gauge, Histogram

from federation.logging_setup import (
    REQUEST_ID_HEADER,
    current_request_id,
    reset_request_id,
    set_request_id,
    well_formed,
)

log = logging.getLogger("federation.request")

REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, per service and route pattern (not the raw path).",
    ("service", "route", "method", "status"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
METADATA_REFRESHED = Gauge(
    "federation_metadata_refreshed_timestamp_seconds",
    "When this party last loaded a good copy of the federation metadata (Unix time).",
    ("service",),
    multiprocess_mode="max",
)
METADATA_REFRESH_FAILURES = Counter(
    "federation_metadata_refresh_failures",
    "Federation metadata refreshes refused (bad signature, expired...) or failed (network), by reason.",
    ("service", "reason"),
)
_LOADED = re.compile(r"^federation metadata loaded\b")
_NOT_LOADED = re.compile(
    r"^federation metadata refresh "
    r"(?:refused \((?P<refused>[A-Za-z0-9_-]{1,60})\)|failed: (?P<failed>[A-Za-z0-9_]{1,60}))"
)


REFUSALS = Counter(
    "federation_refusals",
    "Requests a service refused, by what was refused and the reason code its log line gives.",
    ("service", "what", "reason"),
)
_REFUSED = re.compile(r"^(?P<what>[a-z][a-z -]{0,40}?) refused: (?P<reason>[A-Za-z0-9_-]{1,60})(?=$|[:\s(])")
_IDP_REFUSED = re.compile(r"^\S{1,60} refused an AuthnRequest: (?P<reason>[A-Za-z0-9_-]{1,60})(?=$|[:\s(])")


class _LogSignal(logging.Handler):
    """A handler that turns some of a service's log lines into metrics (the log stays the detailed record)."""

    def __init__(self, service: str) -> None:
        super().__init__(level=logging.INFO)
        self.service = service

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call must not break the request or refresh that made it
            return
        self.observe(message)

    def observe(self, message: str) -> None:
        raise NotImplementedError


class RefusalCounter(_LogSignal):
    """Counts the refusals a service logs: one place, so every refusal a log line states is also a metric."""

    def observe(self, message: str) -> None:
        if " refused" not in message:  # both patterns need it: most lines (every request's) end here
            return
        if (found := _REFUSED.match(message)) is not None:
            what = found["what"].replace(" ", "_").replace("-", "_")
            REFUSALS.labels(service=self.service, what=what, reason=found["reason"]).inc()
        elif (found := _IDP_REFUSED.match(message)) is not None:
            REFUSALS.labels(service=self.service, what="authn_request", reason=found["reason"]).inc()


def count_refusals(service: str) -> None:
    """Count the refusals logged anywhere in this process under `service` (one counter; the last name wins)."""
    root = logging.getLogger()
    counters = [h for h in root.handlers if isinstance(h, RefusalCounter)]
    if counters:
        counters[0].service = service
    else:
        root.addHandler(RefusalCounter(service))


class MetadataRefreshWatcher(_LogSignal):
    """Turns the metadata source's log lines into the refresh signals."""

    def observe(self, message: str) -> None:
        if _LOADED.match(message):
            METADATA_REFRESHED.labels(service=self.service).set(time.time())
        elif (found := _NOT_LOADED.match(message)) is not None:
            reason = found["refused"] or found["failed"]
            METADATA_REFRESH_FAILURES.labels(service=self.service, reason=reason).inc()


def watch_metadata_refreshes(service: str) -> None:
    """Count this process's metadata refreshes under `service` (one watcher per process; the last name wins)."""
    logger = logging.getLogger("federation.metadata")
    watchers = [h for h in logger.handlers if isinstance(h, MetadataRefreshWatcher)]
    if watchers:
        watchers[0].service = service
    else:
        logger.addHandler(MetadataRefreshWatcher(service))
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)


def route_label() -> str:
    """The pattern of the route serving this request, or `unmatched`."""
    rule = request.url_rule
    return rule.rule if rule is not None else "unmatched"


# what `install` keeps in the request's WSGI environ between its hooks (one dict look-up, no `g` proxy)
_STARTED = "federation.request_started"
_ID_RESET = "federation.request_id_reset"
_RECEIVED_ID = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")  # what request.headers[...] reads


def install(app: Flask, service: str, *, trust_request_id: bool) -> None:
    """Give every request of `app` a request ID, a latency observation and one log line."""
    watch_metadata_refreshes(service)
    count_refusals(service)
    # the histogram's child per (route, method, status): `labels()` checks and locks on every call; the
    # set is bounded (route patterns, a few methods, the status codes the app answers)
    children: dict[tuple[str, str, int], Any] = {}

    def _begin() -> None:
        environ = request.environ
        received = environ.get(_RECEIVED_ID)
        environ[_ID_RESET] = set_request_id(received if trust_request_id and well_formed(received) else None)
        environ[_STARTED] = time.perf_counter()

    # first of all before-request functions: one that answers early (a rate limit) is timed and logged too
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)

    @app.after_request
    def _end(response: Response) -> Response:
        req = request._get_current_object()  # type: ignore[attr-defined]  # one context look-up for the hook
        started = req.environ.pop(_STARTED, None)
        if started is not None:
            seconds = time.perf_counter() - started
            rule = req.url_rule
            route = rule.rule if rule is not None else "unmatched"
            method = req.method if req.method in _METHODS else "other"
            status = response.status_code
            child = children.get((route, method, status))
            if child is None:
                child = REQUEST_SECONDS.labels(service=service, route=route, method=method, status=str(status))
                children[(route, method, status)] = child
            child.observe(seconds)
            response.headers[REQUEST_ID_HEADER] = current_request_id()
            log.info("request %s %s %d %.0fms", method, route, status, seconds * 1000)
        return response

    @app.teardown_request
    def _forget(_error: BaseException | None) -> None:
        token = request.environ.pop(_ID_RESET, None)
        if token is not None:
            try:
                reset_request_id(token)
            except ValueError:  # set in another context (a server thread that did not run the request's start)
                pass
