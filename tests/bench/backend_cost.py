"""What one matched journey costs the back end: CPU per process and, with the hub on Redis, Redis commands.

    python -m tests.bench.backend_cost [--journeys 30] [--redis] [--separate-local-matcher]

Sequential journeys (alice at Stub IDP Two, headless, matched), each measured on its own: the CPU time every
service process spent (utime + stime from /proc/<pid>/stat, so children's waits and other helpers' load on
the machine do not count) and, with `--redis`, the commands the hub sent to a private redis-server of this
run (`INFO commandstats` before and after, so nobody else's commands are counted). It prints means (CPU)
and medians (commands) and asserts nothing about them. `--separate-local-matcher` runs the local matcher as
a process of its own (the HTTP contract, as a department's own matcher) instead of built into the matching
service.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import secrets
import statistics
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import redis

from federation.launcher import Federation, start_federation
from keys.generate import generate
from matching_service.cli import main as matching_service_cli
from tests.e2e.journey import IDP_TWO, expected_hashed_pid, sign_in
from tests.faults.faults_support import PrivateRedis
from tests.support.browser_client import BrowserClient

RECORDS = "matching_service/demo/records.csv"
WARM_UP_JOURNEYS = 3
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid` so far (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def command_counts(client: redis.Redis | None) -> Counter[str]:
    if client is None:
        return Counter()
    stats = client.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()})


def one_journey(federation: Federation) -> None:
    browser = BrowserClient()
    try:
        page = sign_in(browser, federation, "alice", IDP_TWO)
    finally:
        browser.http.close()
    if not page.url.endswith("/signed-in") or expected_hashed_pid("stub-idp-two", "alice") not in page.text:
        raise RuntimeError(f"the journey did not end matched and signed in: {page.url} ({page.heading})")


def measure(
    federation: Federation, journeys: int, client: redis.Redis | None
) -> tuple[dict[str, list[float]], list[Counter[str]]]:
    """Per journey: CPU seconds per process, and Redis commands by name (INFO itself left out)."""
    pids = {name: process.pid for name, process in federation.processes.items()}
    cpu: dict[str, list[float]] = {name: [] for name in pids}
    commands: list[Counter[str]] = []
    for _ in range(WARM_UP_JOURNEYS):
        one_journey(federation)
    for _ in range(journeys):
        before_cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
        before_commands = command_counts(client)
        one_journey(federation)
        after_commands = command_counts(client)
        for name, pid in pids.items():
            cpu[name].append(cpu_seconds(pid) - before_cpu[name])
        delta = after_commands - before_commands
        delta.pop("info", None)
        commands.append(delta)
    return cpu, commands


def report(cpu: Mapping[str, Sequence[float]], commands: Sequence[Counter[str]], journeys: int) -> None:
    # /proc counts whole clock ticks (10 ms): a single journey's median would be a tick count, so the mean.
    print(f"\n  CPU per matched journey, ms: the mean over {journeys} sequential journeys")
    total = 0.0
    for name, values in cpu.items():
        mean = statistics.fmean(values)
        total += mean
        print(f"  {name:<24} {mean * 1000:7.1f}")
    print(f"  {'all processes':<24} {total * 1000:7.1f}")
    if commands and any(commands):
        totals = [sum(c.values()) for c in commands]
        print(f"\n  Redis commands per journey (hub): median {statistics.median(totals):.0f}, max {max(totals)}")
        overall = sum(commands, Counter())
        for name, calls in overall.most_common():
            print(f"    {name:<12} {calls / len(commands):6.1f}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journeys", type=int, default=30, help="measured journeys (default 30)")
    parser.add_argument("--redis", action="store_true", help="the hub on a private redis-server of this run")
    parser.add_argument(
        "--separate-local-matcher", action="store_true", help="the local matcher as a process of its own"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="backend-cost-") as tmp:
        keys_dir, var_dir = Path(tmp) / "keys", Path(tmp) / "var"
        generate(keys_dir)
        with contextlib.redirect_stdout(io.StringIO()):
            matching_service_cli(["import", RECORDS, "--database", str(var_dir / "matching-service.sqlite3")])
        private = PrivateRedis(Path(tmp)) if args.redis else None
        env = {
            "STUB_IDP_HEADLESS": "1",
            "HUB_RATE_LIMIT_PER_MINUTE": "120",  # on, as in production: its commands are part of the cost
            "HUB_SESSION_KEY": secrets.token_hex(32),
            "HUB_SECRET": secrets.token_hex(32),
            "REDIS_URL": "",
        }
        client = None
        if private is not None:
            private.start()
            env["REDIS_URL"] = private.url
            client = redis.Redis.from_url(private.url)
        try:
            federation = start_federation(
                keys_dir=keys_dir, var_dir=var_dir, extra_env=env, separate_local_matcher=args.separate_local_matcher
            )
            try:
                cpu, commands = measure(federation, args.journeys, client)
            finally:
                federation.stop_all()
        finally:
            if private is not None:
                private.kill()
    mode = "separate local matcher" if args.separate_local_matcher else "built-in local matcher"
    print(f"Back-end cost per journey: hub {'on Redis' if args.redis else 'in process'}, {mode}")
    report(cpu, commands, args.journeys)


if __name__ == "__main__":
    main()
