"""One step at a time per journey: a lock in the shared store around each read-change-save of a session.

Two requests of one citizen can arrive together (a double click on cycle 3, a reload while the matching
service is being asked, two hub processes behind a balancer). Without a lock both read the same state and
both act: the matching service would be asked twice and one answer lost. With it, the second request waits
for the first to finish and then sees its outcome.

The lock expires by itself (`ttl`), so a process that dies while holding it cannot stall the journey for
longer than that; the next request then finds the work undone and does it (see `hub.matching_step`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from federation.run_slots import waiting_elsewhere
from hub.engines.matching import RETRY_BUDGET_SECONDS
from hub.policy.states import Session
from hub.services import HubServices
from hub.store.base import QueuedWrites
from hub.store.held import Held

T = TypeVar("T")

NAMESPACE = "journey"
POLL_SECONDS = 0.05


def lock_ttl_seconds(hub: HubServices) -> int:
    """Long enough for the slowest step: a matching query, then an account-creation query, then saves."""
    return int((hub.config.matching_service_timeout_seconds + RETRY_BUDGET_SECONDS) * 2) + 5


def _until_had(attempt: Callable[[], T], had: Callable[[T], bool], wait_seconds: float) -> T:
    """`attempt()` every POLL_SECONDS until `had` says the lock is ours or `wait_seconds` have passed."""
    deadline = time.monotonic() + wait_seconds
    result = attempt()
    while not had(result) and time.monotonic() < deadline:
        with waiting_elsewhere():  # the request that holds the lock may need this process's run slot
            time.sleep(POLL_SECONDS)
        result = attempt()
    return result


@contextmanager
def _writes_then_release(hub: HubServices, namespace: str, key: str, token: str | None) -> Iterator[QueuedWrites]:
    """The step's writes, sent when it ends with the lock's release last (Redis runs them in order, so no other
    step can take the lock before the writes are in): one round trip. If the step raises, nothing queued is
    sent and the lock is released at once."""
    with hub.store.writes() as writes:
        try:
            yield writes
        except BaseException:
            if token is not None:
                hub.store.unlock(namespace, key, token)
            raise
        if token is not None:
            writes.unlock(namespace, key, token)


@dataclass(frozen=True)
class LockedJourney:
    """A journey step's hold on the lock: whether it was had, the session read once it was (None if gone or
    not had), and the step's writes, sent when the step ends, the lock's release last, in one round trip."""

    held: bool
    session: Session | None
    writes: QueuedWrites
    beside: bytes | None = None  # the entry of the kind asked for, held beside the session (`hub.store.held`)


@contextmanager
def journey_step(
    hub: HubServices, session_id: str, *, beside: Held | None = None, wait_seconds: float | None = None
) -> Iterator[LockedJourney]:
    """Hold the journey's lock and read its session (and, with `beside`, the assertions of that kind held
    beside it); not held if the lock could not be had within `wait_seconds` (default: its TTL).

    The session is read once the lock is held (in the same round trip on Redis), so it is the latest: another
    request may have moved the journey on while this one waited. What the step queues in `writes` is sent
    when it ends, then the lock is released (`_writes_then_release`).
    """
    ttl = lock_ttl_seconds(hub)
    token, blob, entry = _until_had(
        lambda: hub.store.lock_and_load(NAMESPACE, session_id, ttl, session_id, entry=beside and beside.value),
        lambda attempt: attempt[0] is not None,
        ttl if wait_seconds is None else wait_seconds,
    )
    with _writes_then_release(hub, NAMESPACE, session_id, token) as writes:
        session = hub.sessions.read(session_id, blob, hub.now()) if token is not None else None
        yield LockedJourney(token is not None, session, writes, entry)


@contextmanager
def journey_lock(
    hub: HubServices, session_id: str, *, wait_seconds: float | None = None
) -> Iterator[tuple[bool, Session | None]]:
    """`journey_step` for a step that queues nothing: `(held, session)`."""
    with journey_step(hub, session_id, wait_seconds=wait_seconds) as step:
        yield step.held, step.session


@dataclass(frozen=True)
class LockedStep:
    """A step's hold on a lock: whether it was had, the entries read once it was (in the order asked), and the
    step's writes, sent when it ends with the lock's release last."""

    held: bool
    entries: tuple[bytes | None, ...]
    writes: QueuedWrites


@contextmanager
def step_lock(
    hub: HubServices,
    namespace: str,
    key: str,
    *,
    ttl_seconds: int,
    reads: Sequence[tuple[str, str]] = (),
    wait_seconds: float | None = None,
) -> Iterator[LockedStep]:
    """Hold the lock `namespace`/`key` (expiring after `ttl_seconds`), not held if not had within `wait_seconds`;
    the entries `reads` ((namespace, key) each) are read once it is, in the same round trip on Redis."""
    token, entries = _until_had(
        lambda: hub.store.lock_and_get(namespace, key, ttl_seconds, reads),
        lambda attempt: attempt[0] is not None,
        ttl_seconds if wait_seconds is None else wait_seconds,
    )
    with _writes_then_release(hub, namespace, key, token) as writes:
        yield LockedStep(token is not None, tuple(entries), writes)
