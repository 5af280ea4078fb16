"""At most N requests of a process run Python at once; the rest wait their turn, first come first served.

Why: each service answers on `--threads` threads (16 by default), so that a request waiting on another
party (the hub on a matching service, a matching service on its local matcher) does not hold up the
pages of other citizens. But on a machine of a few cores, 16 threads that all want the CPU only take
the interpreter lock from each other: each request's CPU time goes up and a request that loses the lock
often waits several switch intervals. Measured with 4 threads instead of 16, the hub spent less CPU per
journey and its slowest hop's p99 at 16 concurrent journeys fell by about a third; but 4 threads alone
would let four citizens at a hung matching service hold every page.

So the threads stay, and a request takes one of `slots` run slots for as long as it computes:

- its body is read before it queues, so a client that sends slowly holds a thread, never a slot;
- a request that waits outside the process gives its slot back for the wait (`waiting_elsewhere()`,
  around every back-channel HTTP call and every poll for a lock another request holds), then queues again
  at the head of the queue: it finishes what it started before new requests start;
- otherwise the slot is handed straight to the longest waiter, so no request is overtaken by later ones.

`federation_run_slot_wait_seconds{service}` says how long requests queued for a slot: a queue that grows
means the process needs more CPU (more workers, or more machines), not more threads.
"""

from __future__ import annotations

import collections
import io
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import Histogram

SLOT_WAIT_SECONDS = Histogram(
    "federation_run_slot_wait_seconds",
    "Time a request queued for one of its process's run slots before its app ran (and again after each wait"
    " on another party).",
    ("service",),
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
MAX_BUFFERED_BODY = 1024 * 1024  # read before queueing; a longer body is refused by the app without being read


class RunSlots:
    """A first-come-first-served counting semaphore that knows which thread holds a slot."""

    def __init__(self, slots: int, service: str = "") -> None:
        if slots < 1:
            raise ValueError("a process needs at least one run slot")
        self._lock = threading.Lock()
        self._free = slots
        self._waiters: collections.deque[threading.Lock] = collections.deque()
        self._held = threading.local()
        self._waited = SLOT_WAIT_SECONDS.labels(service=service)

    def acquire(self, *, first: bool = False) -> None:
        """Take a slot, waiting at the end of the queue (at its head if `first`: a request coming back)."""
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                self._held.slot = True
                self._waited.observe(0.0)
                return
            turn = threading.Lock()
            turn.acquire()
            if first:
                self._waiters.appendleft(turn)
            else:
                self._waiters.append(turn)
        started = time.perf_counter()
        turn.acquire()  # release() hands its slot over by releasing this
        self._waited.observe(time.perf_counter() - started)
        self._held.slot = True

    def release(self) -> None:
        self._held.slot = False
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._free += 1

    def holds(self) -> bool:
        """Whether the calling thread holds a slot."""
        return getattr(self._held, "slot", False)

    @contextmanager
    def held(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()


_process_slots: RunSlots | None = None


def use(slots: RunSlots | None) -> None:
    """The process's run slots (set once by `federation.serve`; None in tests that call apps directly)."""
    global _process_slots
    _process_slots = slots


@contextmanager
def waiting_elsewhere() -> Iterator[None]:
    """Around a wait on another party or another request: the slot is free for others meanwhile."""
    slots = _process_slots
    if slots is None or not slots.holds():
        yield
        return
    slots.release()
    try:
        yield
    finally:
        slots.acquire(first=True)


class RunSlotGate:
    """WSGI middleware: the app runs holding one of the process's run slots, its request body read first."""

    def __init__(self, app: Any, slots: RunSlots) -> None:
        self.app = app
        self.slots = slots

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        length = environ.get("CONTENT_LENGTH")
        if length and length.isdigit() and 0 < int(length) <= MAX_BUFFERED_BODY:
            environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(int(length)))
        with self.slots.held():
            return self.app(environ, start_response)
