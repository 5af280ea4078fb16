"""Session and replay storage behind one small interface (in-process now, Redis later)."""

from hub.store.base import ReplayCache, SessionStore, StoreUnavailable
from hub.store.crypto import SessionCodec, SessionCorrupt
from hub.store.memory import MemoryStore
from hub.store.repository import SessionRepository

__all__ = [
    "MemoryStore",
    "ReplayCache",
    "SessionCodec",
    "SessionCorrupt",
    "SessionRepository",
    "SessionStore",
    "StoreUnavailable",
]
