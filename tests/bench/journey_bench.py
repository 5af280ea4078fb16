"""Journey benchmark: the real federation (every service its own process), matched journeys at 1, 4, 16 and
50 at once; CPU per journey per process from /proc, latency per hop, and the operations each process did.

Run with `make bench`, or `python -m tests.bench.journey_bench [--journeys 100] [--levels 1,4,16,50]
[--quick] [--redis] [--driver light|browser] [--json PATH]`. It prints a table and writes the figures as JSON (default
var/bench/journey-<UTC timestamp>.json); `--compare BEFORE.json AFTER.json` sets two such reports side by
side. It asserts nothing about speed: a journey that does not end matched and signed in stops the run, and
that is all. The journeys are driven by the light driver (tests/bench/light_driver.py: a few ms of CPU per
journey, so the services get the cores) unless `--driver browser` asks for the BrowserClient the end-to-end
tests use (tests/bench/journeys.py: about 30 ms per journey, parsing every page). docs/performance.md says
what each figure means.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import redis

from federation.launcher import ORDER, Federation
from federation.op_counts import ENV_DIR as OP_COUNTS_ENV
from federation.op_counts import OPERATIONS
from federation.runtime import REPO_DIR
from keys.generate import generate
from tests.bench import journeys as browser_driver
from tests.bench import light_driver
from tests.bench.compare import compare, driver_of, load
from tests.bench.journeys import Journey, hop_figures, run_journeys
from tests.bench.op_count_reader import per_journey, read_service_counts
from tests.bench.proc_cpu import CLOCK_TICKS, own_cpu_seconds, tree_cpu_seconds
from tests.support.federation_under_test import running_federation

LEVELS = (1, 4, 16, 50)
QUICK_LEVELS = (1, 4)
DEFAULT_JOURNEYS = 100
QUICK_JOURNEYS = 10
WARM_UP = 5  # per level, and at least one per concurrent client: first journeys fill caches and pools
QUICK_WARM_UP = 1
IDLE_SECONDS = 3.0
QUICK_IDLE_SECONDS = 1.0
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
JOURNEY = "alice at Stub IDP Two (headless answer), matched by the local matcher; a fresh client per journey"
DRIVERS: dict[str, tuple[Callable[[Federation], Journey], str]] = {
    "light": (
        light_driver.one_journey,
        "light: keep-alive sockets, forms read by regexes (tests/bench/light_driver.py)",
    ),
    "browser": (browser_driver.one_journey, "browser: requests and lxml, the end-to-end tests' BrowserClient"),
}
DEFAULT_DRIVER = "light"


def measure_level(
    federation: Federation,
    counts_dir: Path,
    *,
    journeys: int,
    concurrency: int,
    warm_up: int,
    store: str,
    driver: str = DEFAULT_DRIVER,
) -> dict:
    """One concurrency level: warm up, then `journeys` journeys with CPU and operation counts around them."""
    journey = DRIVERS[driver][0]
    run_journeys(federation, max(warm_up, concurrency), concurrency, journey)
    pids = {name: process.pid for name, process in federation.processes.items()}
    counts_before = {name: read_service_counts(counts_dir, name, pid) for name, pid in pids.items()}
    cpu_before = {name: tree_cpu_seconds(pid) for name, pid in pids.items()}
    driver_before = own_cpu_seconds()
    done, seconds = run_journeys(federation, journeys, concurrency, journey)
    driver_cpu = own_cpu_seconds() - driver_before
    cpu_after = {name: tree_cpu_seconds(pid) for name, pid in pids.items()}
    counts_after = {name: read_service_counts(counts_dir, name, pid) for name, pid in pids.items()}
    cpu_ms = {name: (cpu_after[name] - cpu_before[name]) * 1000 / journeys for name in _ordered(pids)}
    return {
        "concurrency": concurrency,
        "store": store,
        "journeys": journeys,
        "seconds": seconds,
        "journeys_per_second": journeys / seconds,
        "cpu_ms_per_journey": {**cpu_ms, "all processes": sum(cpu_ms.values())},
        "driver_cpu_ms_per_journey": driver_cpu * 1000 / journeys,
        "ops_per_journey": {
            name: per_journey(counts_before[name], counts_after[name], journeys) for name in _ordered(pids)
        },
        "hops": {hop: asdict(figures) for hop, figures in hop_figures(done).items()},
    }


def _ordered(names: Mapping[str, object] | Sequence[str]) -> list[str]:
    return sorted(names, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))


def idle_cpu(federation: Federation, seconds: float) -> dict[str, float]:
    """CPU ms per second each process spends with no journey running (background work, if any)."""
    pids = {name: process.pid for name, process in federation.processes.items()}
    before = {name: tree_cpu_seconds(pid) for name, pid in pids.items()}
    time.sleep(seconds)
    return {name: (tree_cpu_seconds(pid) - before[name]) * 1000 / seconds for name, pid in pids.items()}


def redis_reachable() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _remove_redis_keys(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)


def summary(levels: Sequence[dict]) -> dict:
    """The headline: each process's CPU ms per journey, the median over the in-process levels."""
    memory = [level for level in levels if level["store"] == "memory"] or list(levels)
    names = memory[0]["cpu_ms_per_journey"]
    return {
        "cpu_ms_per_journey_median": {
            name: statistics.median(level["cpu_ms_per_journey"][name] for level in memory) for name in names
        },
        "driver_cpu_ms_per_journey_median": statistics.median(level["driver_cpu_ms_per_journey"] for level in memory),
        "ops_per_journey": memory[0]["ops_per_journey"],
    }


def run_bench(
    *,
    journeys: int,
    levels: Sequence[int],
    warm_up: int = WARM_UP,
    idle_seconds: float = IDLE_SECONDS,
    with_redis: bool = False,
    quiet: bool = False,
    driver: str = DEFAULT_DRIVER,
) -> dict:
    """Start the federation, measure every level (then the hub on Redis, if asked), stop it; the figures."""
    say = (lambda *_: None) if quiet else print
    started = datetime.now(UTC)
    results: dict = {
        "started": started.isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "usable_cpus": len(os.sched_getaffinity(0)),
            "clock_ticks_per_second": CLOCK_TICKS,
            "load_average_at_start": os.getloadavg(),
        },
        "journey": JOURNEY,
        "driver": driver,
        "driver_description": DRIVERS[driver][1],
        "journeys_per_level": journeys,
        "warm_up_per_level": f"max({warm_up}, concurrency)",
        "levels": [],
    }
    prefix = f"journey-bench-{os.getpid()}-{int(time.time())}:"  # the hub's Redis keys, removed afterwards
    with tempfile.TemporaryDirectory(prefix="journey-bench-") as tmp, contextlib.ExitStack() as stack:
        keys_dir, var_dir, counts_dir = Path(tmp) / "keys", Path(tmp) / "var", Path(tmp) / "op-counts"
        generate(keys_dir)
        env = {"HUB_RATE_LIMIT_PER_MINUTE": "0", "REDIS_URL": "", OP_COUNTS_ENV: str(counts_dir)}
        if with_redis:
            stack.callback(_remove_redis_keys, prefix)
        with contextlib.redirect_stdout(io.StringIO()):  # the record import's chatter
            federation = stack.enter_context(running_federation(var_dir, keys_dir, **env))
        results["idle_cpu_ms_per_second"] = idle_cpu(federation, idle_seconds)
        stores = [("memory", levels)]
        if with_redis:
            stores.append(("redis", [c for c in levels if c in (1, 16)] or list(levels[:1])))
        for store, store_levels in stores:
            if store == "redis":
                federation.stop("hub")
                federation.start("hub", extra_env={"REDIS_URL": REDIS_URL, "HUB_REDIS_PREFIX": prefix})
            for concurrency in store_levels:
                say(f"  measuring {journeys} journeys at concurrency {concurrency} ({store} store)...")
                level = measure_level(
                    federation,
                    counts_dir,
                    journeys=journeys,
                    concurrency=concurrency,
                    warm_up=warm_up,
                    store=store,
                    driver=driver,
                )
                results["levels"].append(level)
    results["summary"] = summary(results["levels"])
    results["seconds"] = (datetime.now(UTC) - started).total_seconds()
    return results


def _label(level: dict) -> str:
    return f"c={level['concurrency']}" + ("" if level["store"] == "memory" else " redis")


def table(results: dict) -> str:
    """The figures as text: CPU per process, throughput, operations, then latency per hop."""
    levels = results["levels"]
    heads = [_label(level) for level in levels]
    width = max(11, *(len(h) + 2 for h in heads))
    out = io.StringIO()

    def row(label: str, cells: Sequence[str]) -> None:
        out.write(f"  {label:<52}" + "".join(f"{c:>{width}}" for c in cells) + "\n")

    out.write(f"\nLoad driver: {results.get('driver_description', driver_of(results))}\n")
    out.write(f"\nCPU ms per matched journey (/proc utime+stime; {results['journeys_per_level']} journeys per level)\n")
    row("process", [*heads, "median"])  # over the in-process levels (the Redis ones are shown, not counted)
    med = results["summary"]["cpu_ms_per_journey_median"]
    for name in med:
        row(name, [f"{level['cpu_ms_per_journey'].get(name, 0):.1f}" for level in levels] + [f"{med[name]:.1f}"])
    driver_median = results["summary"]["driver_cpu_ms_per_journey_median"]
    driver = [f"{level['driver_cpu_ms_per_journey']:.1f}" for level in levels]
    row(f"load driver (this process, {driver_of(results)})", [*driver, f"{driver_median:.1f}"])
    row("journeys/s", [f"{level['journeys_per_second']:.1f}" for level in levels])
    idle = results["idle_cpu_ms_per_second"]
    out.write("  idle CPU ms/s (no journey running): " + ", ".join(f"{n} {v:.1f}" for n, v in idle.items()) + "\n")

    out.write(f"\nOperations per journey ({heads[0]}): signatures, verifications, ... by process\n")
    ops = levels[0]["ops_per_journey"]
    out.write(f"  {'process':<24}" + "".join(f"{op:>12}" for op in OPERATIONS) + "\n")
    for name, counts in ops.items():
        out.write(f"  {name:<24}" + "".join(f"{counts[op]:12.2f}" for op in OPERATIONS) + "\n")
    for name, counts in ops.items():
        pages = {op.split(":", 1)[1]: n for op, n in counts.items() if op.startswith("page_render:")}
        if pages:
            out.write(f"  {name} renders: " + ", ".join(f"{t} {n:g}" for t, n in pages.items()) + "\n")

    out.write("\nLatency per hop, ms as the client sees it: p50 / p99\n")
    row("hop", heads)
    hops: dict[str, None] = {}
    for level in levels:
        hops.update(dict.fromkeys(level["hops"]))
    for hop in hops:
        cells = []
        for level in levels:
            figures = level["hops"].get(hop)
            cells.append(f"{figures['p50_ms']:.0f}/{figures['p99_ms']:.0f}" if figures else "-")
        row(hop[:52], cells)
    return out.getvalue()


def default_json_path(started: str) -> Path:
    stamp = datetime.fromisoformat(started).strftime("%Y%m%dT%H%M%SZ")
    return REPO_DIR / "var" / "bench" / f"journey-{stamp}.json"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, help=f"journeys per level (default {DEFAULT_JOURNEYS})")
    parser.add_argument("--levels", help="concurrency levels, comma-separated (default 1,4,16,50)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_JOURNEYS} journeys at 1 and 4 (a smoke run)")
    parser.add_argument("--redis", action="store_true", help="then the hub on Redis at concurrency 1 and 16")
    parser.add_argument(
        "--driver",
        choices=sorted(DRIVERS),
        default=DEFAULT_DRIVER,
        help=f"the load driver (default {DEFAULT_DRIVER}; browser: the end-to-end tests' BrowserClient)",
    )
    parser.add_argument("--json", type=Path, help="where to write the figures (default var/bench/journey-<UTC>.json)")
    parser.add_argument(
        "--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"), help="compare two reports (runs nothing)"
    )
    args = parser.parse_args(argv)
    if args.compare:
        print(compare(*(load(path) for path in args.compare)))
        return 0
    journeys = args.journeys or (QUICK_JOURNEYS if args.quick else DEFAULT_JOURNEYS)
    try:
        levels = [int(v) for v in args.levels.split(",")] if args.levels else (QUICK_LEVELS if args.quick else LEVELS)
    except ValueError:
        parser.error(f"--levels takes numbers separated by commas, e.g. 1,4,16 (got {args.levels!r})")
    if journeys < 1 or any(c < 1 for c in levels):
        parser.error("--journeys and every level must be at least 1")
    if args.redis and not redis_reachable():
        parser.error(f"--redis: no Redis answered at {REDIS_URL} (set TEST_REDIS_URL)")
    print(f"Journey benchmark: {JOURNEY}")
    print(
        f"{journeys} journeys per level at concurrency {', '.join(map(str, levels))}; "
        f"CPUs: {os.cpu_count()} ({len(os.sched_getaffinity(0))} usable), load average {os.getloadavg()[0]:.1f}"
    )
    quick = {"warm_up": QUICK_WARM_UP, "idle_seconds": QUICK_IDLE_SECONDS} if args.quick else {}
    results = run_bench(journeys=journeys, levels=levels, with_redis=args.redis, driver=args.driver, **quick)
    print(table(results))
    path = args.json or default_json_path(results["started"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print(f"  figures written to {path} (benchmark took {results['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
