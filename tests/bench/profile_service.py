"""`make profile SERVICE=hub N=200`: one service under cProfile (federation.profiling) over N matched journeys.

The federation starts with that one service profiled; after a few warm-up journeys the profile is reset
(SIGUSR2), the journeys run, and SIGUSR1 has the service write its statistics (each of its processes, if
its server forks workers: they are merged). The result lands in
var/profile/: `<service>-<UTC>.prof` (for pstats, snakeviz, ...) and `<service>-<UTC>.txt` (where the CPU
goes per journey, by area and by function, tests.bench.cpu_by_function; then the top 40 functions by
cumulative time and by own time). Profiling slows Python code more than C: for CPU figures
use `make bench`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import pstats
import signal
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from federation.launcher import ORDER
from federation.profiling import ENV_DIR, ENV_SERVICE, report
from federation.runtime import REPO_DIR
from keys.generate import generate
from tests.bench.cpu_by_function import from_pstats, table
from tests.bench.journey_bench import DEFAULT_DRIVER, DRIVERS
from tests.bench.journeys import run_journeys
from tests.bench.proc_cpu import process_tree, same_program
from tests.support.federation_under_test import running_federation

WARM_UP = 5


def wait_for(path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the profiled service wrote no {path.name} within {timeout:.0f} s")
        time.sleep(0.1)


def service_processes(root: int) -> list[int]:
    """The profiled process and any Python workers it forked (each profiles itself)."""
    return [pid for pid in process_tree(root) if pid == root or same_program(pid, root)]


def profile(
    service: str,
    journeys: int,
    concurrency: int,
    out_dir: Path,
    driver: str = DEFAULT_DRIVER,
) -> tuple[Path, Path]:
    """Profile `service` over `journeys` journeys; returns the .prof and .txt paths written in `out_dir`.

    The summary starts with where the CPU goes per journey, by area and by function
    (tests.bench.cpu_by_function)."""
    journey = DRIVERS[driver][0]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with tempfile.TemporaryDirectory(prefix="profile-") as tmp:
        keys_dir, var_dir, prof_dir = Path(tmp) / "keys", Path(tmp) / "var", Path(tmp) / "profile"
        generate(keys_dir)
        env = {"HUB_RATE_LIMIT_PER_MINUTE": "0", "REDIS_URL": "", ENV_SERVICE: service, ENV_DIR: str(prof_dir)}
        with contextlib.redirect_stdout(io.StringIO()), running_federation(var_dir, keys_dir, **env) as federation:
            run_journeys(federation, WARM_UP, 1, journey)
            pids = service_processes(federation.processes[service].pid)
            for pid in pids:
                os.kill(pid, signal.SIGUSR2)  # forget start-up and warm-up
            time.sleep(0.2)
            run_journeys(federation, journeys, concurrency, journey)
            for pid in pids:
                os.kill(pid, signal.SIGUSR1)
            for pid in pids:
                wait_for(prof_dir / f"{service}-{pid}.txt", timeout=120)
            stats = pstats.Stats(*(str(prof_dir / f"{service}-{pid}.prof") for pid in pids))
        out_dir.mkdir(parents=True, exist_ok=True)
        prof, text = out_dir / f"{service}-{stamp}.prof", out_dir / f"{service}-{stamp}.txt"
        stats.dump_stats(prof)
        summary = table(from_pstats(stats), journeys)
        text.write_text(summary + "\n" + report(stats), encoding="utf-8")
    return prof, text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--service", default="hub", choices=ORDER, help="the service to profile (default hub)")
    parser.add_argument("--journeys", type=int, default=200, help="matched journeys profiled (default 200)")
    parser.add_argument("--concurrency", type=int, default=1, help="journeys at once (default 1)")
    parser.add_argument(
        "--driver", choices=sorted(DRIVERS), default=DEFAULT_DRIVER, help=f"the load driver (default {DEFAULT_DRIVER})"
    )
    parser.add_argument("--out", type=Path, default=REPO_DIR / "var" / "profile", help="default var/profile")
    args = parser.parse_args(argv)
    if args.journeys < 1 or args.concurrency < 1:
        parser.error("--journeys and --concurrency must be at least 1")
    print(f"Profiling {args.service} over {args.journeys} matched journeys ({args.concurrency} at once)...")
    prof, text = profile(args.service, args.journeys, args.concurrency, args.out, args.driver)
    print(text.read_text(encoding="utf-8"))
    print(f"written: {prof}\n         {text}\n(read the .prof with: python -m pstats {prof})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
