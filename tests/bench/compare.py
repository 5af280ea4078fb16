"""Two journey-benchmark JSON files side by side: CPU per journey per process and operations per journey,
before and after (`python -m tests.bench.journey_bench --compare BEFORE.json AFTER.json`)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from federation.op_counts import OPERATIONS


def load(path: Path) -> dict:
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        results["summary"]["cpu_ms_per_journey_median"]  # noqa: B018 - the shape this reads
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(f"{path}: not a journey benchmark report ({exc.__class__.__name__}: {exc})") from None
    return results


def compare(before: dict, after: dict) -> str:
    out = io.StringIO()
    for label, report in (("before", before), ("after", after)):
        out.write(
            f"\n  {label + ':':<8}{report['started']} (load average "
            f"{report['machine']['load_average_at_start'][0]:.1f}; {driver_of(report)} load driver)"
        )
    out.write("\n")
    out.write("\nCPU ms per matched journey (median over the in-process levels)\n")
    out.write(f"  {'process':<28}{'before':>10}{'after':>10}{'after/before':>14}\n")
    old, new = before["summary"]["cpu_ms_per_journey_median"], after["summary"]["cpu_ms_per_journey_median"]
    for name in dict.fromkeys([*old, *new]):
        a, b = old.get(name), new.get(name)
        ratio = f"{b / a:.2f}x" if a and b is not None else "-"
        out.write(f"  {name:<28}{_ms(a):>10}{_ms(b):>10}{ratio:>14}\n")
    old_ops, new_ops = before["summary"]["ops_per_journey"], after["summary"]["ops_per_journey"]
    out.write("\nOperations per journey, before -> after (changed ones only)\n")
    for name in dict.fromkeys([*old_ops, *new_ops]):
        ops = dict.fromkeys([*OPERATIONS, *old_ops.get(name, {}), *new_ops.get(name, {})])
        if not (_by_template(old_ops.get(name, {})) and _by_template(new_ops.get(name, {}))):
            ops = dict.fromkeys(OPERATIONS)  # an older report has no renders by template: totals only
        changes = [
            f"{op} {old_ops.get(name, {}).get(op, 0):g} -> {new_ops.get(name, {}).get(op, 0):g}"
            for op in ops
            if old_ops.get(name, {}).get(op, 0) != new_ops.get(name, {}).get(op, 0)
        ]
        if changes:
            out.write(f"  {name}: " + ", ".join(changes) + "\n")
    return out.getvalue()


def driver_of(report: dict) -> str:
    """The load driver a report names; reports from before the light driver name none and used the browser one."""
    return report.get("driver", "browser")


def _by_template(ops: dict) -> bool:
    return any(op.startswith("page_render:") for op in ops) or not ops.get("page_render")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
