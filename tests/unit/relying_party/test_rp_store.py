"""The example service's store: one contract, kept by the in-process store and by Redis.

Redis is the real one on 127.0.0.1:6379 (`make redis` starts one; TEST_REDIS_URL overrides), under a key
prefix unique to each test, whose keys are deleted afterwards.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator

import pytest
from rp_support import REDIS_URL

from relying_party_example.store import MemoryStore, RedisStore, StoreUnavailable, redacted, store_from_settings
from tests.support.hand_clock import HandClock


@pytest.fixture
def redis_store(redis_prefix: str) -> Iterator[RedisStore]:
    store = RedisStore(REDIS_URL, key_prefix=redis_prefix)
    yield store
    store.close()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest):
    if request.param == "memory":
        return MemoryStore()
    return request.getfixturevalue("redis_store")


# ---------------------------------------------------------------------------------------------- contract


def test_put_get_delete(store):
    assert store.get("session", "s1") is None
    store.put("session", "s1", {"a": 1}, 60)
    assert store.get("session", "s1") == {"a": 1}
    store.put("session", "s1", {"a": 2, "b": ["x", None]}, 60)
    assert store.get("session", "s1") == {"a": 2, "b": ["x", None]}
    store.delete("session", "s1")
    assert store.get("session", "s1") is None
    store.delete("session", "s1")  # deleting twice is fine


def test_namespaces_are_separate(store):
    store.put("attempt:test-rp", "k", {"n": 1}, 60)
    store.put("attempt:other", "k", {"n": 2}, 60)
    assert store.get("attempt:test-rp", "k") == {"n": 1}
    assert store.get("session", "k") is None


def test_take_hands_a_value_out_once(store):
    store.put("answer", "k", {"n": 1}, 60)
    assert store.take("answer", "k") == {"n": 1}
    assert store.take("answer", "k") is None
    assert store.get("answer", "k") is None


def test_of_many_racing_takers_exactly_one_gets_the_value(store):
    store.put("answer", "k", {"n": 1}, 60)
    barrier, got = threading.Barrier(8), []

    def taker() -> None:
        barrier.wait()
        got.append(store.take("answer", "k"))

    threads = [threading.Thread(target=taker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [value for value in got if value is not None] == [{"n": 1}]


@pytest.mark.parametrize("ttl", [0, -1, 1.5, True, "60"])
def test_ttl_must_be_whole_positive_seconds(store, ttl):
    with pytest.raises(ValueError):
        store.put("session", "s1", {}, ttl)


def test_a_value_the_service_did_not_write_fails_closed(store, request):
    if isinstance(store, MemoryStore):
        store._entries[("session", "s1")] = (float("inf"), b"\x80not json")
    else:
        request.getfixturevalue("raw_redis").set(store.redis_key("session", "s1"), b"[1, 2]")
    with pytest.raises(StoreUnavailable):
        store.get("session", "s1")


# ---------------------------------------------------------------------------------------------- memory


def test_memory_entries_expire():
    clock = HandClock(1000.0)
    store = MemoryStore(clock=clock)
    store.put("answer", "k", {"n": 1}, 60)
    clock.now += 59.9
    assert store.get("answer", "k") == {"n": 1}
    clock.now += 0.1
    assert store.get("answer", "k") is None
    store.put("answer", "k", {"n": 1}, 60)
    clock.now += 60
    assert store.take("answer", "k") is None


def test_memory_sweeps_expired_entries_nobody_reads():
    clock = HandClock(1000.0)
    store = MemoryStore(clock=clock, sweep_every=10)
    for i in range(9):
        store.put("attempt", f"k{i}", {}, 5)
    clock.now += 5
    store.put("attempt", "fresh", {}, 5)  # the tenth write sweeps
    assert len(store) == 1


def test_memory_values_are_copies():
    store = MemoryStore()
    value = {"list": [1]}
    store.put("session", "s", value, 60)
    value["list"].append(2)
    got = store.get("session", "s")
    got["list"].append(3)
    assert store.get("session", "s") == {"list": [1]}


# ---------------------------------------------------------------------------------------------- redis


def test_redis_keys_are_hashed_under_the_prefix_and_expire(redis_store, raw_redis, redis_prefix):
    cookie_value = "a-session-id-from-a-cookie"
    redis_store.put("session", cookie_value, {"n": 1}, 90)
    key = f"{redis_prefix}session:{hashlib.sha256(cookie_value.encode()).hexdigest()}"
    assert raw_redis.exists(key)
    assert 85 <= raw_redis.ttl(key) <= 90
    assert not [k for k in raw_redis.scan_iter(match=f"{redis_prefix}*") if cookie_value.encode() in k]
    assert raw_redis.get(key) == b'{"n":1}'  # JSON, never a pickle


def test_two_stores_on_one_redis_share_values(redis_store, redis_prefix):
    other = RedisStore(REDIS_URL, key_prefix=redis_prefix)
    try:
        redis_store.put("answer", "k", {"n": 1}, 60)
        assert other.take("answer", "k") == {"n": 1}
        assert redis_store.take("answer", "k") is None
    finally:
        other.close()


def test_redis_down_is_store_unavailable_and_names_no_password():
    with socket.socket() as bound:  # bound but not listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        store = RedisStore(f"redis://user:hunter2@127.0.0.1:{bound.getsockname()[1]}/0", socket_timeout=0.2)
        with pytest.raises(StoreUnavailable) as caught:
            store.get("session", "s1")
    assert "hunter2" not in str(caught.value) and "hunter2" not in repr(store)


def test_redacted_drops_credentials():
    assert redacted("rediss://u:p@redis.example:6380/2") == "rediss://redis.example:6380/2"
    assert redacted("unix://:p@/run/redis.sock") == "unix:///run/redis.sock"


def test_settings_choose_the_store(redis_prefix):
    assert isinstance(store_from_settings({}.get), MemoryStore)
    chosen = store_from_settings({"RP_REDIS_URL": REDIS_URL, "RP_REDIS_KEY_PREFIX": redis_prefix}.get)
    try:
        assert isinstance(chosen, RedisStore) and chosen.redis_key("a", "b").startswith(redis_prefix)
    finally:
        chosen.close()
    default = store_from_settings({"RP_REDIS_URL": REDIS_URL}.get)
    assert default.redis_key("a", "b").startswith("rp:")
    default.close()
