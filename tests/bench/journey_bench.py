"""End-to-end journey benchmark: the four services as real processes, matched journeys timed hop by hop.

Run with `make bench`, or `python -m tests.bench.journey_bench --journeys 40 --concurrency 4`. It prints figures
and asserts nothing about them (a journey that does not end matched and signed in stops the run). Each journey
is alice at Stub IDP Two, answered by the stub IDP's headless endpoint, followed by a fresh browser-like client.
Runs: sequential, then concurrent clients (threads), then sequential again with the hub on Redis.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import redis

from federation.launcher import Federation, start_federation
from keys.generate import generate
from matching_service.cli import main as matching_service_cli
from tests.e2e.journey import IDP_TWO, expected_hashed_pid, sign_in
from tests.support.browser_client import BrowserClient

RECORDS = "matching_service/demo/records.csv"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
WARM_UP_JOURNEYS = 3  # first journeys load metadata and warm caches: not counted
HUB_HOPS = {
    "/SAML2/SSO": "hub SSO",
    "/start": "hub start page",
    "/what-you-need": "hub start page",
    "/choose-a-certified-company": "company choice",
    "/SAML2/SSO/Response/POST": "hub IDP response (+ MS)",
    "/journey/result": "return to service",
}
HOPS = (
    "RP start",
    "hub SSO",
    "hub start page",
    "company choice",
    "IDP answer",
    "hub IDP response (+ MS)",
    "return to service",
    "RP ACS",
)


def hop_of(urls: Mapping[str, str], method: str, url: str) -> str:
    """The hop an HTTP exchange belongs to; an unexpected step stops the run rather than hide in a hop."""
    parts = urlsplit(url)
    origin, path = f"{parts.scheme}://{parts.netloc}", parts.path
    if origin == urls["RP_URL"]:
        return "RP start" if path in ("/", "/start") else "RP ACS"
    if origin == urls["IDP_URL"] and path.endswith("/headless"):
        return "IDP answer"
    if origin == urls["HUB_URL"] and path in HUB_HOPS:
        return HUB_HOPS[path]
    raise RuntimeError(f"unexpected step in the journey: {method} {url}")


class TimedBrowser(BrowserClient):
    """A BrowserClient adding each HTTP exchange's time (body and followed redirects included) to its hop."""

    def __init__(self, classify: Callable[[str, str], str]) -> None:
        super().__init__()
        self.hops = dict.fromkeys(HOPS, 0.0)
        request = self.http.request

        def timed(method: str, url: str, *args, **kwargs):
            start = time.perf_counter()
            try:
                return request(method, url, *args, **kwargs)
            finally:
                self.hops[classify(method, url)] += time.perf_counter() - start

        self.http.request = timed  # type: ignore[method-assign]


@dataclass(frozen=True)
class JourneyTiming:
    total: float  # seconds, wall clock as the client sees it (its HTML parsing included)
    hops: Mapping[str, float]


@dataclass(frozen=True)
class Run:
    journeys: Sequence[JourneyTiming]
    seconds: float

    @property
    def rate(self) -> float:
        return len(self.journeys) / self.seconds

    def median(self, hop: str | None = None) -> float:
        return statistics.median(self._values(hop))

    def p90(self, hop: str | None = None) -> float:
        return statistics.quantiles(self._values(hop), n=10, method="inclusive")[-1]

    def _values(self, hop: str | None) -> list[float]:
        return [j.total if hop is None else j.hops[hop] for j in self.journeys]


def one_journey(federation: Federation) -> JourneyTiming:
    browser = TimedBrowser(partial(hop_of, federation.urls))
    try:
        start = time.perf_counter()
        page = sign_in(browser, federation, "alice", IDP_TWO)
        total = time.perf_counter() - start
    finally:
        browser.http.close()
    if not page.url.endswith("/signed-in") or expected_hashed_pid("stub-idp-two", "alice") not in page.text:
        raise RuntimeError(f"the journey did not end matched and signed in: {page.url} ({page.heading})")
    return JourneyTiming(total, browser.hops)


def run(federation: Federation, journeys: int, concurrency: int = 1) -> Run:
    for _ in range(WARM_UP_JOURNEYS):
        one_journey(federation)
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda _: one_journey(federation), range(journeys)))
    return Run(results, time.perf_counter() - start)


def redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def report(sequential: Run, concurrent: Run, on_redis: Run | None, concurrency: int) -> None:
    ms = 1000.0
    redis_head = f"{'Redis median':>13} {'p90':>6} {'ratio':>6}" if on_redis else ""
    print(f"\n  {'per hop, ms (sequential)':<26} {'median':>7} {'p90':>6}   {redis_head}")
    for hop in (*HOPS, None):
        line = f"  {hop or 'whole journey':<26} {sequential.median(hop) * ms:7.1f} {sequential.p90(hop) * ms:6.1f}"
        if on_redis:
            ratio = on_redis.median(hop) / sequential.median(hop)
            line += f"   {on_redis.median(hop) * ms:13.1f} {on_redis.p90(hop) * ms:6.1f} {ratio:5.2f}x"
        print(line)
    print(
        f"\n  whole journey with {concurrency} concurrent clients: median {concurrent.median() * ms:.1f} ms, "
        f"p90 {concurrent.p90() * ms:.1f} ms"
    )
    print(f"  journeys/s sequential:            {sequential.rate:6.1f}")
    print(f"  journeys/s {concurrency} concurrent clients:  {concurrent.rate:6.1f}")
    print(f"  concurrent/sequential:            {concurrent.rate / sequential.rate:6.2f}x")
    if on_redis:
        print(f"  Redis/in-process, journey median: {on_redis.median() / sequential.median():6.2f}x")
    else:
        print(f"  Redis run skipped: no Redis answered at {REDIS_URL}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=40, help="journeys per run (default 40)")
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent clients (default 4)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    print(f"End-to-end journey benchmark, {datetime.now().astimezone().isoformat(timespec='seconds')}")
    print("This machine is shared and noisy: absolute figures vary from run to run; ratios are steadier.")
    print(
        f"CPUs: {os.cpu_count()} ({len(os.sched_getaffinity(0))} usable); {args.journeys} journeys per run "
        f"after {WARM_UP_JOURNEYS} warm-up; alice at {IDP_TWO} (headless), matched; a new client per journey"
    )
    with tempfile.TemporaryDirectory(prefix="journey-bench-") as tmp:
        keys_dir, var_dir = Path(tmp) / "keys", Path(tmp) / "var"
        generate(keys_dir)
        with contextlib.redirect_stdout(io.StringIO()):
            status = matching_service_cli(["import", RECORDS, "--database", str(var_dir / "matching-service.sqlite3")])
        if status != 0:
            raise SystemExit(f"importing {RECORDS} failed ({status})")
        env = {
            "STUB_IDP_HEADLESS": "1",
            "HUB_RATE_LIMIT_PER_MINUTE": "0",
            "HUB_SESSION_KEY": secrets.token_hex(32),
            "HUB_SECRET": secrets.token_hex(32),
            "REDIS_URL": "",  # in process first, whatever the caller's environment says
        }
        prefix = f"journey-bench-{secrets.token_hex(6)}:"
        federation = start_federation(keys_dir=keys_dir, var_dir=var_dir, extra_env=env)
        try:
            sequential = run(federation, args.journeys)
            concurrent = run(federation, args.journeys, args.concurrency)
            on_redis = None
            if redis_reachable():
                federation.stop("hub")
                federation.start("hub", extra_env={"REDIS_URL": REDIS_URL, "HUB_REDIS_PREFIX": prefix})
                on_redis = run(federation, args.journeys)
        finally:
            federation.stop_all()
            if redis_reachable():
                store = redis.Redis.from_url(REDIS_URL)
                for key in store.scan_iter(match=prefix + "*"):
                    store.delete(key)
    report(sequential, concurrent, on_redis, args.concurrency)
    print(f"\n  (benchmark took {time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
