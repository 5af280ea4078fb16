"""The in-process store: TTL expiry, replay detection, thread safety, interface conformance."""

from __future__ import annotations

import threading

import pytest

from hub.store import MemoryStore, ReplayCache, SessionStore
from tests.support.hand_clock import HandClock


@pytest.fixture
def clock() -> HandClock:
    return HandClock(1000.0)


@pytest.fixture
def store(clock) -> MemoryStore:
    return MemoryStore(clock=clock)


def test_implements_both_interfaces(store):
    assert isinstance(store, SessionStore)
    assert isinstance(store, ReplayCache)


def test_save_load_delete(store):
    assert store.load("s1") is None
    store.save("s1", b"blob-1", 60)
    assert store.load("s1") == b"blob-1"
    store.save("s1", b"blob-2", 60)
    assert store.load("s1") == b"blob-2"
    store.delete("s1")
    assert store.load("s1") is None
    store.delete("s1")  # deleting twice is fine


def test_sessions_expire_after_their_ttl(store, clock):
    store.save("s1", b"blob", 60)
    clock.now += 59.9
    assert store.load("s1") == b"blob"
    clock.now += 0.1
    assert store.load("s1") is None


def test_saving_again_renews_the_ttl(store, clock):
    store.save("s1", b"blob", 60)
    clock.now += 50
    store.save("s1", b"blob", 60)
    clock.now += 50
    assert store.load("s1") == b"blob"


def test_add_if_absent_detects_replays_until_expiry(store, clock):
    assert store.add_if_absent("assertion-id", "_abc", 300) is True
    assert store.add_if_absent("assertion-id", "_abc", 300) is False
    assert store.add_if_absent("request-id", "_abc", 300) is True, "namespaces are separate"
    clock.now += 300
    assert store.add_if_absent("assertion-id", "_abc", 300) is True


def test_namespaces_cannot_be_confused_by_separators(store):
    assert store.add_if_absent("a:b", "c", 60) is True
    assert store.add_if_absent("a", "b:c", 60) is True


def test_replay_keys_and_sessions_do_not_collide(store):
    store.save("_abc", b"blob", 60)
    assert store.add_if_absent("", "_abc", 60) is True
    assert store.load("_abc") == b"blob"


@pytest.mark.parametrize("ttl", [0, -1, 1.5, "60", True, None])
def test_bad_ttls_are_refused(store, ttl):
    with pytest.raises(ValueError):
        store.save("s", b"b", ttl)
    with pytest.raises(ValueError):
        store.add_if_absent("n", "k", ttl)


def test_expired_entries_are_swept(clock):
    store = MemoryStore(clock=clock, sweep_every=10)
    for n in range(9):
        store.add_if_absent("ids", f"k{n}", 5)
    clock.now += 10
    assert store.entry_count() == 9  # nobody has touched them yet
    store.add_if_absent("ids", "fresh", 5)  # the tenth write sweeps
    assert store.entry_count() == 1


def test_add_if_absent_is_atomic_across_threads():
    store = MemoryStore()
    winners: list[int] = []
    barrier = threading.Barrier(16)

    def race(n: int) -> None:
        barrier.wait()
        if store.add_if_absent("assertion-id", "_same", 60):
            winners.append(n)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1


def test_uses_the_monotonic_clock_by_default():
    store = MemoryStore()
    store.save("s", b"b", 1)
    assert store.load("s") == b"b"
