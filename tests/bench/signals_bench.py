"""What the signals and reports cost, in CPU time read from /proc (this process) and Redis's INFO.

Run with `python -m tests.bench.signals_bench` (also part of `make bench`). It prints figures and asserts
nothing about them:

1. the per-request cost of `federation.observability.install` (request ID, latency histogram in
   multi-process mode, one log line) on a minimal Flask app, against the same app without it;
2. one scrape of the operator's `/metrics` exposition over those multi-process files;
3. the reports: reading and computing all six over a synthetic audit log;
4. `hub_journeys_in_progress`: the SCAN count over N session keys in Redis (client and server CPU).
"""

from __future__ import annotations

import os
import tempfile

_METRICS_DIR = tempfile.mkdtemp(prefix="signals-bench-metrics-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _METRICS_DIR  # before prometheus_client is imported

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import redis  # noqa: E402
from flask import Flask  # noqa: E402

from federation.logging_setup import configure_logging  # noqa: E402
from federation.observability import install  # noqa: E402
from hub import metrics, operator_signals  # noqa: E402
from hub.reports import KINDS, read_events, read_feedback, report  # noqa: E402

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> float:
    """This process's user + system CPU time, from /proc/self/stat (fields 14 and 15, in clock ticks)."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def app(observed: bool) -> Flask:
    flask_app = Flask("bench")

    @flask_app.get("/journey/<step>")
    def step(step: str) -> str:
        return "ok"

    if observed:
        install(flask_app, "bench", trust_request_id=False)
    return flask_app


def per_request(observed: bool, requests: int) -> float:
    client = app(observed).test_client()
    for _ in range(200):  # warm up
        client.get("/journey/start")
    start = cpu_seconds()
    for _ in range(requests):
        client.get("/journey/start")
    return (cpu_seconds() - start) / requests


def synthetic_audit(path: Path, journeys: int) -> int:
    """A plausible audit log: most journeys proved and matched, some stopping at each stage."""
    rng = random.Random(7)
    day = datetime(2026, 11, 1, tzinfo=UTC)
    lines = 0
    with path.open("w", encoding="utf-8") as out:
        for number in range(journeys):
            ref = secrets.token_hex(16)
            rp = f"https://rp-{rng.randrange(5)}.test"
            idp = f"https://idp-{rng.randrange(4)}.test"
            when = day + timedelta(seconds=number * 30)
            steps = [("session_started", None, None)]
            roll = rng.random()
            if roll > 0.1:
                steps.append(("idp_selected", idp, None))
            if roll > 0.25:
                steps.append(("idp_authn_succeeded" if roll > 0.35 else "no_authn_context", idp, None))
            if roll > 0.35:
                steps.append(("cycle01_match" if roll > 0.45 else "cycle01_no_match", idp, None))
            if roll > 0.45:
                steps.append(("returned_to_service", idp, {"status": "SUCCESS"}))
            for offset, (event, company, extra) in enumerate(steps):
                record = {
                    "time": (when + timedelta(seconds=offset * 20)).isoformat(timespec="milliseconds"),
                    "event": event,
                    "session_ref": ref,
                    "rp": rp,
                    "idp": company,
                    "levels": ["LEVEL_2"],
                    "pid_hash": None,
                }
                if extra:
                    record["extra"] = extra
                out.write(json.dumps(record) + "\n")
                lines += 1
    return lines


def reports(journeys: int, folder: Path) -> None:
    path = folder / "audit.jsonl"
    lines = synthetic_audit(path, journeys)
    size = path.stat().st_size / 1e6
    start = cpu_seconds()
    events = read_events([path])
    read = cpu_seconds() - start
    start = cpu_seconds()
    for kind in KINDS:
        report(kind, events, read_feedback([]))
    computed = cpu_seconds() - start
    print(
        f"  {journeys} journeys, {lines} events ({size:.0f} MB): read {read:.2f} s CPU "
        f"({lines / max(read, 1e-9) / 1000:.0f}k events/s), all six reports {computed:.2f} s CPU"
    )


def journeys_in_progress(keys: int) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        print("  (no Redis at", REDIS_URL, "- skipped)")
        return
    prefix = f"signals-bench-{secrets.token_hex(4)}:"
    try:
        pipe = client.pipeline(transaction=False)
        for number in range(keys):
            pipe.set(f"{prefix}session:{number}", b"x", ex=600)
            pipe.set(f"{prefix}entry:x:{number}", b"x", ex=600)  # other hub keys, not counted
        pipe.execute()
        collector = operator_signals.JourneysInProgress(client, prefix)
        server_before = client.info("cpu")
        start_cpu, start_wall = cpu_seconds(), time.perf_counter()
        (family,) = collector.collect()
        cpu, wall = cpu_seconds() - start_cpu, time.perf_counter() - start_wall
        server_after = client.info("cpu")
        server = sum(server_after[k] - server_before[k] for k in ("used_cpu_user", "used_cpu_sys"))
        total = client.dbsize()
        print(
            f"  {keys} sessions among {total} keys: counted {family.samples[0].value:.0f} "
            f"in {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms client CPU, {server * 1000:.0f} ms Redis CPU"
        )
    finally:
        for key in client.scan_iter(match=prefix + "*", count=1000):
            client.delete(key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.signals_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--journeys", type=int, default=50000)
    parser.add_argument("--sessions", type=int, default=20000)
    args = parser.parse_args(argv)
    configure_logging("bench", {}, stream=open(os.devnull, "w"))  # the log line is formatted, not printed
    try:
        print(f"CPUs: {os.cpu_count()}; CPU time from /proc/self/stat; prometheus_client multi-process mode")
        print(f"1. per request ({args.requests} GETs through Flask's test client):")
        bare = per_request(False, args.requests)
        observed = per_request(True, args.requests)
        print(
            f"  bare app {bare * 1e6:.0f} us CPU, observed {observed * 1e6:.0f} us CPU: "
            f"+{(observed - bare) * 1e6:.0f} us"
        )
        print("2. one /metrics exposition over the multi-process files:")
        start = cpu_seconds()
        for _ in range(20):
            body, _type = metrics.exposition()
        print(f"  {(cpu_seconds() - start) / 20 * 1000:.1f} ms CPU ({len(body)} bytes)")
        with tempfile.TemporaryDirectory() as folder:
            print("3. reports:")
            reports(args.journeys, Path(folder))
        print("4. journeys in progress (SCAN):")
        journeys_in_progress(args.sessions)
    finally:
        logging.getLogger().handlers.clear()
        shutil.rmtree(_METRICS_DIR, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
