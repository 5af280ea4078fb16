"""Process-local counts of the costly operations (signatures, verifications, encryptions, decryptions, XML
parses, page renders), so a benchmark can say how many of each a journey costs in each service.

Off unless the environment variable FEDERATION_OP_COUNTS_DIR names a directory: then `count` adds to a
counter, and the counts are written as JSON to `<dir>/<service>-<pid>.json` when the process receives
SIGUSR1 and when it exits. Off, `count` is a function that does nothing (one call, no lock, no dict), and
no signal handler is installed. No HTTP endpoint shows the counts: a listener must not grow a way to read
how busy a service is. The counts hold operation names only, never anything from a message or a citizen.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import threading
from collections import Counter
from pathlib import Path

ENV_DIR = "FEDERATION_OP_COUNTS_DIR"
OPERATIONS = ("sign", "verify", "encrypt", "decrypt", "xml_parse", "page_render")

_DIR = os.environ.get(ENV_DIR) or None
ENABLED = _DIR is not None

_lock = threading.RLock()  # re-entrant: the SIGUSR1 handler runs on the main thread, which may hold it
_counts: Counter[str] = Counter()
_templates: Counter[str] = Counter()
_dumps = 0


def _noop(operation: str) -> None:
    """`count` when counting is off."""


def _count(operation: str) -> None:
    with _lock:
        _counts[operation] += 1


count = _count if ENABLED else _noop


def count_render(template_name: str | None) -> None:
    """A page render, by template (the names are the repository's own files)."""
    with _lock:
        _counts["page_render"] += 1
        _templates[template_name or "(string)"] += 1


def on_template_rendered(sender: object, template: object, context: object, **extra: object) -> None:
    """Receiver for Flask's `template_rendered` signal (connected by the web layer only when counting is on)."""
    count_render(getattr(template, "name", None))


def service_name() -> str:
    """The service this process runs: `python -m federation.serve hub ...` puts it in argv[1]."""
    if len(sys.argv) > 1 and sys.argv[1].isidentifier():
        return sys.argv[1]
    return Path(sys.argv[0]).stem or "python"


def snapshot() -> dict[str, object]:
    """The counts so far (every operation named, zeros included) and how many dumps came before."""
    with _lock:
        return {
            "service": service_name(),
            "pid": os.getpid(),
            "dump": _dumps,
            "counts": {op: _counts.get(op, 0) for op in OPERATIONS},
            "templates": dict(sorted(_templates.items())),
        }


def dump() -> Path | None:
    """Write the counts to `<dir>/<service>-<pid>.json` (atomically: a reader never sees half a file)."""
    global _dumps
    if _DIR is None:
        return None
    with _lock:
        _dumps += 1
    path = Path(_DIR) / f"{service_name()}-{os.getpid()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(snapshot(), indent=1), encoding="utf-8")
    partial.replace(path)
    return path


def _on_sigusr1(signum: int, frame: object) -> None:
    dump()
    if callable(_previous_handler):
        _previous_handler(signum, frame)


_previous_handler: object = None


def _install() -> None:
    """SIGUSR1 writes the counts (chaining any handler installed before), and so does a normal exit."""
    global _previous_handler
    try:
        _previous_handler = signal.signal(signal.SIGUSR1, _on_sigusr1)
    except ValueError:  # imported first outside the main thread: the exit dump still happens
        pass
    atexit.register(dump)


if ENABLED:
    _install()
