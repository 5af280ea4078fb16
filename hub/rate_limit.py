"""Per-client rate limits on the hub's SAML endpoints, counted where every hub process can see them.

A fixed one-minute window per (endpoint, client): good enough to stop one machine hammering the SSO or
response endpoints, and one atomic INCR per request. The counters live in Redis when the hub uses Redis
(so N hub processes behind a load balancer share one limit) and in process memory otherwise.

The client is `request.remote_addr`, i.e. the TCP peer. X-Forwarded-For is never read here: behind a
proxy, name it in TRUSTED_PROXY and `federation.serve` rewrites `remote_addr` from that proxy's header
only, and drops forwarding headers from anyone else, so an unconfigured proxy's or a client's headers never
reach the app (`federation/proxy_headers.py`). Client addresses are keyed and logged only as a keyed hash.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import redis

from hub.store.base import StoreUnavailable

log = logging.getLogger("hub.rate_limit")

DEFAULT_PER_MINUTE = 120
WINDOW_SECONDS = 60
# Every endpoint that signs, verifies or stores something for an anonymous caller: the SAML endpoints, and
# the choice of a company (each choice signs an AuthnRequest and stores an index entry), and an OpenID
# Connect authorization request (each starts a session), and a service's question whether a journey moved
# to the asking browser (each answer is signed). Codes to continue on another device have their
# own, stricter limit (hub.views.handoff). Only the methods named are counted: reading the
# company list is not limited, choosing from it is.
LIMITED_ENDPOINTS = (
    "sso.single_sign_on",
    "idp_response.consume_idp_response",
    "journey.choose_company",
    "company.continue_with_company",
    "service_pages.feedback",
    "oidc.authorize",
    "handoff.sign_in_here",
)
LIMITED_METHODS = {
    "sso.single_sign_on": frozenset({"GET", "POST"}),
    "oidc.authorize": frozenset({"GET", "POST"}),
    "idp_response.consume_idp_response": frozenset({"POST"}),
    "journey.choose_company": frozenset({"POST"}),
    "company.continue_with_company": frozenset({"POST"}),  # like a choice: signs a request to the company
    "service_pages.feedback": frozenset({"POST"}),  # stored: a flood is spam
    "handoff.sign_in_here": frozenset({"GET"}),  # a signed answer each time
}


class RateCounter(Protocol):
    def hit(self, key: str, window: int, ttl_seconds: int) -> int:
        """Count one request for `key` in window number `window`; the count so far in that window."""
        ...

    def peek(self, key: str, window: int) -> int:
        """The count so far for `key` in window number `window`, without counting."""
        ...


class MemoryRateCounter:
    """Counters in this process only: for the single-process demo and for hubs without Redis."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys
        self._window = -1

    def hit(self, key: str, window: int, ttl_seconds: int) -> int:
        with self._lock:
            if window > self._window:  # a new window: the finished ones can never be asked about again
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
                self._window = window
            if len(self._counts) >= self._max_keys:  # a flood of clients: start afresh rather than grow
                self._counts.clear()
            count = self._counts.get((key, window), 0) + 1
            self._counts[(key, window)] = count
            return count

    def peek(self, key: str, window: int) -> int:
        with self._lock:
            return self._counts.get((key, window), 0)


class RedisRateCounter:
    """Counters in Redis: INCR and EXPIRE in one MULTI/EXEC, so a counter never outlives its window."""

    def __init__(self, client: Any, *, key_prefix: str) -> None:
        self._client = client
        self._prefix = key_prefix

    @classmethod
    def for_store(cls, store: Any) -> RedisRateCounter:
        """Share the `RedisStore`'s connection pool (its private client, read only) and key prefix."""
        return cls(store.client, key_prefix=store.key_prefix + "ratelimit:")

    def hit(self, key: str, window: int, ttl_seconds: int) -> int:
        redis_key = f"{self._prefix}{key}:{window}"
        try:
            pipe = self._client.pipeline(transaction=True)
            pipe.incr(redis_key)
            pipe.expire(redis_key, ttl_seconds)
            count, _ = pipe.execute()
        except (redis.RedisError, OSError) as exc:  # the hub fails closed, as it does for sessions
            raise StoreUnavailable(f"redis rate-limit failed: {type(exc).__name__}") from exc
        return int(count)

    def peek(self, key: str, window: int) -> int:
        try:
            count = self._client.get(f"{self._prefix}{key}:{window}")
        except (redis.RedisError, OSError) as exc:
            raise StoreUnavailable(f"redis rate-limit failed: {type(exc).__name__}") from exc
        return int(count or 0)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    retry_after_seconds: int


class RateLimiter:
    """At most `per_window` requests per client and endpoint in each `window_seconds` window."""

    def __init__(
        self,
        counter: RateCounter,
        *,
        per_window: int,
        secret: bytes,
        window_seconds: int = WINDOW_SECONDS,
        endpoints: Iterable[str] = LIMITED_ENDPOINTS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if per_window < 1 or window_seconds < 1:
            raise ValueError("a rate limit needs at least one request per window of at least one second")
        self.counter = counter
        self.per_window = per_window
        self.window_seconds = window_seconds
        self.endpoints = frozenset(endpoints)
        self._secret = secret
        self._clock = clock

    def applies(self, endpoint: str | None, method: str) -> bool:
        """Whether a request to `endpoint` with `method` counts against the limit."""
        return endpoint in self.endpoints and method in LIMITED_METHODS.get(endpoint, frozenset({"GET", "POST"}))

    def client_hash(self, client: str) -> str:
        """A keyed hash of the client address: stable per hub deployment, meaningless outside it."""
        return hmac.new(self._secret, b"rate-limit:" + client.encode(), hashlib.sha256).hexdigest()[:24]

    def check(self, client: str, endpoint: str) -> Decision:
        now = self._clock()
        window = int(now // self.window_seconds)
        count = self.counter.hit(f"{endpoint}:{self.client_hash(client)}", window, self.window_seconds + 1)
        retry_after = max(1, math.ceil((window + 1) * self.window_seconds - now))
        return Decision(allowed=count <= self.per_window, count=count, retry_after_seconds=retry_after)


def per_minute_setting(value: str | None) -> int:
    """`HUB_RATE_LIMIT_PER_MINUTE`: a whole number; 0 turns the limit off; unset means the default."""
    if value is None or value.strip() == "":
        return DEFAULT_PER_MINUTE
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"HUB_RATE_LIMIT_PER_MINUTE must be a whole number, not {value!r}") from None
    if number < 0:
        raise ValueError(f"HUB_RATE_LIMIT_PER_MINUTE must not be negative, not {value!r}")
    return number


def build_rate_limiter(per_minute: int, store: Any, *, secret: bytes, redis: bool) -> RateLimiter | None:
    """The hub's limiter for its settings: Redis counters when its store is Redis, memory otherwise."""
    if per_minute == 0:
        return None
    counter: RateCounter = RedisRateCounter.for_store(store) if redis else MemoryRateCounter()
    return RateLimiter(counter, per_window=per_minute, secret=secret)
