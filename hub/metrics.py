"""The hub's Prometheus metrics, counted by every hub process and served on the operator's listener only.

`prometheus_client` in its multi-process mode: with `PROMETHEUS_MULTIPROC_DIR` set (the launcher and the
deployment set it to a folder emptied when the deployment starts), every hub process writes its counts to
files there and the operator listener (`hub.operator_app`, never the citizen's) adds them up. Without the
setting, counts stay in the process that made them (unit tests).

Labels are facts about the journey (event, service, company), never about a citizen.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_DIR_SETTING = "PROMETHEUS_MULTIPROC_DIR"

JOURNEY_EVENTS = Counter(
    "hub_journey_events", "Journey events emitted by the hub (the audit facts).", ("event", "rp", "idp")
)


def exposition() -> tuple[bytes, str]:
    """The text exposition of every hub process of this deployment, and its content type."""
    if os.environ.get(MULTIPROC_DIR_SETTING):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST
