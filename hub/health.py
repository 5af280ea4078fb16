"""Is the hub able to serve journeys? The answer of `/healthz`: `ok` (200), or `degraded` (503) naming
what is down.

Checked: the shared store (Redis, when configured: a PING), and every matching service of the federation
(an HTTP GET of `/healthcheck` at its attribute-query URL's origin: any answer below 500 within two
seconds means it is there; a department's own matching service need not implement the path). Each
check is bounded by a short timeout, so the health check answers in a few seconds even when everything
is down. `/healthcheck` (liveness, always 200 while the process serves) stays as it is: restarting the hub
cannot bring Redis back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from federation.config import FederationConfig
from hub.store.base import StoreUnavailable

TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class Health:
    status: str  # "ok" or "degraded"
    checks: dict[str, str]

    @property
    def http_status(self) -> int:
        return 200 if self.status == "ok" else 503

    def as_json(self) -> dict:
        return {"status": self.status, "checks": self.checks}


def _matching_service_up(http: requests.Session, attribute_query_url: str) -> bool:
    parts = urlsplit(attribute_query_url)
    try:
        answer = http.get(f"{parts.scheme}://{parts.netloc}/healthcheck", timeout=TIMEOUT_SECONDS)
    except requests.RequestException:
        return False
    return answer.status_code < 500


def check(config: FederationConfig, store_ping: Callable[[], None] | None, http: requests.Session) -> Health:
    """Each dependency's state (`ok`, `unavailable`, or `not-shared` for an in-process store)."""
    checks: dict[str, str] = {}
    if store_ping is None:
        checks["store"] = "not-shared"
    else:
        try:
            store_ping()
            checks["store"] = "ok"
        except StoreUnavailable:
            checks["store"] = "unavailable"
    for ms in config.matching_services:
        up = _matching_service_up(http, ms.attribute_query_url)
        checks[f"matching_service:{ms.entity_id}"] = "ok" if up else "unavailable"
    degraded = any(value == "unavailable" for value in checks.values())
    return Health("degraded" if degraded else "ok", checks)
