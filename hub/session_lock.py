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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from federation.run_slots import waiting_elsewhere
from hub.engines.matching import RETRY_BUDGET_SECONDS
from hub.policy.states import Session
from hub.services import HubServices

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
def journey_lock(
    hub: HubServices, session_id: str, *, wait_seconds: float | None = None
) -> Iterator[tuple[bool, Session | None]]:
    """Hold the journey's lock and read its session: `(held, session)`; `(False, None)` if the lock could not
    be had within `wait_seconds` (default: its TTL).

    The session is read once the lock is held (in the same round trip on Redis), so it is the latest: another
    request may have moved the journey on while this one waited. None if it is gone (ended, or unknown).
    """
    ttl = lock_ttl_seconds(hub)
    token, blob = _until_had(
        lambda: hub.store.lock_and_load(NAMESPACE, session_id, ttl, session_id),
        lambda attempt: attempt[0] is not None,
        ttl if wait_seconds is None else wait_seconds,
    )
    try:
        yield token is not None, hub.sessions.read(session_id, blob, hub.now()) if token is not None else None
    finally:
        if token is not None:
            hub.store.unlock(NAMESPACE, session_id, token)


@contextmanager
def step_lock(
    hub: HubServices, namespace: str, key: str, *, ttl_seconds: int, wait_seconds: float | None = None
) -> Iterator[bool]:
    """Hold the lock `namespace`/`key` (expiring after `ttl_seconds`); False if not had within `wait_seconds`."""
    token = _until_had(
        lambda: hub.store.try_lock(namespace, key, ttl_seconds),
        lambda attempt: attempt is not None,
        ttl_seconds if wait_seconds is None else wait_seconds,
    )
    try:
        yield token is not None
    finally:
        if token is not None:
            hub.store.unlock(namespace, key, token)
