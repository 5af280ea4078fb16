"""In-process session store and replay cache: for the demo and single-process deployments.

Thread-safe (one lock); expiry on the monotonic clock, so wall-clock changes do not resurrect or kill
entries. Expired entries are dropped when touched and, every `sweep_every` writes, all at once, so an
unread replay cache cannot grow without bound.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from federation.replay_cache import Claim, MemoryReplayCache
from hub.store.base import LockedLoad, QueuedWrites, check_ttl


class _ExpiringDict:
    def __init__(self, clock: Callable[[], float], sweep_every: int) -> None:
        self._clock = clock
        self._sweep_every = sweep_every
        self._writes = 0
        self._entries: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if now >= entry[0]:
            del self._entries[key]
            return None
        return entry[1]

    def _write(self, key: str, value: bytes, ttl_seconds: int, now: float) -> None:
        self._entries[key] = (now + ttl_seconds, value)
        self._writes += 1
        if self._writes >= self._sweep_every:
            self._writes = 0
            for stale in [k for k, (expires, _) in self._entries.items() if now >= expires]:
                del self._entries[stale]

    def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        with self._lock:
            self._write(key, value, ttl_seconds, self._clock())

    def get(self, key: str) -> bytes | None:
        with self._lock:
            return self._live(key, self._clock())

    def delete(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def take(self, key: str) -> bytes | None:
        with self._lock:
            value = self._live(key, self._clock())
            if value is not None:
                del self._entries[key]
            return value

    def touch(self, key: str, ttl_seconds: int) -> None:
        with self._lock:
            now = self._clock()
            value = self._live(key, now)
            if value is not None:
                self._entries[key] = (now + ttl_seconds, value)

    def delete_if(self, key: str, value: bytes) -> None:
        with self._lock:
            if self._live(key, self._clock()) == value:
                del self._entries[key]

    def set_if_absent(self, key: str, value: bytes, ttl_seconds: int) -> bool:
        with self._lock:
            now = self._clock()
            if self._live(key, now) is not None:
                return False
            self._write(key, value, ttl_seconds, now)
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def _entry_key(namespace: str, key: str) -> str:
    # length-prefixed so ("a:b", "c") and ("a", "b:c") never collide
    return f"{len(namespace)}:{namespace}:{key}"


class MemoryStore:
    """A `SessionStore`, a `ReplayCache` and an `EntryStore`, in one process's memory."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, sweep_every: int = 1000) -> None:
        self._sessions = _ExpiringDict(clock, sweep_every)
        self._seen = MemoryReplayCache(clock=clock)  # the project's one replay cache, on the same clock
        self._entries = _ExpiringDict(clock, sweep_every)

    def save(self, session_id: str, blob: bytes, ttl_seconds: int) -> None:
        self._sessions.set(session_id, bytes(blob), check_ttl(ttl_seconds))

    def load(self, session_id: str) -> bytes | None:
        return self._sessions.get(session_id)

    def delete(self, session_id: str) -> None:
        self._sessions.delete(session_id)

    def add_if_absent(self, namespace: str, key: str, ttl_seconds: int) -> bool:
        return self._seen.add_if_absent(namespace, key, ttl_seconds)

    def claim(self, namespace: str, key: str, fingerprint: str, ttl_seconds: int, *, binding: str = "") -> Claim:
        return self._seen.claim(namespace, key, fingerprint, ttl_seconds, binding=binding)

    def settle(
        self, namespace: str, key: str, fingerprint: str, *, binding: str | None = None, answer: bytes | None = None
    ) -> bool:
        return self._seen.settle(namespace, key, fingerprint, binding=binding, answer=answer)

    def put(self, namespace: str, key: str, blob: bytes, ttl_seconds: int) -> None:
        self._entries.set(_entry_key(namespace, key), bytes(blob), check_ttl(ttl_seconds))

    def get(self, namespace: str, key: str) -> bytes | None:
        return self._entries.get(_entry_key(namespace, key))

    def get_many(self, namespace: str, keys: Sequence[str]) -> list[bytes | None]:
        return [self._entries.get(_entry_key(namespace, key)) for key in keys]

    def take(self, namespace: str, key: str) -> bytes | None:
        return self._entries.take(_entry_key(namespace, key))

    def remove(self, namespace: str, key: str) -> None:
        self._entries.delete(_entry_key(namespace, key))

    def touch(self, namespace: str, key: str, ttl_seconds: int) -> None:
        self._entries.touch(_entry_key(namespace, key), check_ttl(ttl_seconds))

    def try_lock(self, namespace: str, key: str, ttl_seconds: int) -> str | None:
        token = secrets.token_hex(16)
        acquired = self._entries.set_if_absent(
            _entry_key("lock:" + namespace, key), token.encode(), check_ttl(ttl_seconds)
        )
        return token if acquired else None

    def unlock(self, namespace: str, key: str, token: str) -> None:
        self._entries.delete_if(_entry_key("lock:" + namespace, key), token.encode())

    def lock_and_get(
        self, namespace: str, key: str, ttl_seconds: int, entries: Sequence[tuple[str, str]]
    ) -> tuple[str | None, list[bytes | None]]:
        token = self.try_lock(namespace, key, ttl_seconds)
        return (token, [self.get(*entry) for entry in entries]) if token is not None else (None, [])

    def load_with(self, session_id: str, entry: str) -> tuple[bytes | None, bytes | None]:
        return self.load(session_id), self.get(entry, session_id)

    def lock_and_load(
        self, namespace: str, key: str, ttl_seconds: int, session_id: str, *, entry: str | None = None
    ) -> LockedLoad:
        token = self.try_lock(namespace, key, ttl_seconds)
        if token is None:
            return None, None, None
        return token, self.load(session_id), None if entry is None else self.get(entry, session_id)

    @contextmanager
    def writes(self) -> Iterator[QueuedWrites]:
        """Queued writes, applied one after the other when the block ends (see `QueuedWrites`)."""
        writes = QueuedWrites()
        yield writes
        for operation, args, kwargs in writes:
            getattr(self, operation)(*args, **kwargs)

    def entry_count(self) -> int:
        """Sessions, replay keys and entries held, expired or not yet swept (for tests and metrics)."""
        return len(self._sessions) + len(self._seen) + len(self._entries)
