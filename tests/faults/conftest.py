"""Fault tests: the four real services on free ports while a dependency fails under them.

Each module starts the federation it needs (its own var directory, its own logs) and stops every process
it started, the private redis-servers included. The machine's Redis on 6379 is only ever shared under a
key prefix unique to the test, never stopped or flushed.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.faults.faults_support import SHARED_REDIS_URL, PrivateRedis, redis_answers
from tests.support.browser_client import BrowserClient


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory) -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (make system-packages installs it)")
    server = PrivateRedis(tmp_path_factory.mktemp("private-redis"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="module")
def shared_redis_prefix() -> Iterator[str]:
    """A key prefix on the shared Redis of this module's own; its keys are deleted afterwards."""
    if not redis_answers(SHARED_REDIS_URL):
        pytest.skip(f"no Redis answers at {SHARED_REDIS_URL}: start one with `make redis`")
    prefix = f"test-faults-{uuid.uuid4().hex}:"
    yield prefix
    with redis.Redis.from_url(SHARED_REDIS_URL) as client:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)


@pytest.fixture
def browser() -> Iterator[BrowserClient]:
    client = BrowserClient()
    yield client
    client.http.close()
