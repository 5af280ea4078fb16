"""`python -m tests.fuzz [--seconds N] [--targets a,b] [--engine auto|atheris|mutate]`: fuzz the inbound parsers.

Generates a development PKI into a temporary directory, writes a seed corpus of valid messages for each
target (checking that each is accepted), then runs each target in its own worker process for `--seconds`
(restarting it if libFuzzer stops early, e.g. on a slow input), and prints per target: inputs executed,
executions per second, how many were refused, accepted or skipped (a re-signing mode whose payload the
harness could not sign), and crashes. Crashing inputs are kept in `var/fuzz-crashes/`. Exit status 1 when
anything crashed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TARGET_NAMES = (
    "authn-request-post",
    "authn-request-redirect",
    "idp-response",
    "attribute-query",
    "federation-metadata",
)
LIBFUZZER_ARTIFACTS = ("crash-", "timeout-", "oom-", "leak-", "slow-unit-")


def _engine(choice: str) -> str:
    if choice != "auto":
        return choice
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed (`pip install -e '.[fuzz]'`): using the plain mutation engine")
        return "mutate"
    return "atheris"


def _artifacts(crash_dir: Path, target: str) -> set[Path]:
    if not crash_dir.exists():
        return set()
    return {p for p in crash_dir.iterdir() if any(p.name.startswith(f"{target}-{a}") for a in LIBFUZZER_ARTIFACTS)}


def run_target(target: str, *, workdir: Path, seconds: float, now: datetime, crash_dir: Path, engine: str) -> dict:
    """Run one target for `seconds` of wall time in worker processes; return its summed figures."""
    total = {
        "executed": 0,
        "crashes": 0,
        "unique_crashes": 0,
        "elapsed": 0.0,
        "refused": 0,
        "accepted": 0,
        "skipped": 0,
    }
    artifacts_before = _artifacts(crash_dir, target)
    deadline = time.monotonic() + seconds
    runs = 0
    log_path = workdir / f"{target}.log"
    while (remaining := deadline - time.monotonic()) > 1:
        stats_path = workdir / f"stats-{target}.json"
        stats_path.unlink(missing_ok=True)
        runs += 1
        with log_path.open("ab") as log:
            process = subprocess.run(
                [sys.executable, "-m", "tests.fuzz.worker", target, "--workdir", str(workdir),
                 "--seconds", f"{remaining:.1f}", "--now", now.isoformat(), "--crash-dir", str(crash_dir),
                 "--engine", engine],
                cwd=REPO, stdout=log, stderr=subprocess.STDOUT, check=False,
            )  # fmt: skip
        if stats_path.exists():
            stats = json.loads(stats_path.read_text())
            for key in total:
                total[key] += stats.get(key, 0)
        if process.returncode != 0:
            print(f"  {target}: worker run {runs} stopped with status {process.returncode} (see {log_path})")
            if runs >= 20:
                break
    total["libfuzzer_artifacts"] = sorted(str(p) for p in _artifacts(crash_dir, target) - artifacts_before)
    total["runs"] = runs
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="wall time per target (default 60)")
    parser.add_argument("--targets", default=",".join(TARGET_NAMES), help="comma-separated subset")
    parser.add_argument("--engine", choices=("auto", "atheris", "mutate"), default="auto")
    parser.add_argument("--crash-dir", type=Path, default=REPO / "var" / "fuzz-crashes")
    parser.add_argument("--keep-workdir", action="store_true", help="keep the keys, seeds and corpus")
    args = parser.parse_args(argv)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = set(targets) - set(TARGET_NAMES)
    if unknown:
        parser.error(f"unknown targets {sorted(unknown)}; known: {', '.join(TARGET_NAMES)}")
    engine = _engine(args.engine)

    from keys.generate import generate
    from tests.fuzz.seeds import write_seeds
    from tests.fuzz.targets import Context

    workdir = Path(tempfile.mkdtemp(prefix="federation-fuzz-"))
    try:
        generate(workdir / "keys")
        now = datetime.now(UTC).replace(microsecond=0)
        ctx = Context.load(workdir / "keys", now)
        print(f"engine {engine}; {args.seconds:g} s per target; crashes go to {args.crash_dir}")
        for target in targets:
            count = write_seeds(ctx, target, workdir / "seeds" / target)
            print(f"  {target}: {count} valid seed messages")
        results = {}
        for target in targets:
            print(f"fuzzing {target} ...", flush=True)
            results[target] = run_target(
                target, workdir=workdir, seconds=args.seconds, now=now, crash_dir=args.crash_dir, engine=engine
            )
        print()
        print(
            f"{'target':<24}{'inputs':>12}{'exec/s':>8}{'refused':>10}{'accepted':>9}{'skipped':>9}"
            f"{'crashes':>9}{'unique':>8}"
        )
        failed = False
        for target, r in results.items():
            rate = r["executed"] / r["elapsed"] if r["elapsed"] else 0.0
            crashes = r["crashes"] + len(r["libfuzzer_artifacts"])
            failed |= crashes > 0
            print(
                f"{target:<24}{r['executed']:>12}{rate:>8.0f}{r['refused']:>10}{r['accepted']:>9}{r['skipped']:>9}"
                f"{crashes:>9}{r['unique_crashes'] + len(r['libfuzzer_artifacts']):>8}"
            )
            for artifact in r["libfuzzer_artifacts"]:
                print(f"    libFuzzer artifact: {artifact}")
        if failed:
            print(f"\ncrashing inputs and tracebacks: {args.crash_dir}")
        if args.keep_workdir:
            print(f"work directory kept: {workdir}")
        return 1 if failed else 0
    finally:
        if not args.keep_workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
