"""The load: matched journeys (alice at Stub IDP Two, headless) by fresh browser-like clients, each HTTP
exchange timed and named after the service, method and path it went to (a hop).

Hops are named from what the client actually sent, not from a list kept here, so a new step in the
journey shows up as a new hop instead of breaking the benchmark.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from federation.launcher import Federation
from tests.e2e.journey import IDP_TWO, expected_hashed_pid, sign_in
from tests.support.browser_client import BrowserClient

SERVICE_OF_URL = {
    "HUB_URL": "hub",
    "IDP_URL": "stub_idps",
    "MS_URL": "matching_service",
    "RP_URL": "relying_party_example",
}


def hop_namer(urls: Mapping[str, str]):
    origins = {urls[key]: service for key, service in SERVICE_OF_URL.items()}

    def name(method: str, url: str) -> str:
        parts = urlsplit(url)
        service = origins.get(f"{parts.scheme}://{parts.netloc}", parts.netloc)
        return f"{service} {method} {parts.path}"

    return name


class TimedBrowser(BrowserClient):
    """A BrowserClient that times each HTTP exchange, body included. requests follows a redirect inside the
    exchange that got it: that time is the redirect's hop's, not added to the first one's too."""

    def __init__(self, name_hop) -> None:
        super().__init__()
        self.hops: dict[str, float] = {}
        nested: list[float] = []  # time spent in redirects followed inside the exchange being timed
        send = self.http.send

        def timed_send(request, **kwargs):
            hop = name_hop(request.method, request.url)
            self.hops.setdefault(hop, 0.0)
            nested.append(0.0)
            start = time.perf_counter()
            try:
                return send(request, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                self.hops[hop] += elapsed - nested.pop()
                if nested:
                    nested[-1] += elapsed

        self.http.send = timed_send  # type: ignore[method-assign]


@dataclass(frozen=True)
class Journey:
    seconds: float  # wall clock as the client sees it, its own HTML parsing included
    hops: Mapping[str, float]


def one_journey(federation: Federation) -> Journey:
    """One matched journey; anything else (an error page, another identifier) stops the run."""
    browser = TimedBrowser(hop_namer(federation.urls))
    try:
        start = time.perf_counter()
        page = sign_in(browser, federation, "alice", IDP_TWO)
        seconds = time.perf_counter() - start
    finally:
        browser.http.close()
    if not page.url.endswith("/signed-in") or expected_hashed_pid("stub-idp-two", "alice") not in page.text:
        raise RuntimeError(f"the journey did not end matched and signed in: {page.url} ({page.heading})")
    return Journey(seconds, browser.hops)


def run_journeys(
    federation: Federation,
    journeys: int,
    concurrency: int,
    journey: Callable[[Federation], Journey] = one_journey,
) -> tuple[list[Journey], float]:
    """`journeys` journeys by `concurrency` clients at once (each journey a fresh client, by default a
    BrowserClient); returns them and the wall-clock seconds taken."""
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        done = list(pool.map(lambda _: journey(federation), range(journeys)))
    return done, time.perf_counter() - start


def percentile(values: Sequence[float], pct: int) -> float:
    """The pct-th percentile (inclusive method: p99 of 100 values lies between the two largest)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


@dataclass
class HopFigures:
    p50_ms: float
    p99_ms: float
    count: int = field(default=0)


def hop_figures(journeys: Sequence[Journey]) -> dict[str, HopFigures]:
    """p50 and p99 per hop, in the order the first journey took them (a hop's time summed within a journey)."""
    names: dict[str, None] = {}
    for journey in journeys:
        names.update(dict.fromkeys(journey.hops))
    figures = {}
    for hop in names:
        values = [j.hops[hop] * 1000 for j in journeys if hop in j.hops]
        figures[hop] = HopFigures(percentile(values, 50), percentile(values, 99), len(values))
    figures["whole journey"] = HopFigures(
        percentile([j.seconds * 1000 for j in journeys], 50),
        percentile([j.seconds * 1000 for j in journeys], 99),
        len(journeys),
    )
    return figures
