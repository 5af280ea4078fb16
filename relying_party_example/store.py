"""Where the example service keeps what it must not put in a cookie: sessions, sign-in attempts, answers.

Values are small JSON objects, each stored under (namespace, key) with a time to live. Two stores fit the
one `Store` interface: `MemoryStore` (one process: the demo, a single-process service) and `RedisStore`
(several processes behind one load balancer share one Redis). `store_from_settings` picks Redis when
`RP_REDIS_URL` is set. Every operation is one atomic step (Redis SET EX, GET, GETDEL, DEL), so a one-time
value (`take`) is handed out once however many processes race for it.

Keys come from cookies and from attributes of inbound messages, so the Redis store hashes them: they never
become raw Redis keys and every key has a bounded length. Values are JSON, never pickles: whoever can write
to the store cannot make the service run code. A store that cannot be reached raises `StoreUnavailable`;
the service then shows its "unavailable" page and signs nobody in (it fails closed).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

__all__ = ["MemoryStore", "RedisStore", "Store", "StoreUnavailable", "store_from_settings"]

DEFAULT_KEY_PREFIX = "rp:"
Value = dict[str, Any]


class StoreUnavailable(Exception):
    """The backing store cannot be reached: nobody is signed in until it can."""


class Store(Protocol):
    def put(self, namespace: str, key: str, value: Mapping[str, Any], ttl_seconds: int) -> None:
        """Store (or replace) the value; it disappears after `ttl_seconds`."""
        ...

    def get(self, namespace: str, key: str) -> Value | None:
        """The value, or None when absent or expired."""
        ...

    def take(self, namespace: str, key: str) -> Value | None:
        """Get and delete in one step: of two callers racing for one key, only one gets the value."""
        ...

    def delete(self, namespace: str, key: str) -> None:
        """Remove the value; deleting an absent one is not an error."""
        ...


def _check_ttl(ttl_seconds: int) -> int:
    """Whole seconds, at least one: what Redis EX accepts."""
    if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int) or ttl_seconds < 1:
        raise ValueError(f"ttl_seconds must be a positive whole number, not {ttl_seconds!r}")
    return ttl_seconds


def _encode(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode("utf-8")


def _decode(blob: bytes | None) -> Value | None:
    if blob is None:
        return None
    try:
        value = json.loads(blob)
    except ValueError:  # not JSON, or not UTF-8
        value = None
    if not isinstance(value, dict):
        raise StoreUnavailable("the store holds a value this service did not write")
    return value


class MemoryStore:
    """One process's memory: thread-safe (one lock), expiry on the monotonic clock.

    Expired entries are dropped when touched and, every `sweep_every` writes, all at once, so entries that
    are never read again (abandoned sign-ins) do not pile up.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, sweep_every: int = 1000) -> None:
        self._clock = clock
        self._sweep_every = sweep_every
        self._writes = 0
        self._entries: dict[tuple[str, str], tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def _live(self, entry_key: tuple[str, str], now: float) -> bytes | None:
        entry = self._entries.get(entry_key)
        if entry is None:
            return None
        if now >= entry[0]:
            del self._entries[entry_key]
            return None
        return entry[1]

    def put(self, namespace: str, key: str, value: Mapping[str, Any], ttl_seconds: int) -> None:
        blob, ttl = _encode(value), _check_ttl(ttl_seconds)
        with self._lock:
            now = self._clock()
            self._entries[(namespace, key)] = (now + ttl, blob)
            self._writes += 1
            if self._writes >= self._sweep_every:
                self._writes = 0
                for stale in [k for k, (expires, _) in self._entries.items() if now >= expires]:
                    del self._entries[stale]

    def get(self, namespace: str, key: str) -> Value | None:
        with self._lock:
            blob = self._live((namespace, key), self._clock())
        return _decode(blob)

    def take(self, namespace: str, key: str) -> Value | None:
        with self._lock:
            blob = self._live((namespace, key), self._clock())
            self._entries.pop((namespace, key), None)
        return _decode(blob)

    def delete(self, namespace: str, key: str) -> None:
        with self._lock:
            self._entries.pop((namespace, key), None)

    def __len__(self) -> int:
        """Entries held, expired or not yet swept (for tests)."""
        with self._lock:
            return len(self._entries)


def redacted(url: str) -> str:
    """The URL without user name or password, for logs and error messages."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


class RedisStore:
    """Redis shared by every process of the service. Keys: `<prefix><namespace>:<sha256(key)>`.

    Commands are retried once, at once, only on a connection error (a pooled connection left stale by a
    Redis restart), never on a timeout: a dead or hung Redis costs one `socket_timeout` per request.
    """

    def __init__(
        self, url: str, *, key_prefix: str = DEFAULT_KEY_PREFIX, socket_timeout: float = 0.5, **options: Any
    ) -> None:
        """`url`: redis://, rediss:// (TLS) or unix://; `options` go to `redis.Redis.from_url` as they are."""
        if not key_prefix:
            raise ValueError("key_prefix must not be empty: the service's keys stay in their own namespace")
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
            **options,
        )
        self._prefix = key_prefix
        self._where = redacted(url)

    def __repr__(self) -> str:
        return f"RedisStore({self._where!r}, key_prefix={self._prefix!r})"

    def redis_key(self, namespace: str, key: str) -> str:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{self._prefix}{namespace}:{digest}"

    @contextmanager
    def _unavailable_as(self, operation: str) -> Iterator[None]:
        try:
            yield
        except (redis.RedisError, OSError) as exc:
            raise StoreUnavailable(f"redis {operation} failed at {self._where}: {type(exc).__name__}") from exc

    def put(self, namespace: str, key: str, value: Mapping[str, Any], ttl_seconds: int) -> None:
        blob, ttl = _encode(value), _check_ttl(ttl_seconds)
        with self._unavailable_as("put"):
            self._client.set(self.redis_key(namespace, key), blob, ex=ttl)

    def get(self, namespace: str, key: str) -> Value | None:
        with self._unavailable_as("get"):
            blob = self._client.get(self.redis_key(namespace, key))
        return _decode(blob)

    def take(self, namespace: str, key: str) -> Value | None:
        with self._unavailable_as("take"):
            blob = self._client.getdel(self.redis_key(namespace, key))  # Redis 6.2 or later
        return _decode(blob)

    def delete(self, namespace: str, key: str) -> None:
        with self._unavailable_as("delete"):
            self._client.delete(self.redis_key(namespace, key))

    def close(self) -> None:
        """Close the pool's connections (tests, shutdown); a later call simply reconnects."""
        self._client.close()


def store_from_settings(setting: Callable[[str], str | None]) -> MemoryStore | RedisStore:
    """`RP_REDIS_URL` set: Redis, keys under `RP_REDIS_KEY_PREFIX` (default "rp:"); otherwise in process."""
    url = setting("RP_REDIS_URL")
    if not url:
        return MemoryStore()
    return RedisStore(url, key_prefix=setting("RP_REDIS_KEY_PREFIX") or DEFAULT_KEY_PREFIX)
