"""Session and replay storage behind one small interface (in-process now, Redis later)."""

from hub.store.base import EntryStore, ReplayCache, SessionStore, StoreUnavailable
from hub.store.crypto import SessionCodec, SessionCorrupt
from hub.store.memory import MemoryStore
from hub.store.repository import SessionRepository

__all__ = [
    "EntryStore",
    "MemoryStore",
    "ReplayCache",
    "SessionCodec",
    "SessionCorrupt",
    "SessionRepository",
    "SessionStore",
    "StoreUnavailable",
]
