"""The replay cache of the project: message IDs seen before, each remembered for as long as it can be replayed.

One implementation for every party that refuses replays against a store: the hub (IDP Responses, their
assertions, services' AuthnRequests; `hub.store` delegates here) and the matching service (the hub's
AttributeQuery IDs). In process by default (`MemoryReplayCache`); in Redis (`RedisReplayCache`) when
several processes of one party must refuse a message any of them has seen.

`add_if_absent` is one atomic step in both: of two processes racing with the same ID, exactly one wins.
A store that cannot be reached raises `StoreUnavailable`, and the caller fails closed (it refuses the
message rather than let a replay through).

Redis keys are `<prefix>replay:<namespace>:<sha256(key)>`: IDs are written by whoever sent the message,
so they never become raw Redis keys, and every key has a bounded length.
"""

from __future__ import annotations

import hashlib
import heapq
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import redis

from federation.redis_client import redis_client, redis_settings

REDIS_ERRORS = (redis.RedisError, OSError)


class StoreUnavailable(Exception):
    """The backing store cannot be reached; the caller fails closed (no session, no replay check, no entry)."""


@runtime_checkable
class ReplayCache(Protocol):
    def add_if_absent(self, namespace: str, key: str, ttl_seconds: int) -> bool:
        """Atomically record `key`: True if it was new, False if it was already seen (a replay)."""
        ...


def check_ttl(ttl_seconds: int) -> int:
    """Whole seconds, at least one: what Redis EX accepts."""
    if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int) or ttl_seconds < 1:
        raise ValueError(f"ttl_seconds must be a positive whole number, not {ttl_seconds!r}")
    return ttl_seconds


def digest(value: str) -> str:
    """A fixed-length stand-in for a caller's ID in a Redis key."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


class MemoryReplayCache:
    """In one process's memory; expiry on the monotonic clock (a wall-clock change neither resurrects nor
    forgets an ID). Expired IDs are dropped on every write, oldest first, so the cache never outgrows what
    can still be replayed."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[tuple[str, str], float] = {}
        self._queue: list[tuple[float, tuple[str, str]]] = []

    def add_if_absent(self, namespace: str, key: str, ttl_seconds: int) -> bool:
        ttl = check_ttl(ttl_seconds)
        entry = (namespace, key)
        with self._lock:
            now = self._clock()
            self._evict(now)
            if entry in self._expiry:
                return False
            expires_at = now + ttl
            self._expiry[entry] = expires_at
            heapq.heappush(self._queue, (expires_at, entry))
            return True

    def __len__(self) -> int:
        """IDs held, expired or not yet dropped (for tests and metrics)."""
        with self._lock:
            return len(self._expiry)

    def _evict(self, now: float) -> None:
        while self._queue and self._queue[0][0] <= now:
            expires_at, entry = heapq.heappop(self._queue)
            if self._expiry.get(entry) == expires_at:
                del self._expiry[entry]


class RedisReplayCache:
    """In Redis: one `SET key 1 NX EX ttl` per ID, so every process on that Redis sees one replay cache."""

    def __init__(self, client: Any, *, key_prefix: str) -> None:
        """`client`: a `redis.Redis` (one server, or a Sentinel master from `federation.redis_client`)."""
        if not key_prefix:
            raise ValueError("key_prefix must not be empty: the replay keys stay in their own namespace")
        self._client = client
        self._prefix = key_prefix

    def key(self, namespace: str, key: str) -> str:
        return f"{self._prefix}replay:{namespace}:{digest(key)}"

    def add_if_absent(self, namespace: str, key: str, ttl_seconds: int) -> bool:
        ttl = check_ttl(ttl_seconds)
        try:
            return bool(self._client.set(self.key(namespace, key), b"1", nx=True, ex=ttl))
        except REDIS_ERRORS as exc:
            raise StoreUnavailable(f"redis add_if_absent failed: {type(exc).__name__}") from exc


def replay_cache_from_settings(
    setting: Callable[[str], str | None], *, settings_prefix: str, key_prefix: str
) -> MemoryReplayCache | RedisReplayCache:
    """In Redis when `<settings_prefix>REDIS_URL` or `<settings_prefix>REDIS_SENTINELS` is set (see
    `federation.redis_client`), else in process. Raises RedisSettingsError (a ValueError) naming a wrong setting."""
    where = redis_settings(setting, settings_prefix)
    if not where.configured:
        return MemoryReplayCache()
    return RedisReplayCache(redis_client(where), key_prefix=key_prefix)
