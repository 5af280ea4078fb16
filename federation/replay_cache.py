"""The replay cache of the project: message IDs seen before, each remembered for as long as it can be replayed.

One implementation for every party that refuses replays against a store: the hub (IDP Responses, their
assertions, services' AuthnRequests; `hub.store` delegates here) and the matching service (the hub's
AttributeQuery IDs). In process by default (`MemoryReplayCache`); in Redis (`RedisReplayCache`) when
several processes of one party must refuse a message any of them has seen.

`add_if_absent` is one atomic step in both: of two processes racing with the same ID, exactly one wins.
A store that cannot be reached raises `StoreUnavailable`, and the caller fails closed (it refuses the
message rather than let a replay through).

`claim` and `settle` tell a retry from a replay. A process can die after it recorded an ID and before the
sender heard back; the sender (the hub resending its AttributeQuery, a browser posting the same form
again) then sends the very same message. `claim` records the ID with a fingerprint of the whole message
(a digest the caller computes) and a binding (who consumed it: e.g. a digest of the journey), so the
second sight of an ID says whether it is the same message and who had it; `settle` stores, for the same
message only, the answer it was given (so the retry gets that answer, not a second decision) or a new
binding. A different message reusing the ID is still a replay. IDs recorded by `add_if_absent` have no
fingerprint: any later claim of them is a replay.

Redis keys are `<prefix>replay:<namespace>:<sha256(key)>`: IDs are written by whoever sent the message,
so they never become raw Redis keys, and every key has a bounded length.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import redis

from federation.redis_client import redis_client, redis_settings

REDIS_ERRORS = (redis.RedisError, OSError)


class StoreUnavailable(Exception):
    """The backing store cannot be reached; the caller fails closed (no session, no replay check, no entry)."""


@dataclass(frozen=True)
class Claim:
    """What `claim` found: `first` when the ID was new (recorded now); otherwise whether the earlier sight
    was the same message (`same_message`: a retry), the binding it recorded, and the answer it settled."""

    first: bool
    same_message: bool = False
    binding: str = ""
    answer: bytes | None = None

    @property
    def is_replay(self) -> bool:
        return not self.first and not self.same_message


def _record(fingerprint: str, binding: str, answer: bytes | None) -> bytes:
    value = {"f": fingerprint, "b": binding}
    if answer is not None:
        value["a"] = base64.b64encode(answer).decode("ascii")
    return json.dumps(value, separators=(",", ":")).encode("ascii")


def _claim_from(raw: bytes | None, fingerprint: str) -> Claim:
    """The Claim for an ID already recorded as `raw` (b"1" from add_if_absent: no fingerprint, a replay)."""
    try:
        value = json.loads(raw or b"")
    except ValueError:
        return Claim(first=False)
    if not isinstance(value, dict) or value.get("f") != fingerprint:
        return Claim(first=False)
    answer = value.get("a")
    return Claim(
        first=False,
        same_message=True,
        binding=str(value.get("b", "")),
        answer=base64.b64decode(answer) if isinstance(answer, str) else None,
    )


@runtime_checkable
class ReplayCache(Protocol):
    def add_if_absent(self, namespace: str, key: str, ttl_seconds: int) -> bool:
        """Atomically record `key`: True if it was new, False if it was already seen (a replay)."""
        ...


@runtime_checkable
class RetryAwareReplayCache(ReplayCache, Protocol):
    """A replay cache that tells the same message sent again (a retry) from a replay (see `Claim`)."""

    def claim(self, namespace: str, key: str, fingerprint: str, ttl_seconds: int, *, binding: str = "") -> Claim: ...

    def settle(
        self, namespace: str, key: str, fingerprint: str, *, binding: str | None = None, answer: bytes | None = None
    ) -> bool: ...


def check_ttl(ttl_seconds: int) -> int:
    """Whole seconds, at least one: what Redis EX accepts."""
    if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int) or ttl_seconds < 1:
        raise ValueError(f"ttl_seconds must be a positive whole number, not {ttl_seconds!r}")
    return ttl_seconds


def digest(value: str) -> str:
    """A fixed-length stand-in for a caller's ID in a Redis key."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


class MemoryReplayCache:
    """In one process's memory; expiry on the monotonic clock (a wall-clock change neither resurrects nor
    forgets an ID). Expired IDs are dropped on every write, oldest first, so the cache never outgrows what
    can still be replayed."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[tuple[str, str], float] = {}
        self._records: dict[tuple[str, str], bytes] = {}  # for IDs recorded by `claim`
        self._queue: list[tuple[float, tuple[str, str]]] = []

    def add_if_absent(self, namespace: str, key: str, ttl_seconds: int) -> bool:
        ttl = check_ttl(ttl_seconds)
        entry = (namespace, key)
        with self._lock:
            now = self._clock()
            self._evict(now)
            if entry in self._expiry:
                return False
            expires_at = now + ttl
            self._expiry[entry] = expires_at
            heapq.heappush(self._queue, (expires_at, entry))
            return True

    def claim(self, namespace: str, key: str, fingerprint: str, ttl_seconds: int, *, binding: str = "") -> Claim:
        """Record `key` for this message (`fingerprint`) and `binding`, or say how it was seen before."""
        ttl = check_ttl(ttl_seconds)
        entry = (namespace, key)
        with self._lock:
            now = self._clock()
            self._evict(now)
            if entry in self._expiry:
                return _claim_from(self._records.get(entry), fingerprint)
            self._expiry[entry] = now + ttl
            self._records[entry] = _record(fingerprint, binding, None)
            heapq.heappush(self._queue, (now + ttl, entry))
            return Claim(first=True, binding=binding)

    def settle(
        self, namespace: str, key: str, fingerprint: str, *, binding: str | None = None, answer: bytes | None = None
    ) -> bool:
        """Keep `answer` and/or a new `binding` with the ID, if it is still held for this same message."""
        entry = (namespace, key)
        with self._lock:
            self._evict(self._clock())
            found = _claim_from(self._records.get(entry), fingerprint)
            if not found.same_message:
                return False
            self._records[entry] = _record(
                fingerprint, found.binding if binding is None else binding, found.answer if answer is None else answer
            )
            return True

    def __len__(self) -> int:
        """IDs held, expired or not yet dropped (for tests and metrics)."""
        with self._lock:
            return len(self._expiry)

    def _evict(self, now: float) -> None:
        while self._queue and self._queue[0][0] <= now:
            expires_at, entry = heapq.heappop(self._queue)
            if self._expiry.get(entry) == expires_at:
                del self._expiry[entry]
                self._records.pop(entry, None)


# settle, in one round trip: only while the record is the same message's, take the new binding and/or answer
# (ARGV: fingerprint, "1" and the binding or "0", "1" and the base64 answer or "0"), keeping its expiry.
SETTLE_SCRIPT = """
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, value = pcall(cjson.decode, raw)
if not ok or type(value) ~= 'table' or value['f'] ~= ARGV[1] then return 0 end
if ARGV[2] == '1' then value['b'] = ARGV[3] end
if ARGV[4] == '1' then value['a'] = ARGV[5] end
redis.call('SET', KEYS[1], cjson.encode(value), 'KEEPTTL')
return 1
"""


def settle_arguments(fingerprint: str, binding: str | None, answer: bytes | None) -> tuple[str, ...]:
    """The settle script's ARGV: what is given replaces the record's, what is None stays as recorded."""
    encoded = "" if answer is None else base64.b64encode(answer).decode("ascii")
    return (
        fingerprint,
        "0" if binding is None else "1",
        binding or "",
        "0" if answer is None else "1",
        encoded,
    )


class RedisReplayCache:
    """In Redis: one `SET key 1 NX EX ttl` per ID, so every process on that Redis sees one replay cache
    (`claim` writes a small JSON record instead of 1, with the same SET NX)."""

    def __init__(self, client: Any, *, key_prefix: str) -> None:
        """`client`: a `redis.Redis` (one server, or a Sentinel master from `federation.redis_client`)."""
        if not key_prefix:
            raise ValueError("key_prefix must not be empty: the replay keys stay in their own namespace")
        self._client = client
        self._prefix = key_prefix

    def key(self, namespace: str, key: str) -> str:
        return f"{self._prefix}replay:{namespace}:{digest(key)}"

    def add_if_absent(self, namespace: str, key: str, ttl_seconds: int) -> bool:
        ttl = check_ttl(ttl_seconds)
        try:
            return bool(self._client.set(self.key(namespace, key), b"1", nx=True, ex=ttl))
        except REDIS_ERRORS as exc:
            raise StoreUnavailable(f"redis add_if_absent failed: {type(exc).__name__}") from exc

    def claim(self, namespace: str, key: str, fingerprint: str, ttl_seconds: int, *, binding: str = "") -> Claim:
        """Record `key` for this message (`fingerprint`) and `binding`, or say how it was seen before."""
        ttl = check_ttl(ttl_seconds)
        name = self.key(namespace, key)
        try:
            if self._client.set(name, _record(fingerprint, binding, None), nx=True, ex=ttl):
                return Claim(first=True, binding=binding)
            return _claim_from(self._client.get(name), fingerprint)
        except REDIS_ERRORS as exc:
            raise StoreUnavailable(f"redis claim failed: {type(exc).__name__}") from exc

    def settle(
        self, namespace: str, key: str, fingerprint: str, *, binding: str | None = None, answer: bytes | None = None
    ) -> bool:
        """Keep `answer` and/or a new `binding` with the ID, if it is still held for this same message."""
        try:
            arguments = settle_arguments(fingerprint, binding, answer)
            return bool(self._client.eval(SETTLE_SCRIPT, 1, self.key(namespace, key), *arguments))
        except REDIS_ERRORS as exc:
            raise StoreUnavailable(f"redis settle failed: {type(exc).__name__}") from exc


def replay_cache_from_settings(
    setting: Callable[[str], str | None], *, settings_prefix: str, key_prefix: str
) -> MemoryReplayCache | RedisReplayCache:
    """In Redis when `<settings_prefix>REDIS_URL` or `<settings_prefix>REDIS_SENTINELS` is set (see
    `federation.redis_client`), else in process. Raises RedisSettingsError (a ValueError) naming a wrong setting."""
    where = redis_settings(setting, settings_prefix)
    if not where.configured:
        return MemoryReplayCache()
    return RedisReplayCache(redis_client(where), key_prefix=key_prefix)
