"""A retry is not a replay: `claim` and `settle` of the project's replay cache, in process and in a real Redis.

The same ID with the same fingerprint is the sender's retry (it gets the settled answer, or the binding of
whoever had it); the same ID with another fingerprint, or an ID recorded by `add_if_absent`, is a replay.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from federation.replay_cache import MemoryReplayCache, RedisReplayCache, RetryAwareReplayCache
from tests.support.hand_clock import HandClock

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_answers() -> bool:
    try:
        with redis.Redis.from_url(REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["memory", "redis"])
def cache(request) -> Iterator[RetryAwareReplayCache]:
    if request.param == "memory":
        yield MemoryReplayCache()
        return
    if not _redis_answers():
        pytest.skip(f"no Redis answers at {REDIS_URL}: start one with `make redis`")
    prefix = f"test-retry-{uuid.uuid4().hex}:"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        yield RedisReplayCache(client, key_prefix=prefix)
    finally:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()


def test_first_claim_records_the_message_and_its_binding(cache):
    first = cache.claim("ns", "_id1", "digest-a", 60, binding="journey-1")
    assert first.first and not first.is_replay and first.binding == "journey-1"


def test_the_same_message_again_is_a_retry_with_the_first_binding(cache):
    cache.claim("ns", "_id1", "digest-a", 60, binding="journey-1")
    again = cache.claim("ns", "_id1", "digest-a", 60, binding="journey-2")
    assert not again.first and again.same_message and not again.is_replay
    assert again.binding == "journey-1", "the binding is whoever consumed the ID first"
    assert again.answer is None, "nothing settled yet"


def test_another_message_with_the_same_id_is_a_replay(cache):
    cache.claim("ns", "_id1", "digest-a", 60)
    other = cache.claim("ns", "_id1", "digest-b", 60)
    assert other.is_replay and other.answer is None and other.binding == ""


def test_an_id_recorded_by_add_if_absent_is_a_replay_for_claim(cache):
    assert cache.add_if_absent("ns", "_id1", 60)
    assert cache.claim("ns", "_id1", "digest-a", 60).is_replay


def test_a_settled_answer_goes_to_the_same_message_only(cache):
    cache.claim("ns", "_id1", "digest-a", 60, binding="j")
    assert cache.settle("ns", "_id1", "digest-a", answer=b"<answer \x00 bytes/>")
    retry = cache.claim("ns", "_id1", "digest-a", 60)
    assert retry.answer == b"<answer \x00 bytes/>" and retry.binding == "j"
    assert not cache.settle("ns", "_id1", "digest-b", answer=b"forged"), "another message cannot overwrite it"
    assert cache.claim("ns", "_id1", "digest-b", 60).answer is None
    assert cache.claim("ns", "_id1", "digest-a", 60).answer == b"<answer \x00 bytes/>"


def test_settle_rebinds_and_keeps_the_answer(cache):
    cache.claim("ns", "_id1", "digest-a", 60, binding="old")
    cache.settle("ns", "_id1", "digest-a", answer=b"x")
    assert cache.settle("ns", "_id1", "digest-a", binding="new")
    seen = cache.claim("ns", "_id1", "digest-a", 60)
    assert seen.binding == "new" and seen.answer == b"x"


def test_settle_of_an_unknown_id_does_nothing(cache):
    assert not cache.settle("ns", "_never", "digest-a", answer=b"x")
    assert cache.claim("ns", "_never", "digest-a", 60).first


def test_memory_claims_expire_with_their_ttl():
    clock = HandClock(1000.0)
    cache = MemoryReplayCache(clock=clock)
    cache.claim("ns", "_id1", "digest-a", 10)
    cache.settle("ns", "_id1", "digest-a", answer=b"x")
    clock.now += 11
    assert cache.claim("ns", "_id1", "digest-b", 10).first, "expired: a new message may use the ID"
    assert len(cache) == 1


def test_redis_settle_keeps_the_expiry():
    if not _redis_answers():
        pytest.skip("no Redis")
    prefix = f"test-retry-{uuid.uuid4().hex}:"
    with redis.Redis.from_url(REDIS_URL) as client:
        cache = RedisReplayCache(client, key_prefix=prefix)
        cache.claim("ns", "_id1", "digest-a", 30)
        cache.settle("ns", "_id1", "digest-a", answer=b"x")
        assert 0 < client.ttl(cache.key("ns", "_id1")) <= 30
        client.delete(cache.key("ns", "_id1"))


def test_settle_keeps_every_byte_of_the_answer_and_a_binding_of_any_characters(cache):
    answer = bytes(range(256)) * 3  # its base64 has "/" and "+", which Redis's cjson writes escaped
    binding = 'a/b+c "quoted" \\ é'
    cache.claim("ns", "_id1", "digest-a", 60, binding="first")
    assert cache.settle("ns", "_id1", "digest-a", answer=answer)
    assert cache.settle("ns", "_id1", "digest-a", binding=binding)
    seen = cache.claim("ns", "_id1", "digest-a", 60)
    assert seen.same_message and seen.answer == answer and seen.binding == binding


def test_settle_of_an_id_recorded_by_add_if_absent_does_nothing(cache):
    assert cache.add_if_absent("ns", "_id2", 60)
    assert not cache.settle("ns", "_id2", "digest-a", answer=b"x")
    assert cache.claim("ns", "_id2", "digest-a", 60).is_replay
