"""The hub's Prometheus metrics, counted by every hub process and served on the operator's listener only.

`prometheus_client` in its multi-process mode: with `PROMETHEUS_MULTIPROC_DIR` set (the launcher and the
deployment set it to a folder emptied when the deployment starts), every hub process writes its counts to
files there and the operator listener (`hub.operator_app`, never the citizen's) adds them up. Without the
setting, counts stay in the process that made them (unit tests).

Labels are facts about the journey (event, service, company, problem), never about a citizen, and never
a value a caller chose. Refusals by reason and request latency, which every service records, are in
`federation.observability`. Every metric is listed in docs/operations.md.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROC_DIR_SETTING = "PROMETHEUS_MULTIPROC_DIR"

JOURNEY_EVENTS = Counter(
    "hub_journey_events", "Journey events emitted by the hub (the audit facts).", ("event", "rp", "idp")
)
MATCHING_SECONDS = Histogram(
    "hub_matching_service_seconds",
    "The hub's back-channel call to a matching service (AttributeQuery to answer), by outcome.",
    ("matching_service", "outcome"),
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
IDP_ROUND_TRIP_SECONDS = Histogram(
    "hub_idp_round_trip_seconds",
    "From sending the citizen to a company with the hub's AuthnRequest to the company's answer arriving.",
    ("idp",),
    buckets=(5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600),
)
PROBLEM_PAGES = Counter(
    "hub_problem_pages", "Problem pages shown to citizens, by kind and HTTP status.", ("problem", "status")
)
RATE_LIMITED = Counter("hub_rate_limited", "Requests refused by the rate limit (429), by endpoint.", ("endpoint",))
METADATA_SIGNED = Gauge(
    "hub_metadata_signed_timestamp_seconds",
    "When the federation metadata the hub serves was last signed (Unix time; newest of all hub processes).",
    multiprocess_mode="max",
)
# The circuit breakers and probes of the companies and matching services (hub.breakers, hub.probes):
# `kind` is `idp` or `matching_service`, `entity` its entity ID.
BREAKER_STATE = Gauge(
    "hub_circuit_breaker_state",
    "A company's or matching service's circuit breaker: 0 closed, 1 half-open (a trial let through), 2 open.",
    ("kind", "entity"),
    multiprocess_mode="mostrecent",
)
BREAKER_TRANSITIONS = Counter(
    "hub_circuit_breaker_transitions",
    "Circuit breaker transitions, by entity and from and to state.",
    ("kind", "entity", "from_state", "to_state"),
)
PROBE_UP = Gauge(
    "hub_probe_up",
    "The last probe of a company or matching service: 1 answered as expected, 0 not.",
    ("kind", "entity"),
    multiprocess_mode="mostrecent",
)
PROBE_TIMESTAMP = Gauge(
    "hub_probe_timestamp_seconds",
    "When a company or matching service was last probed (Unix time; newest of all hub processes).",
    ("kind", "entity"),
    multiprocess_mode="max",
)


def process_families() -> list[Metric]:
    """Every hub process's metrics (multi-process mode), or this process's own."""
    if os.environ.get(MULTIPROC_DIR_SETTING):
        return list(MultiProcessCollector(None).collect())
    return list(REGISTRY.collect())


class _Collected(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families


def exposition(
    collectors: Iterable[Collector] = (), derived: Iterable[Callable[[list[Metric]], Metric | None]] = ()
) -> tuple[bytes, str]:
    """The text exposition of every hub process of this deployment, and its content type.

    `derived` compute a metric from the processes' ones (read once per scrape); `collectors` add their own.
    """
    families = process_families()
    for derive in derived:
        if (metric := derive(families)) is not None:
            families.append(metric)
    for collector in collectors:
        families.extend(collector.collect())
    registry = CollectorRegistry()
    registry.register(_Collected(families))
    return generate_latest(registry), CONTENT_TYPE_LATEST
