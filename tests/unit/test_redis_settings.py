"""Redis settings (federation.redis_client) and the project's replay cache (federation.replay_cache): which
settings reach which client, which mistakes stop a process before it serves, and the replay cache on a
real Redis (127.0.0.1:6379, under a key prefix of the test's own, deleted afterwards)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis
from redis.sentinel import SentinelConnectionPool

from federation.redis_client import (
    RedisSettings,
    RedisSettingsError,
    redis_client,
    redis_from_url,
    redis_settings,
)
from federation.replay_cache import (
    MemoryReplayCache,
    RedisReplayCache,
    ReplayCache,
    StoreUnavailable,
    replay_cache_from_settings,
)
from federation.runtime import Runtime
from federation.urls import redacted_url
from hub.services import build_services
from hub.store.redis import RedisStore

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def settings(**values: str):
    return lambda name: values.get(name)


def test_nothing_set_means_in_process() -> None:
    assert redis_settings(settings()) == RedisSettings()
    assert not RedisSettings().configured
    assert isinstance(replay_cache_from_settings(settings(), settings_prefix="MS_", key_prefix="x:"), MemoryReplayCache)


def test_a_url() -> None:
    read = redis_settings(settings(REDIS_URL="rediss://user:secret@redis.internal:6380/2"))
    assert read.url == "rediss://user:secret@redis.internal:6380/2" and read.configured
    assert read.describe() == "rediss://redis.internal:6380/2"


def test_sentinels_reach_a_sentinel_managed_client() -> None:
    read = redis_settings(
        settings(
            REDIS_SENTINELS=" sentinel-a:26379, [::1]:26380 ,",
            REDIS_SENTINEL_MASTER="hub-primary",
            REDIS_PASSWORD="data-secret",
            REDIS_SENTINEL_PASSWORD="sentinel-secret",
        )
    )
    assert read.sentinels == (("sentinel-a", 26379), ("::1", 26380))
    assert (read.sentinel_master, read.password, read.sentinel_password) == (
        "hub-primary",
        "data-secret",
        "sentinel-secret",
    )
    assert read.describe() == "sentinel://sentinel-a:26379,[::1]:26380/hub-primary"
    client = redis_client(read)  # builds without connecting
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool) and pool.service_name == "hub-primary"
    assert pool.connection_kwargs["password"] == "data-secret"
    assert pool.connection_kwargs["retry"].get_retries() == 1  # once, after re-asking the Sentinels
    sentinel_kwargs = pool.sentinel_manager.sentinel_kwargs
    assert sentinel_kwargs["password"] == "sentinel-secret"
    client.close()


def test_the_matching_service_reads_its_own_prefixed_settings() -> None:
    read = redis_settings(
        settings(MATCHING_SERVICE_REDIS_SENTINELS="s:1", MATCHING_SERVICE_REDIS_SENTINEL_MASTER="ms"),
        "MATCHING_SERVICE_",
    )
    assert read.sentinels == (("s", 1),) and read.sentinel_master == "ms"
    assert not redis_settings(settings(REDIS_URL=REDIS_URL), "MATCHING_SERVICE_").configured  # the hub's: not ours


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"REDIS_URL": "redis://a", "REDIS_SENTINELS": "b:1"}, "REDIS_URL or REDIS_SENTINELS, not both"),
        ({"REDIS_SENTINELS": "b:1"}, "REDIS_SENTINEL_MASTER must name the primary"),
        ({"REDIS_SENTINELS": "b", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS: expected host:port"),
        ({"REDIS_SENTINELS": "b:99999", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS: expected host:port"),
        ({"REDIS_SENTINELS": " , ", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS: no Sentinel address"),
        ({"REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINEL_MASTER is only read with REDIS_SENTINELS"),
        ({"REDIS_URL": "redis://a", "REDIS_PASSWORD": "p"}, "REDIS_PASSWORD is only read with REDIS_SENTINELS"),
        ({"REDIS_URL": "http://user:pw@a"}, "REDIS_URL: expected a redis://"),
    ],
)
def test_mistakes_name_the_setting_and_never_a_password(values: dict[str, str], named: str) -> None:
    with pytest.raises(RedisSettingsError, match=named) as caught:
        redis_settings(settings(**values))
    assert "pw" not in str(caught.value) and "'p'" not in str(caught.value)


def test_redacted_url_drops_credentials_and_query() -> None:
    assert redacted_url("redis://u:p@h:1/0?password=p") == "redis://h:1/0"
    assert redacted_url("postgresql://u:p@[::1]:5432/db?password=p") == "postgresql://[::1]:5432/db"
    assert redacted_url("unix:///run/redis.sock") == "unix:///run/redis.sock"


def test_the_hub_refuses_sentinels_without_its_shared_keys(federation_config, keys_dir, tmp_path) -> None:
    environ = {"REDIS_SENTINELS": "127.0.0.1:1", "REDIS_SENTINEL_MASTER": "m"}
    runtime = Runtime(config=federation_config, keys_dir=keys_dir, var_dir=tmp_path, environ=environ)
    with pytest.raises(ValueError, match="REDIS_SENTINELS is set, so every hub process must share HUB_SESSION_KEY"):
        build_services(runtime)


def test_the_hub_builds_its_store_on_the_sentinel_primary(federation_config, keys_dir, tmp_path) -> None:
    environ = {
        "REDIS_SENTINELS": "127.0.0.1:1",
        "REDIS_SENTINEL_MASTER": "hub-primary",
        "HUB_SESSION_KEY": "ab" * 32,
        "HUB_SECRET": "cd" * 32,
        "HUB_REDIS_PREFIX": "hub-test:",
    }
    runtime = Runtime(config=federation_config, keys_dir=keys_dir, var_dir=tmp_path, environ=environ)
    services = build_services(runtime)  # nothing is contacted until the first request
    assert isinstance(services.store, RedisStore) and services.store.key_prefix == "hub-test:"
    assert services.store.client.connection_pool.service_name == "hub-primary"
    with pytest.raises(StoreUnavailable):  # no Sentinel at 127.0.0.1:1: the hub fails closed
        services.replay.add_if_absent("n", "k", 10)


# --------------------------------------------------------------------------------- on a real Redis


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis answers at {REDIS_URL}: start one with `make redis`")
    prefix = f"test-replay-{uuid.uuid4().hex}:"
    client.test_prefix = prefix  # type: ignore[attr-defined]
    yield client
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_two_replay_caches_on_one_redis_refuse_each_others_ids(client: redis.Redis) -> None:
    prefix = client.test_prefix  # type: ignore[attr-defined]
    environ = settings(MATCHING_SERVICE_REDIS_URL=REDIS_URL)
    one = replay_cache_from_settings(environ, settings_prefix="MATCHING_SERVICE_", key_prefix=prefix)
    two = replay_cache_from_settings(environ, settings_prefix="MATCHING_SERVICE_", key_prefix=prefix)
    assert isinstance(one, RedisReplayCache) and isinstance(one, ReplayCache)
    assert one.add_if_absent("attribute-query", "_q1", 60) is True
    assert two.add_if_absent("attribute-query", "_q1", 60) is False
    assert two.add_if_absent("other", "_q1", 60) is True
    key = one.key("attribute-query", "_q1")
    assert "_q1" not in key and key.startswith(prefix + "replay:attribute-query:")  # hashed, never raw
    assert 55 <= client.ttl(key) <= 60


def test_an_unreachable_redis_fails_closed() -> None:
    cache = RedisReplayCache(redis_from_url("redis://127.0.0.1:1/0", socket_timeout=0.2), key_prefix="x:")
    with pytest.raises(StoreUnavailable, match="ConnectionError"):
        cache.add_if_absent("n", "k", 10)
