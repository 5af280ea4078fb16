"""Sessions by ID: encode, store with a TTL, load, check the lifetime, end.

The store keeps a session a `grace` period beyond its expiry, so a citizen who comes back late sees the
time-out page and the RP gets its NoAuthnContext response, rather than "no session". An expired session
comes back from `get` in state TIMEOUT with its personal data already dropped.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hub.policy.states import Session, check_timeout
from hub.store.base import SessionStore
from hub.store.crypto import SessionCodec, SessionCorrupt

DEFAULT_GRACE = timedelta(minutes=15)


class SessionRepository:
    def __init__(
        self,
        store: SessionStore,
        codec: SessionCodec,
        lifetime: timedelta,
        *,
        grace: timedelta = DEFAULT_GRACE,
    ) -> None:
        if lifetime <= timedelta(0) or grace < timedelta(0):
            raise ValueError("lifetime must be positive and grace not negative")
        self.store = store
        self.codec = codec
        self.lifetime = lifetime
        self.grace = grace

    def get(self, session_id: str, now: datetime) -> Session | None:
        """The session (moved to TIMEOUT if expired), None if unknown; SessionCorrupt if tampered."""
        blob = self.store.load(session_id)
        if blob is None:
            return None
        try:
            session = self.codec.decode(session_id, blob)
        except SessionCorrupt:
            self.store.delete(session_id)
            raise
        return check_timeout(session, now)

    def put(self, session: Session, *, now: datetime | None = None) -> None:
        now = now or datetime.now(UTC)
        remaining = min(session.expires_at - now, self.lifetime) + self.grace
        ttl = max(1, math.ceil(remaining.total_seconds()))
        self.store.save(session.session_id, self.codec.encode(session), ttl)

    def end(self, session_id: str) -> None:
        """The journey is over: the session and every piece of personal data in it are deleted."""
        self.store.delete(session_id)
