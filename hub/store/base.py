"""The storage interface the hub is written against; in-process and Redis implementations both fit it.

Every operation maps to one atomic Redis command (SET EX, GET, DEL, SET NX EX), so two hub processes
sharing one store see one consistent journey and one replay cache.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


class StoreUnavailable(Exception):
    """The backing store cannot be reached; the hub fails closed (no session, no replay check, no entry)."""


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
class ReplayCache(Protocol):
    def add_if_absent(self, namespace: str, key: str, ttl_seconds: int) -> bool:
        """Atomically record `key`: True if it was new, False if it was already seen (a replay)."""
        ...


def check_ttl(ttl_seconds: int) -> int:
    """Whole seconds, at least one: what Redis EX accepts."""
    if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int) or ttl_seconds < 1:
        raise ValueError(f"ttl_seconds must be a positive whole number, not {ttl_seconds!r}")
    return ttl_seconds
