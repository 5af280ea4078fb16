"""Reads the services' operation counts (federation.op_counts): SIGUSR1 asks a process to write them."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Mapping
from pathlib import Path

from federation.op_counts import OPERATIONS


def read_counts(directory: Path, service: str, pid: int, timeout: float = 10.0) -> dict[str, int]:
    """Ask process `pid` for its counts and wait for the file it writes; every operation is named, and
    each page template as `page_render:<template>`."""
    path = directory / f"{service}-{pid}.json"
    before = _dump_number(path)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _dump_number(path) > before:
            written = json.loads(path.read_text(encoding="utf-8"))
            templates = {f"page_render:{name}": int(n) for name, n in written["templates"].items()}
            return {**{op: int(written["counts"].get(op, 0)) for op in OPERATIONS}, **templates}
        time.sleep(0.02)
    raise RuntimeError(f"{service} (pid {pid}) wrote no operation counts to {path} within {timeout} s")


def _dump_number(path: Path) -> int:
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))["dump"])
    except (FileNotFoundError, ValueError, KeyError):
        return 0


def per_journey(before: Mapping[str, int], after: Mapping[str, int], journeys: int) -> dict[str, float]:
    """Operations per journey; templates only if rendered in between."""
    ops = {op: (after[op] - before[op]) / journeys for op in OPERATIONS}
    templates = {k: (n - before.get(k, 0)) / journeys for k, n in sorted(after.items()) if k not in ops}
    return {**ops, **{k: v for k, v in templates.items() if v}}
