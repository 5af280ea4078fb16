"""Run one service under cProfile: `python -m federation.profiling hub --port 8080` takes federation.serve's
arguments. The launcher starts a service this way when FEDERATION_PROFILE names it (`make profile`).

cProfile sees only the thread that enabled it, and the server answers on worker threads, so every thread
gets its own profiler as it starts (threading.setprofile) and a report merges them all. Each profiler times
with its thread's CPU clock, so the report shows where CPU goes, not where threads wait. cProfile is exact
about call counts and is in the standard library, but it slows pure-Python code (Jinja) more than C
(libxmlsec1, lxml): read its shares as a guide, and take CPU figures from `make bench`, not from here.

A server whose request threads are not started by `threading` (a Rust server's) is covered too: each
request to a Flask app runs under its thread's profiler if that thread has none running. A server that
forks workers gives each worker its own files.

Signals: SIGUSR2 forgets everything measured so far (the driver sends it after warm-up); SIGUSR1 writes
`<FEDERATION_PROFILE_DIR>/<service>-<pid>.prof` and a text summary next to it (top functions by cumulative
and by own time); SIGTERM writes them too, then stops the service.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import signal
import sys
import threading
import time
from pathlib import Path

ENV_SERVICE = "FEDERATION_PROFILE"
ENV_DIR = "FEDERATION_PROFILE_DIR"
TOP = 40

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()
_this_thread = threading.local()  # .profile: the thread's profiler, .running: enabled for the whole thread


def _new_profile() -> cProfile.Profile:
    profile = cProfile.Profile(time.thread_time)  # CPU, not wall clock: waiting for work costs nothing
    with _lock:
        _profiles.append(profile)
    _this_thread.profile = profile
    return profile


def _profile_this_thread(*_: object) -> None:
    """threading's profile hook: runs once at a new thread's first call and hands over to cProfile."""
    sys.setprofile(None)
    _this_thread.running = True
    _new_profile().enable()


def _profile_requests() -> None:
    """Each Flask request on a thread without a running profiler is profiled on its own."""
    from flask import Flask

    served = Flask.__call__

    def profiled(app: Flask, environ: dict, start_response: object) -> object:
        if getattr(_this_thread, "running", False):
            return served(app, environ, start_response)
        profile = getattr(_this_thread, "profile", None) or _new_profile()
        profile.enable()
        try:
            return served(app, environ, start_response)
        finally:
            profile.disable()

    Flask.__call__ = profiled  # type: ignore[method-assign]


def _after_fork() -> None:
    """A forked worker: a fresh lock (the parent's may have been held), and its own figures only."""
    global _lock
    _lock = threading.Lock()
    for profile in _profiles:
        profile.clear()


class _Snapshot:
    """One thread's statistics so far, read without disabling its profiler (pstats would, on this thread)."""

    def __init__(self, profile: cProfile.Profile) -> None:
        profile.snapshot_stats()
        self.stats = profile.stats

    def create_stats(self) -> None:
        """pstats calls this; the statistics are already taken."""


def merged() -> pstats.Stats | None:
    with _lock:
        snapshots = [_Snapshot(p) for p in _profiles]
    snapshots = [s for s in snapshots if s.stats]
    if not snapshots:
        return None
    stats = pstats.Stats(snapshots[0])
    for snapshot in snapshots[1:]:
        stats.add(snapshot)
    return stats


def report(stats: pstats.Stats) -> str:
    """The text summary: the top functions by cumulative time, then by own time (tottime)."""
    out = io.StringIO()
    for order in ("cumulative", "tottime"):
        out.write(f"=== top {TOP} by {order} ===\n")
        stats.stream = out
        stats.sort_stats(order).print_stats(TOP)
    return out.getvalue()


def write(service: str) -> Path | None:
    stats = merged()
    if stats is None:
        return None
    out_dir = Path(os.environ.get(ENV_DIR) or "var/profile")
    out_dir.mkdir(parents=True, exist_ok=True)
    name = f"{service}-{os.getpid()}"
    prof = out_dir / f"{name}.prof"
    stats.dump_stats(prof)
    summary = out_dir / f"{name}.txt.partial"
    summary.write_text(report(stats), encoding="utf-8")
    summary.replace(out_dir / f"{name}.txt")  # last, and whole: a reader waits for this file
    return prof


def reset() -> None:
    with _lock:
        for profile in _profiles:
            profile.clear()


def main(argv: list[str] | None = None) -> int:
    from federation import serve

    argv = sys.argv[1:] if argv is None else argv
    service = argv[0] if argv else "service"
    signal.signal(signal.SIGUSR2, lambda *_: reset())
    signal.signal(signal.SIGUSR1, lambda *_: write(service))

    def stop(*_: object) -> None:
        write(service)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    os.register_at_fork(after_in_child=_after_fork)
    _profile_requests()
    threading.setprofile(_profile_this_thread)
    _profile_this_thread()
    return serve.main(argv)


if __name__ == "__main__":
    sys.exit(main())
