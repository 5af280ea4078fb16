"""The signals the operator's listener computes when it is scraped, beside the counts of the hub processes.

- `hub_certificate_expiry_days{entity, use, certificate}`: days until each certificate of the federation
  configuration expires (hub, companies, services, matching services, the metadata signer and its root),
  and each next signing certificate of a rotation, as the files hold them now; negative once expired;
- `hub_metadata_age_seconds`: seconds since the federation metadata the hub serves was signed (from the
  newest `hub_metadata_signed_timestamp_seconds` of the hub processes; absent until one has served it);
- `federation_metadata_age_seconds{service}`: seconds since each party (stub IDPs, example service, matching
  service) last loaded a good copy of the metadata, from the processes that share the metrics folder;
- `hub_probe_age_seconds{kind, entity}`: seconds since each company and matching service was last probed
  by any hub process (from `hub_probe_timestamp_seconds`); growing means no hub process is probing it;
- `hub_journeys_in_progress`: journeys started and not ended or expired: the hub's session keys in Redis,
  counted with SCAN (a cursor walk, never KEYS, so Redis keeps serving; about a millisecond per thousand
  keys); absent with an in-process store, which no other process can see.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from federation.config import FederationConfig
from hub.certificate_expiry import certificate_dates


class CertificateExpiry(Collector):
    def __init__(self, config: FederationConfig, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._config = config
        self._now = now

    def collect(self) -> Iterator[Metric]:
        now = self._now()
        family = GaugeMetricFamily(
            "hub_certificate_expiry_days",
            "Days until a certificate of the federation expires (negative: expired), by entity and use.",
            labels=("entity", "use", "certificate"),
        )
        for date in certificate_dates(self._config):
            family.add_metric((date.entity, date.use, date.file), round(date.days_left(now), 3))
        yield family


def metadata_age(families: Iterable[Metric], now: float | None = None) -> Metric | None:
    """`hub_metadata_age_seconds` from the hub processes' signing times, or None if none has signed yet."""
    signed = [
        sample.value
        for family in families
        if family.name == "hub_metadata_signed_timestamp_seconds"
        for sample in family.samples
        if sample.value > 0
    ]
    if not signed:
        return None
    family = GaugeMetricFamily(
        "hub_metadata_age_seconds", "Seconds since the federation metadata the hub serves was signed."
    )
    family.add_metric((), max(0.0, (now or time.time()) - max(signed)))
    return family


def _age_since_newest(
    families: Iterable[Metric], source: str, name: str, documentation: str, labels: tuple[str, ...], now: float | None
) -> Metric | None:
    """`name{labels}`: seconds since the newest positive `source` timestamp per label set, or None if none."""
    newest: dict[tuple[str, ...], float] = {}
    for family in families:
        if family.name == source:
            for sample in family.samples:
                key = tuple(sample.labels.get(label, "") for label in labels)
                if sample.value > 0:
                    newest[key] = max(newest.get(key, 0.0), sample.value)
    if not newest:
        return None
    family = GaugeMetricFamily(name, documentation, labels=labels)
    moment = now or time.time()
    for key, when in sorted(newest.items()):
        family.add_metric(key, max(0.0, moment - when))
    return family


def party_metadata_age(families: Iterable[Metric], now: float | None = None) -> Metric | None:
    """`federation_metadata_age_seconds{service}`: since each party's processes last loaded the metadata."""
    return _age_since_newest(
        families,
        "federation_metadata_refreshed_timestamp_seconds",
        "federation_metadata_age_seconds",
        "Seconds since a party (its processes that share the metrics folder) last loaded the federation metadata.",
        ("service",),
        now,
    )


def probe_age(families: Iterable[Metric], now: float | None = None) -> Metric | None:
    """`hub_probe_age_seconds{kind, entity}` from the hub processes' last probe times, or None before any probe."""
    return _age_since_newest(
        families,
        "hub_probe_timestamp_seconds",
        "hub_probe_age_seconds",
        "Seconds since a company or matching service was last probed.",
        ("kind", "entity"),
        now,
    )


@dataclass(frozen=True)
class EntityStatus:
    """One row of the operator's status page."""

    kind: str
    entity: str
    probe: str  # "up", "down" or "not probed"
    probe_age_seconds: float | None
    breaker: str  # "closed", "half-open", "open" or "unknown"


_BREAKER_NAMES = {0: "closed", 1: "half-open", 2: "open"}


def entity_statuses(families: Iterable[Metric], now: float | None = None) -> list[EntityStatus]:
    """Each probed or breaker-watched entity, from the hub processes' gauges (the page's rows, sorted)."""
    families = list(families)
    values: dict[str, dict[tuple[str, str], float]] = {}
    for family in families:
        if family.name in ("hub_probe_up", "hub_circuit_breaker_state"):
            for sample in family.samples:
                key = (sample.labels.get("kind", ""), sample.labels.get("entity", ""))
                values.setdefault(family.name, {})[key] = sample.value
    ages = probe_age(families, now)
    age_of = {(s.labels["kind"], s.labels["entity"]): s.value for s in ages.samples} if ages else {}
    up, state = values.get("hub_probe_up", {}), values.get("hub_circuit_breaker_state", {})
    rows = []
    for key in sorted(set(up) | set(state)):
        probe = "not probed" if key not in up else ("up" if up[key] >= 1 else "down")
        breaker = _BREAKER_NAMES.get(int(state[key]), "unknown") if key in state else "unknown"
        rows.append(EntityStatus(key[0], key[1], probe, age_of.get(key), breaker))
    return rows


class JourneysInProgress(Collector):
    """The count of live sessions in Redis (they expire with the session lifetime, so abandoned ones go too)."""

    def __init__(self, client, key_prefix: str) -> None:
        self._client = client
        self._pattern = f"{key_prefix}session:*"

    def collect(self) -> Iterator[Metric]:
        import redis

        try:
            count = sum(1 for _ in self._client.scan_iter(match=self._pattern, count=1000))
        except redis.RedisError:
            return  # the store is down: /healthz says so; no number is better than a wrong one
        family = GaugeMetricFamily(
            "hub_journeys_in_progress", "Journeys started and not ended or expired (sessions in the shared store)."
        )
        family.add_metric((), count)
        yield family
