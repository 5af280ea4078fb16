"""The hub's probes of the companies and matching services: one background thread per hub process.

Every `HUB_PROBE_INTERVAL_SECONDS` (default 15; 0 turns probing off) the thread
- sends each matching service the profile's health check (a signed AttributeQuery about nobody, which it
  answers with a signed `healthy` Response: `hub.engines.matching.check_health`), under a request ID of
  its own that the hub and the matching service both log, and
- fetches each company's metadata URL (`metadata_url` in its configuration) or, if it has none, its SSO
  endpoint (any HTTP answer below 500 means it is reachable: the endpoint takes only POSTs), logged when
  its result changes,
each with a short timeout, and feeds the result to the entity's circuit breaker (`hub.breakers`) and to
`hub_probe_up` and `hub_probe_timestamp_seconds`. Each hub process probes (no coordination is needed: a
probe costs one signature on each side, every few seconds); the first round starts one interval after
the app is built, never on a request's path and never holding up start-up.
"""

from __future__ import annotations

import logging
import threading
import time

import requests

from federation.config import IdentityProvider
from federation.logging_setup import reset_request_id, set_request_id
from hub import breakers
from hub.engines.matching import MatchingServiceUnavailable, check_health
from hub.metrics import PROBE_TIMESTAMP, PROBE_UP
from hub.services import HubServices
from hub.store.base import StoreUnavailable

log = logging.getLogger("hub.probes")

DEFAULT_INTERVAL_SECONDS = 15.0
TIMEOUT_SECONDS = 2.0


def interval_setting(value: str | None) -> float:
    """`HUB_PROBE_INTERVAL_SECONDS`: seconds between rounds; 0 = no probes; unset = the default."""
    if value is None or not value.strip():
        return DEFAULT_INTERVAL_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"HUB_PROBE_INTERVAL_SECONDS must be a number of seconds, not {value!r}") from None
    if seconds < 0:
        raise ValueError(f"HUB_PROBE_INTERVAL_SECONDS must not be negative, not {value!r}")
    return seconds


def idp_probe_url(idp: IdentityProvider) -> str:
    return idp.metadata_url or idp.sso_url


class Prober:
    """Probes every entity of the federation in turn, forever, on a daemon thread."""

    def __init__(self, hub: HubServices, interval: float) -> None:
        self._hub = hub
        self._interval = interval
        self._http = requests.Session()
        self._stop = threading.Event()
        self._last: dict[tuple[str, str], str | None] = {}  # each entity's last problem, None if it answered
        self._thread = threading.Thread(target=self._run, name="hub-prober", daemon=True)

    def start(self) -> Prober:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=TIMEOUT_SECONDS * 2)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.probe_all()
            except Exception as exc:  # noqa: BLE001 - the thread must outlive any surprise
                log.error("probe round failed: %s", type(exc).__name__)

    def probe_all(self) -> None:
        for ms in self._hub.config.matching_services:
            token = set_request_id(None)  # a new ID, sent along: the matching service logs the probe under it too
            try:
                check_health(self._hub, ms, self._http, timeout=TIMEOUT_SECONDS)
                problem = None
            except MatchingServiceUnavailable as exc:
                problem = exc.reason
            try:
                log.info("probe of matching_service %s: %s", ms.entity_id, problem or "healthy")
                self._report(breakers.MATCHING_SERVICE, ms.entity_id, problem)
            finally:
                reset_request_id(token)
        for idp in self._hub.config.identity_providers:
            if idp.enabled:
                self._report(breakers.IDP, idp.entity_id, self._reach(idp_probe_url(idp)))

    def _reach(self, url: str) -> str | None:
        try:
            answer = self._http.get(url, timeout=TIMEOUT_SECONDS, allow_redirects=False)
        except requests.RequestException as exc:
            return f"connection-failed:{type(exc).__name__}"
        return f"http-{answer.status_code}" if answer.status_code >= 500 else None

    def _report(self, kind: str, entity_id: str, problem: str | None) -> None:
        board = self._hub.breakers
        if problem is None:
            board.succeeded(kind, entity_id)
        else:
            board.failed(kind, entity_id)
        if kind == breakers.IDP and self._last.get((kind, entity_id)) != problem:  # when it changes, not each round
            if problem is None:
                log.info("probe of %s %s: answered", kind, entity_id)
            else:
                log.warning("probe of %s %s failed: %s", kind, entity_id, problem)
            self._last[(kind, entity_id)] = problem
        PROBE_UP.labels(kind=kind, entity=entity_id).set(0 if problem else 1)
        PROBE_TIMESTAMP.labels(kind=kind, entity=entity_id).set(time.time())
        try:
            breakers.show_state(kind, entity_id, board.state(kind, entity_id))
        except StoreUnavailable:
            pass  # the store is down: /healthz says so


def start_prober(hub: HubServices, interval: float) -> Prober | None:
    """The process's prober, started; None when probing is off."""
    if interval <= 0:
        return None
    return Prober(hub, interval).start()
