"""Rate limits on the hub's SAML endpoints: both counters, the limiter's windows, and the app's 429 page.

The Redis counter runs against the Redis on 127.0.0.1:6379 under a key prefix unique to the test; every
key under it is deleted afterwards.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator

import pytest
import redis
from prometheus_client import REGISTRY

from federation.runtime import Runtime
from hub.app import create_app
from hub.rate_limit import (
    DEFAULT_PER_MINUTE,
    MemoryRateCounter,
    RateLimiter,
    RedisRateCounter,
    build_rate_limiter,
    per_minute_setting,
)
from hub.store.base import StoreUnavailable
from hub.store.memory import MemoryStore
from hub.store.redis import RedisStore
from tests.support.hand_clock import HandClock

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = bytes(range(32))
SSO = "sso.single_sign_on"


def _redis_answers(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture
def prefix() -> Iterator[str]:
    if not _redis_answers(REDIS_URL):
        pytest.skip(f"no Redis answers at {REDIS_URL}: start one with `make redis`")
    value = f"test-rate-limit-{uuid.uuid4().hex}:"
    yield value
    with redis.Redis.from_url(REDIS_URL) as client:
        keys = list(client.scan_iter(match=value + "*"))
        if keys:
            client.delete(*keys)


# ----------------------------------------------------------------------------------------- counters


def test_memory_counter_counts_per_key_and_window():
    counter = MemoryRateCounter()
    assert [counter.hit("a", 7, 61) for _ in range(3)] == [1, 2, 3]
    assert counter.hit("b", 7, 61) == 1
    assert counter.hit("a", 8, 61) == 1


def test_memory_counter_stays_bounded():
    counter = MemoryRateCounter(max_keys=10)
    for i in range(100):
        counter.hit(f"client-{i}", 1, 61)
    assert len(counter._counts) <= 10
    for i in range(5):
        counter.hit(f"old-{i}", 1, 61)
    assert counter.hit("new", 2, 61) == 1
    assert all(window == 2 for _, window in counter._counts)


def test_memory_counter_is_exact_under_threads():
    counter = MemoryRateCounter()
    threads = [threading.Thread(target=lambda: [counter.hit("k", 1, 61) for _ in range(200)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.hit("k", 1, 61) == 8 * 200 + 1


def test_redis_counter_counts_sets_a_ttl_and_is_shared(prefix):
    store_one = RedisStore(REDIS_URL, key_prefix=prefix)
    store_two = RedisStore(REDIS_URL, key_prefix=prefix)  # another hub process on the same Redis
    one, two = RedisRateCounter.for_store(store_one), RedisRateCounter.for_store(store_two)
    assert one.hit("sso:abc", 5, 61) == 1
    assert two.hit("sso:abc", 5, 61) == 2
    assert one.hit("sso:abc", 6, 61) == 1
    with redis.Redis.from_url(REDIS_URL) as raw:
        key = f"{prefix}ratelimit:sso:abc:5"
        assert raw.get(key) == b"2"
        assert 0 < raw.ttl(key) <= 61
    store_one.close()
    store_two.close()


def test_redis_counter_atomic_under_threads(prefix):
    store = RedisStore(REDIS_URL, key_prefix=prefix)
    counter = RedisRateCounter.for_store(store)
    results: list[int] = []
    lock = threading.Lock()

    def work():
        for _ in range(50):
            value = counter.hit("k", 1, 61)
            with lock:
                results.append(value)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == list(range(1, 301))
    store.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_redis_counter_unreachable_is_store_unavailable():
    store = RedisStore(f"redis://127.0.0.1:{_closed_port()}/0", key_prefix="x:")
    with pytest.raises(StoreUnavailable, match="rate-limit"):
        RedisRateCounter.for_store(store).hit("k", 1, 61)


# ------------------------------------------------------------------------------------------ limiter


def test_limiter_allows_the_limit_then_refuses_until_the_next_window():
    clock = HandClock(1_900_000_010.0)
    limiter = RateLimiter(MemoryRateCounter(), per_window=3, secret=SECRET, clock=clock)
    decisions = [limiter.check("192.0.2.1", SSO) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].retry_after_seconds == 60 - (1_900_000_010 % 60)
    assert limiter.check("192.0.2.2", SSO).allowed  # another client
    assert limiter.check("192.0.2.1", "idp_response.consume_idp_response").allowed  # another endpoint
    clock.now += 60
    assert limiter.check("192.0.2.1", SSO).allowed


def test_client_hash_hides_the_address_and_depends_on_the_secret():
    limiter = RateLimiter(MemoryRateCounter(), per_window=1, secret=SECRET)
    other = RateLimiter(MemoryRateCounter(), per_window=1, secret=b"another secret")
    digest = limiter.client_hash("192.0.2.1")
    assert "192" not in digest and len(digest) == 24
    assert digest == limiter.client_hash("192.0.2.1") != other.client_hash("192.0.2.1")


def test_settings():
    assert per_minute_setting(None) == per_minute_setting("") == DEFAULT_PER_MINUTE
    assert per_minute_setting("7") == 7
    assert per_minute_setting("0") == 0
    for bad in ("-1", "lots", "1.5"):
        with pytest.raises(ValueError, match="HUB_RATE_LIMIT_PER_MINUTE"):
            per_minute_setting(bad)
    with pytest.raises(ValueError):
        RateLimiter(MemoryRateCounter(), per_window=0, secret=SECRET)
    assert build_rate_limiter(0, MemoryStore(), secret=SECRET, redis=False) is None
    assert isinstance(build_rate_limiter(5, MemoryStore(), secret=SECRET, redis=False).counter, MemoryRateCounter)


# ------------------------------------------------------------------------------------- through the app


def _app(federation_config, keys_dir, tmp_path, **environ):
    environ = {"AUDIT_LOG": str(tmp_path / "audit.jsonl"), **environ}
    runtime = Runtime(federation_config, keys_dir, tmp_path, environ=environ)
    return create_app(runtime)


def test_app_refuses_a_client_over_the_limit_with_429(federation_config, keys_dir, tmp_path, caplog):
    client = _app(federation_config, keys_dir, tmp_path, HUB_RATE_LIMIT_PER_MINUTE="3").test_client()
    caplog.set_level(logging.INFO)
    statuses = [client.post("/SAML2/SSO", data={"SAMLRequest": "not saml"}).status_code for _ in range(3)]
    assert statuses == [400, 400, 400]  # refused as bad requests, but counted
    counted = REGISTRY.get_sample_value("hub_rate_limited_total", {"endpoint": "sso.single_sign_on"}) or 0
    limited = client.post("/SAML2/SSO", data={"SAMLRequest": "not saml"})
    assert limited.status_code == 429
    assert REGISTRY.get_sample_value("hub_rate_limited_total", {"endpoint": "sso.single_sign_on"}) == counted + 1
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "Sorry, there have been too many attempts" in limited.get_data(as_text=True)
    assert "Content-Security-Policy" in limited.headers
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("rate limited:")]
    assert lines and lines[0].startswith("rate limited: sso.single_sign_on (client ")
    assert not any("127.0.0.1" in r.getMessage() for r in caplog.records if "rate limited" in r.getMessage())
    # X-Forwarded-For is not believed: a spoofed header does not give the client a fresh allowance
    spoofed = client.post("/SAML2/SSO", data={}, headers={"X-Forwarded-For": "198.51.100.9"})
    assert spoofed.status_code == 429
    # other clients, the response endpoint's own counter and citizen pages are not affected
    other = client.post("/SAML2/SSO", data={"SAMLRequest": "x"}, environ_base={"REMOTE_ADDR": "192.0.2.44"})
    assert other.status_code == 400
    assert client.post("/SAML2/SSO/Response/POST", data={"SAMLResponse": "x"}).status_code == 400
    assert client.get("/healthcheck").status_code == 200
    assert client.get("/").status_code == 200


def test_app_limit_is_shared_by_hub_processes_on_one_redis(federation_config, keys_dir, tmp_path, prefix):
    shared = {
        "REDIS_URL": REDIS_URL,
        "HUB_REDIS_PREFIX": prefix,
        "HUB_SESSION_KEY": "11" * 32,
        "HUB_SECRET": "22" * 32,
        "HUB_RATE_LIMIT_PER_MINUTE": "4",
    }
    one = _app(federation_config, keys_dir, tmp_path, **shared)
    two = _app(federation_config, keys_dir, tmp_path, **shared)
    assert isinstance(one.extensions["hub"].rate_limiter.counter, RedisRateCounter)
    clients = [one.test_client(), two.test_client()]
    statuses = [clients[i % 2].post("/SAML2/SSO/Response/POST", data={}).status_code for i in range(6)]
    assert statuses == [400, 400, 400, 400, 429, 429]
    with redis.Redis.from_url(REDIS_URL) as raw:
        keys = [k.decode() for k in raw.scan_iter(match=prefix + "ratelimit:*")]
    assert len(keys) == 1 and "127.0.0.1" not in keys[0]
    for app in (one, two):
        app.extensions["hub"].store.close()


def test_app_without_a_limit(federation_config, keys_dir, tmp_path):
    app = _app(federation_config, keys_dir, tmp_path, HUB_RATE_LIMIT_PER_MINUTE="0")
    assert app.extensions["hub"].rate_limiter is None
    client = app.test_client()
    assert all(client.post("/SAML2/SSO", data={}).status_code == 400 for _ in range(5))


def test_choosing_a_company_is_limited_but_reading_the_list_is_not(federation_config, keys_dir, tmp_path):
    """Each choice signs an AuthnRequest and stores an index entry, so it is limited like /SAML2/SSO."""
    client = _app(federation_config, keys_dir, tmp_path, HUB_RATE_LIMIT_PER_MINUTE="2").test_client()
    # without a session these are refused, but a flood is still counted and cut off before any work
    statuses = [client.post("/choose-a-certified-company", data={"entity_id": "x"}).status_code for _ in range(3)]
    assert statuses[:2] != [429, 429] and statuses[2] == 429, statuses
    assert all(client.get("/choose-a-certified-company").status_code != 429 for _ in range(5))
    # the SSO endpoint has a counter of its own
    assert client.post("/SAML2/SSO", data={"SAMLRequest": "x"}).status_code == 400


def test_the_moved_journey_question_is_limited_as_it_signs_each_answer():
    limiter = RateLimiter(MemoryRateCounter(), per_window=3, secret=SECRET, clock=HandClock(1_900_000_010.0))
    assert limiter.applies("handoff.sign_in_here", "GET")
    assert not limiter.applies("handoff.sign_in_here", "POST")
