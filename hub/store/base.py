"""The storage interface the hub is written against; in-process and Redis implementations both fit it.

Every operation maps to one atomic Redis command (SET EX, GET, GETDEL, DEL, EXPIRE, SET NX EX) or one short
script, so two hub processes sharing one store see one consistent journey and one replay cache.

Three kinds of thing live in a store, each in a namespace of its own, so that no value a client sends can
address another kind: sessions (the cookie's session ID is only ever looked up among sessions), replay
markers, and short-lived entries (a parked IDP answer, a request-to-session index, a per-session lock).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

# The replay cache, its TTL rule and the "store unreachable" failure are the project's, shared with the
# matching service (federation.replay_cache); re-exported here under the names the hub has always used.
from federation.replay_cache import Claim as Claim
from federation.replay_cache import ReplayCache as ReplayCache
from federation.replay_cache import RetryAwareReplayCache as RetryAwareReplayCache
from federation.replay_cache import StoreUnavailable as StoreUnavailable
from federation.replay_cache import check_ttl as check_ttl

# A lock's token (None when another holds it), the session read once it was had and the entry asked for beside
# it (each None if absent or not had)
LockedLoad = tuple[str | None, bytes | None, bytes | None]


@runtime_checkable
class SessionStore(Protocol):
    def save(self, session_id: str, blob: bytes, ttl_seconds: int) -> None:
        """Store (or replace) the blob; it disappears after `ttl_seconds`."""
        ...

    def load(self, session_id: str) -> bytes | None:
        """The blob, or None when absent or expired."""
        ...

    def delete(self, session_id: str) -> None:
        """Remove the blob; deleting an absent one is not an error."""
        ...


@runtime_checkable
class EntryStore(Protocol):
    """Short-lived entries that are not sessions, each kind under its own namespace."""

    def put(self, namespace: str, key: str, blob: bytes, ttl_seconds: int) -> None:
        """Store (or replace) the entry; it disappears after `ttl_seconds`."""
        ...

    def get(self, namespace: str, key: str) -> bytes | None:
        """The entry, or None when absent or expired."""
        ...

    def get_many(self, namespace: str, keys: Sequence[str]) -> list[bytes | None]:
        """The entries of `keys`, in order (None where absent or expired), in one round trip."""
        ...

    def take(self, namespace: str, key: str) -> bytes | None:
        """Atomically read and delete the entry: of two callers, at most one gets it (one-time use)."""
        ...

    def touch(self, namespace: str, key: str, ttl_seconds: int) -> None:
        """The entry, if there is one, now disappears `ttl_seconds` from now (never brought back once gone)."""
        ...

    def remove(self, namespace: str, key: str) -> None:
        """Delete the entry; deleting an absent one is not an error."""
        ...

    def try_lock(self, namespace: str, key: str, ttl_seconds: int) -> str | None:
        """Take the lock `key` for at most `ttl_seconds`: a token to unlock with, or None if it is held."""
        ...

    def unlock(self, namespace: str, key: str, token: str) -> None:
        """Release the lock if `token` still holds it (a lock that expired and was retaken is left alone)."""
        ...


@dataclass
class QueuedWrites:
    """Writes to send together when a `HubStore.writes()` block ends, in the order they were queued.

    Each is the very command it would be alone (a session SET, an entry SET, EXPIRE or DEL, a lock's release,
    the replay cache's `settle`),
    so a failure part-way leaves the store as a crash between the separate calls would have; on Redis they
    go in one pipeline: one round trip instead of one each. Nothing is sent if the block raises.
    """

    queued: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)

    def save(self, session_id: str, blob: bytes, ttl_seconds: int) -> None:
        self.queued.append(("save", (session_id, bytes(blob), check_ttl(ttl_seconds)), {}))

    def put(self, namespace: str, key: str, blob: bytes, ttl_seconds: int) -> None:
        self.queued.append(("put", (namespace, key, bytes(blob), check_ttl(ttl_seconds)), {}))

    def delete(self, session_id: str) -> None:
        self.queued.append(("delete", (session_id,), {}))

    def touch(self, namespace: str, key: str, ttl_seconds: int) -> None:
        self.queued.append(("touch", (namespace, key, check_ttl(ttl_seconds)), {}))

    def remove(self, namespace: str, key: str) -> None:
        self.queued.append(("remove", (namespace, key), {}))

    def unlock(self, namespace: str, key: str, token: str) -> None:
        self.queued.append(("unlock", (namespace, key, token), {}))

    def settle(
        self, namespace: str, key: str, fingerprint: str, *, binding: str | None = None, answer: bytes | None = None
    ) -> None:
        """The replay cache's `settle` (its answer, whether the record was still this message's, is not kept)."""
        self.queued.append(("settle", (namespace, key, fingerprint), {"binding": binding, "answer": answer}))

    def __iter__(self) -> Iterator[tuple[str, tuple[Any, ...], dict[str, Any]]]:
        return iter(self.queued)


@runtime_checkable
class HubStore(SessionStore, RetryAwareReplayCache, EntryStore, Protocol):
    """Everything the hub keeps between requests: what `MemoryStore` and `RedisStore` both are."""

    def writes(self) -> AbstractContextManager[QueuedWrites]:
        """`with store.writes() as writes: writes.save(...); writes.settle(...)`: sent together at the end."""
        ...

    def lock_and_get(
        self, namespace: str, key: str, ttl_seconds: int, entries: Sequence[tuple[str, str]]
    ) -> tuple[str | None, list[bytes | None]]:
        """`try_lock`, then, if it was had, `get` of each (namespace, key) of `entries`, in order: one round trip
        on Redis; (None, []) if the lock is held."""
        ...

    def load_with(self, session_id: str, entry: str) -> tuple[bytes | None, bytes | None]:
        """`load(session_id)` and `get(entry, session_id)`: one round trip on Redis."""
        ...

    def lock_and_load(
        self, namespace: str, key: str, ttl_seconds: int, session_id: str, *, entry: str | None = None
    ) -> LockedLoad:
        """`try_lock`, then, if it was had, `load(session_id)` and, with `entry`, `get(entry, session_id)`: one
        round trip on Redis; (None, None, None) if the lock is held."""
        ...
