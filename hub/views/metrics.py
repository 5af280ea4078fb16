"""`GET /metrics`: Prometheus text exposition of this process's journey events (no personal data).

Each hub process counts what it emitted; Prometheus scrapes every process and sums. The labels are the
event name, the service's and the company's entity IDs: the facts the completion-rate and per-company
reports need, never anything about a citizen.
"""

from __future__ import annotations

from flask import Blueprint, Response

from hub import audit

bp = Blueprint("metrics", __name__)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@bp.get("/metrics")
def metrics():
    lines = [
        "# HELP hub_journey_events_total Journey events emitted by this hub process.",
        "# TYPE hub_journey_events_total counter",
    ]
    for (event, rp, idp), count in sorted(audit.event_counts().items()):
        lines.append(
            f'hub_journey_events_total{{event="{_label(event)}",rp="{_label(rp)}",idp="{_label(idp)}"}} {count}'
        )
    return Response("\n".join(lines) + "\n", mimetype="text/plain; version=0.0.4")
