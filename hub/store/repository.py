"""Sessions by ID: encode, store with a TTL, load, check the lifetime, renew the ID, end.

The store keeps a session a `grace` period beyond its expiry, so a citizen who comes back late sees the
time-out page and the RP gets its NoAuthnContext response, rather than "no session". An expired session
comes back from `get` in state TIMEOUT with its personal data already dropped.

Session IDs come from cookies, so `get` treats anything that is not the shape of an ID we issue, or a blob
that does not decrypt as that session, as simply unknown: a read never deletes or changes anything.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hub.policy.states import Session, check_timeout, new_session_id
from hub.store.base import QueuedWrites, SessionStore
from hub.store.crypto import SessionCodec, SessionCorrupt

log = logging.getLogger("hub.sessions")

DEFAULT_GRACE = timedelta(minutes=15)
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # new_session_id(): 32 random bytes, URL-safe base64


def is_session_id(value: object) -> bool:
    """Whether `value` has the shape of a session ID the hub issues (anything else is unknown)."""
    return isinstance(value, str) and _SESSION_ID.fullmatch(value) is not None


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
        """The session (moved to TIMEOUT if expired); None if unknown, malformed or not decryptable."""
        if not is_session_id(session_id):
            return None
        return self.read(session_id, self.store.load(session_id), now)

    def read(self, session_id: str, blob: bytes | None, now: datetime) -> Session | None:
        """The session from a blob the store gave for `session_id` (as `get`, for a blob loaded with a lock)."""
        if blob is None or not is_session_id(session_id):
            return None
        try:
            session = self.codec.decode(session_id, blob)
        except SessionCorrupt:
            log.warning("session refused: session-corrupt")  # e.g. a retired session key; left to expire
            return None
        return check_timeout(session, now)

    def put(self, session: Session, *, now: datetime | None = None, writes: QueuedWrites | None = None) -> None:
        """Save the session now, or with `writes` (a `HubStore.writes()` block) when that block ends."""
        now = now or datetime.now(UTC)
        remaining = min(session.expires_at - now, self.lifetime) + self.grace
        ttl = max(1, math.ceil(remaining.total_seconds()))
        (writes or self.store).save(session.session_id, self.codec.encode(session), ttl)

    def renew(self, session: Session, *, now: datetime, writes: QueuedWrites | None = None) -> Session:
        """The same journey under a new session ID; the old ID stops working at once (no fixation).

        With `writes`, the save and the delete are sent, in that order, when that `store.writes()` block ends."""
        renewed = replace(session, session_id=new_session_id())
        self.put(renewed, now=now, writes=writes)
        (writes or self.store).delete(session.session_id)
        return renewed

    def end(self, session_id: str) -> None:
        """The journey is over: the session and every piece of personal data in it are deleted."""
        self.store.delete(session_id)
