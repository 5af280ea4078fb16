"""The example service built from the demo federation, reading metadata signed in the test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from rp_support import REDIS_URL, Parties, parties

from federation.metadata import MetadataSource
from federation.runtime import Runtime
from relying_party_example.app import create_app


@pytest.fixture(scope="session")
def fed(keys_dir, federation_config) -> Parties:
    return parties(keys_dir, federation_config)


@pytest.fixture(scope="module")
def metadata(fed) -> MetadataSource:
    """The federation metadata as the client library reads it (signed in the test, never fetched)."""
    return MetadataSource.for_config(fed.config, fetch=lambda url, timeout: fed.metadata)


@pytest.fixture(scope="module")
def app(fed, keys_dir, federation_config, tmp_path_factory):
    """One app per module (templates compile once); each test gets its own browser (`client`)."""
    runtime = Runtime(
        config=federation_config,
        keys_dir=keys_dir,
        var_dir=tmp_path_factory.mktemp("rp-var"),
        environ={"RP_SECRET_KEY": "test-secret"},
    )
    app = create_app(runtime, metadata_fetch=lambda url, timeout: fed.metadata)
    yield app
    app.extensions["relying_party_example"]["metadata"].stop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def raw_redis() -> Iterator[redis.Redis]:
    """A plain client on the machine's Redis, to look behind the store (skips when none answers)."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        client.close()
        pytest.skip(f"no Redis answers at {REDIS_URL}: start one with `make redis`")
    yield client
    client.close()


@pytest.fixture
def redis_prefix(raw_redis: redis.Redis) -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    value = f"test-rp-{uuid.uuid4().hex}:"
    yield value
    keys = list(raw_redis.scan_iter(match=f"{value}*", count=1000))
    if keys:
        raw_redis.delete(*keys)
