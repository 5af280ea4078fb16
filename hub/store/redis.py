"""Sessions and the replay cache in Redis, so hub processes behind one load balancer share one journey.

Each operation is one atomic command (SET EX, GET, DEL, EXPIRE, SET NX EX): no read-modify-write, so two processes
racing on the same assertion ID get exactly one winner from Redis itself. Values are the SessionCodec's
AES-GCM blobs; this module never sees a plaintext session.

Keys are `<prefix>session:<sha256(id)>`, `<prefix>replay:<namespace>:<sha256(key)>`,
`<prefix>entry:<namespace>:<sha256(key)>` and `<prefix>lock:<namespace>:<sha256(key)>`. IDs come from
cookies and from InResponseTo/ID attributes an attacker writes, so they are hashed: they never become
raw Redis keys, and every key has a bounded length. The hash has a fixed length, so (namespace, key)
pairs cannot collide however the namespace is spelt.

Every Redis failure becomes `StoreUnavailable` and the hub fails closed. Commands are retried at most once,
at once and only on a connection error (a pooled connection left stale by a Redis restart), never on a
timeout, so a dead or hung Redis costs one `socket_timeout` per request, not a retry storm. The pool opens
new connections by itself when Redis answers again. A timed-out write may still have happened in Redis:
for `add_if_absent` that can only turn a later retry into a refusal, never let a replay through.

Beyond one Redis: `hub.services` builds a Sentinel primary's client (`REDIS_SENTINELS`, through
`federation.redis_client`, which also builds the one-server client below) and passes it to
`RedisStore.from_client`; every command touches a single key, so nothing else changes. The replay cache is
the project's (`federation.replay_cache.RedisReplayCache`, same keys), shared with the matching service.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import redis

from federation.redis_client import redis_from_url
from federation.replay_cache import SETTLE_SCRIPT, Claim, RedisReplayCache, settle_arguments
from federation.replay_cache import digest as _digest
from federation.urls import redacted_url
from hub.store.base import LockedLoad, QueuedWrites, StoreUnavailable, check_ttl

_ERRORS = (redis.RedisError, OSError)

# Delete a lock only while it still holds our token (it may have expired and been taken by another).
_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


redacted = redacted_url  # the URL without user name or password, for logs and reprs


class RedisStore:
    """A `SessionStore`, `ReplayCache` and `EntryStore`, shared by every hub process on the same Redis."""

    def __init__(
        self,
        url: str,
        *,
        key_prefix: str = "hub:",
        socket_timeout: float = 0.5,
        socket_connect_timeout: float | None = None,
        max_connections: int = 64,
        **options: Any,
    ) -> None:
        """`url`: redis://, rediss:// (TLS) or unix://; `options` go to `redis.Redis.from_url` as they are."""
        client = redis_from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_connect_timeout,
            max_connections=max_connections,
            **options,
        )
        self._init(client, key_prefix, redacted(url))

    @classmethod
    def from_client(cls, client: Any, *, key_prefix: str = "hub:") -> RedisStore:
        """Wrap a client built elsewhere (Sentinel master, Cluster); it must return bytes, not str."""
        store = cls.__new__(cls)
        store._init(client, key_prefix, type(client).__name__)
        return store

    def _init(self, client: Any, key_prefix: str, where: str) -> None:
        if not key_prefix:
            raise ValueError("key_prefix must not be empty: the hub's keys stay in their own namespace")
        self._client = client
        self._prefix = key_prefix
        self._where = where
        self._replay = RedisReplayCache(client, key_prefix=key_prefix)

    @property
    def client(self) -> redis.Redis:
        """The connection pool, for other shared counters of the hub (rate limits); read-only use."""
        return self._client

    @property
    def key_prefix(self) -> str:
        return self._prefix

    def __repr__(self) -> str:
        return f"RedisStore({self._where!r}, key_prefix={self._prefix!r})"

    # ------------------------------------------------------------------------------------------ keys

    def session_key(self, session_id: str) -> str:
        return f"{self._prefix}session:{_digest(session_id)}"

    def replay_key(self, namespace: str, key: str) -> str:
        return self._replay.key(namespace, key)

    def entry_key(self, namespace: str, key: str) -> str:
        return f"{self._prefix}entry:{namespace}:{_digest(key)}"

    def lock_key(self, namespace: str, key: str) -> str:
        return f"{self._prefix}lock:{namespace}:{_digest(key)}"

    @contextmanager
    def _unavailable_as(self, operation: str) -> Iterator[None]:
        try:
            yield
        except _ERRORS as exc:
            raise StoreUnavailable(f"redis {operation} failed: {type(exc).__name__}") from exc

    # ----------------------------------------------------------------------------------- SessionStore

    def save(self, session_id: str, blob: bytes, ttl_seconds: int) -> None:
        ttl = check_ttl(ttl_seconds)
        with self._unavailable_as("save"):
            self._client.set(self.session_key(session_id), bytes(blob), ex=ttl)

    def load(self, session_id: str) -> bytes | None:
        with self._unavailable_as("load"):
            value = self._client.get(self.session_key(session_id))
        if value is not None and not isinstance(value, bytes):
            raise StoreUnavailable("redis load failed: the client decodes responses (want bytes)")
        return value

    def delete(self, session_id: str) -> None:
        with self._unavailable_as("delete"):
            self._client.delete(self.session_key(session_id))

    # ------------------------------------------------------------------------------------ ReplayCache

    def add_if_absent(self, namespace: str, key: str, ttl_seconds: int) -> bool:
        return self._replay.add_if_absent(namespace, key, ttl_seconds)

    def claim(self, namespace: str, key: str, fingerprint: str, ttl_seconds: int, *, binding: str = "") -> Claim:
        return self._replay.claim(namespace, key, fingerprint, ttl_seconds, binding=binding)

    def settle(
        self, namespace: str, key: str, fingerprint: str, *, binding: str | None = None, answer: bytes | None = None
    ) -> bool:
        return self._replay.settle(namespace, key, fingerprint, binding=binding, answer=answer)

    # ------------------------------------------------------------------------------------- EntryStore

    def put(self, namespace: str, key: str, blob: bytes, ttl_seconds: int) -> None:
        ttl = check_ttl(ttl_seconds)
        with self._unavailable_as("put"):
            self._client.set(self.entry_key(namespace, key), bytes(blob), ex=ttl)

    def get(self, namespace: str, key: str) -> bytes | None:
        with self._unavailable_as("get"):
            return self._client.get(self.entry_key(namespace, key))

    def get_many(self, namespace: str, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        with self._unavailable_as("get"):
            return self._client.mget([self.entry_key(namespace, key) for key in keys])

    def take(self, namespace: str, key: str) -> bytes | None:
        with self._unavailable_as("take"):
            return self._client.getdel(self.entry_key(namespace, key))

    def remove(self, namespace: str, key: str) -> None:
        with self._unavailable_as("remove"):
            self._client.delete(self.entry_key(namespace, key))

    def touch(self, namespace: str, key: str, ttl_seconds: int) -> None:
        ttl = check_ttl(ttl_seconds)
        with self._unavailable_as("touch"):
            self._client.expire(self.entry_key(namespace, key), ttl)

    def try_lock(self, namespace: str, key: str, ttl_seconds: int) -> str | None:
        ttl, token = check_ttl(ttl_seconds), secrets.token_hex(16)
        with self._unavailable_as("try_lock"):
            acquired = self._client.set(self.lock_key(namespace, key), token.encode(), nx=True, ex=ttl)
        return token if acquired else None

    def unlock(self, namespace: str, key: str, token: str) -> None:
        with self._unavailable_as("unlock"):
            self._client.eval(_UNLOCK, 1, self.lock_key(namespace, key), token.encode())

    def lock_and_get(
        self, namespace: str, key: str, ttl_seconds: int, entries: Sequence[tuple[str, str]]
    ) -> tuple[str | None, list[bytes | None]]:
        """SET NX EX, then the GETs, in one pipeline (as `lock_and_load`)."""
        ttl, token = check_ttl(ttl_seconds), secrets.token_hex(16)
        with self._unavailable_as("lock_and_get"):
            pipeline = self._client.pipeline(transaction=False)
            pipeline.set(self.lock_key(namespace, key), token.encode(), nx=True, ex=ttl)
            for entry_namespace, entry_key in entries:
                pipeline.get(self.entry_key(entry_namespace, entry_key))
            acquired, *values = pipeline.execute()
        return (token, values) if acquired else (None, [])

    def load_with(self, session_id: str, entry: str) -> tuple[bytes | None, bytes | None]:
        """Two GETs in one pipeline."""
        with self._unavailable_as("load"):
            pipeline = self._client.pipeline(transaction=False)
            pipeline.get(self.session_key(session_id))
            pipeline.get(self.entry_key(entry, session_id))
            value, beside = pipeline.execute()
        if value is not None and not isinstance(value, bytes):
            raise StoreUnavailable("redis load failed: the client decodes responses (want bytes)")
        return value, beside

    def lock_and_load(
        self, namespace: str, key: str, ttl_seconds: int, session_id: str, *, entry: str | None = None
    ) -> LockedLoad:
        """SET NX EX, GET (and, with `entry`, GET of that entry) in one pipeline: Redis runs them in order, so the
        GETs read the session as it is once the lock is ours; their values are thrown away when it was not had."""
        ttl, token = check_ttl(ttl_seconds), secrets.token_hex(16)
        with self._unavailable_as("lock_and_load"):
            pipeline = self._client.pipeline(transaction=False)
            pipeline.set(self.lock_key(namespace, key), token.encode(), nx=True, ex=ttl)
            pipeline.get(self.session_key(session_id))
            if entry is not None:
                pipeline.get(self.entry_key(entry, session_id))
            acquired, value, *beside = pipeline.execute()
        if not acquired:
            return None, None, None
        if value is not None and not isinstance(value, bytes):
            raise StoreUnavailable("redis load failed: the client decodes responses (want bytes)")
        return token, value, beside[0] if beside else None

    # ------------------------------------------------------------------------------------------ writes

    @contextmanager
    def writes(self) -> Iterator[QueuedWrites]:
        """Queued writes, sent in one pipeline (not a transaction: each command on its own, in order)."""
        writes = QueuedWrites()
        yield writes
        if not writes.queued:
            return
        with self._unavailable_as("writes"):
            pipeline = self._client.pipeline(transaction=False)
            for operation, args, kwargs in writes:
                if operation == "save":
                    session_id, blob, ttl = args
                    pipeline.set(self.session_key(session_id), blob, ex=ttl)
                elif operation == "put":
                    namespace, key, blob, ttl = args
                    pipeline.set(self.entry_key(namespace, key), blob, ex=ttl)
                elif operation == "delete":
                    pipeline.delete(self.session_key(args[0]))
                elif operation == "touch":
                    namespace, key, ttl = args
                    pipeline.expire(self.entry_key(namespace, key), ttl)
                elif operation == "remove":
                    pipeline.delete(self.entry_key(*args))
                elif operation == "unlock":
                    namespace, key, token = args
                    pipeline.eval(_UNLOCK, 1, self.lock_key(namespace, key), token.encode())
                else:
                    namespace, key, fingerprint = args
                    pipeline.eval(
                        SETTLE_SCRIPT,
                        1,
                        self.replay_key(namespace, key),
                        *settle_arguments(fingerprint, kwargs["binding"], kwargs["answer"]),
                    )
            pipeline.execute()

    # ------------------------------------------------------------------------------------- operations

    def ping(self) -> None:
        """For health checks: StoreUnavailable unless Redis answers."""
        with self._unavailable_as("ping"):
            self._client.ping()

    def close(self) -> None:
        """Close the pool's connections (tests, shutdown); a later call simply reconnects."""
        self._client.close()
