"""Sessions by ID: encode, store with a TTL, load, check the lifetime, renew the ID, end.

The store keeps a session a `grace` period beyond its expiry, so a citizen who comes back late sees the
time-out page and the RP gets its NoAuthnContext response, rather than "no session". An expired session
comes back from `get` in state TIMEOUT with its personal data already dropped.

Session IDs come from cookies, so `get` treats anything that is not the shape of an ID we issue, or a blob
that does not decrypt as that session, as simply unknown: a read never deletes or changes anything.

The assertions a journey carries are held beside its session, in entries of their own that live as long as
it does (`hub.store.held`, which says why and why that is safe): `keep`, `get_with`, `read_held`, `drop`.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hub.policy.states import Session, check_timeout, new_session_id
from hub.store.base import HubStore, QueuedWrites
from hub.store.crypto import SessionCodec, SessionCorrupt
from hub.store.held import Held, held_by, seal, unseal

log = logging.getLogger("hub.sessions")

DEFAULT_GRACE = timedelta(minutes=15)
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{43}")  # new_session_id(): 32 random bytes, URL-safe base64


def is_session_id(value: object) -> bool:
    """Whether `value` has the shape of a session ID the hub issues (anything else is unknown)."""
    return isinstance(value, str) and _SESSION_ID.fullmatch(value) is not None


class SessionRepository:
    def __init__(
        self,
        store: HubStore,
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

    def get_with(self, session_id: str, kind: Held, now: datetime) -> tuple[Session | None, tuple[str, ...]]:
        """As `get`, with the assertions of `kind` held beside the session (none if it holds none), read in the
        same round trip."""
        if not is_session_id(session_id):
            return None, ()
        blob, beside = self.store.load_with(session_id, kind.value)
        session = self.read(session_id, blob, now)
        return session, () if session is None else self.read_held(session, kind, beside)

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

    def ttl_seconds(self, session: Session, now: datetime) -> int:
        """How long the store keeps `session` (and what it holds beside it) from `now`."""
        remaining = min(session.expires_at - now, self.lifetime) + self.grace
        return max(1, math.ceil(remaining.total_seconds()))

    def put(self, session: Session, *, now: datetime | None = None, writes: QueuedWrites | None = None) -> None:
        """Save the session now, or with `writes` (a `HubStore.writes()` block) when that block ends; what it
        holds beside it is kept as long as it, in the same round trip."""
        now = now or datetime.now(UTC)
        ttl = self.ttl_seconds(session, now)
        held = held_by(session)
        if writes is None and not held:
            self.store.save(session.session_id, self.codec.encode(session), ttl)
            return
        with self.store.writes() if writes is None else nullcontext(writes) as queue:
            queue.save(session.session_id, self.codec.encode(session), ttl)
            for kind in held:
                queue.touch(kind.value, session.session_id, ttl)

    def renew(
        self,
        session: Session,
        *,
        now: datetime,
        writes: QueuedWrites | None = None,
        held: Mapping[Held, tuple[str, ...]] | None = None,
    ) -> Session:
        """The same journey under a new session ID; the old ID stops working at once (no fixation).

        `held`: every kind of assertions the session holds beside it (`held_by`; ValueError otherwise), kept
        under the new ID. In one round trip on Redis (with `writes`: when that `store.writes()` block ends), in
        this order: the assertions, the session under its new ID, the old ID's deletion."""
        held = held or {}
        if set(held) != set(held_by(session)):
            raise ValueError("a session is renewed with exactly the assertions it holds beside it")
        renewed = replace(session, session_id=new_session_id())
        with self.store.writes() if writes is None else nullcontext(writes) as queue:
            for kind, assertions in held.items():
                self.keep(renewed, kind, assertions, now=now, writes=queue)
            self.put(renewed, now=now, writes=queue)
            queue.delete(session.session_id)
        return renewed

    def keep(
        self, session: Session, kind: Held, assertions: tuple[str, ...], *, now: datetime, writes: QueuedWrites
    ) -> None:
        """Hold `assertions` beside `session` (which says so) for as long as the store keeps it."""
        blob = seal(self.codec, kind, session.session_id, assertions)
        writes.put(kind.value, session.session_id, blob, self.ttl_seconds(session, now))

    def read_held(self, session: Session, kind: Held, blob: bytes | None) -> tuple[str, ...]:
        """The assertions of `kind` held beside `session`, from the entry the store gave with it (`get_with`,
        `HubStore.lock_and_load`); none if it holds none, or they are gone or unreadable."""
        if kind not in held_by(session):
            return ()
        if blob is None:
            log.warning("held assertions missing: %s", kind.value)
            return ()
        try:
            return unseal(self.codec, kind, session.session_id, blob)
        except SessionCorrupt:
            log.warning("held assertions refused: %s corrupt", kind.value)
            return ()

    def drop(self, session_id: str, kind: Held, *, writes: QueuedWrites) -> None:
        """The assertions of `kind` are no longer needed: removed when `writes` is sent."""
        writes.remove(kind.value, session_id)

    def end(self, session_id: str) -> None:
        """The journey is over: the session, every piece of personal data in it and every assertion held
        beside it are deleted (one round trip on Redis)."""
        with self.store.writes() as writes:
            writes.delete(session_id)
            for kind in Held:
                writes.remove(kind.value, session_id)
