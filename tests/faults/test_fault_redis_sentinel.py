"""The hub's store on Redis Sentinel: the primary dies mid-journey, Sentinel promotes the replica, and the
journey goes on.

Debian's redis-server twice (a primary and its replica, free ports, their own folders) and redis-sentinel
(quorum 1, down after 1 s, failover timeout 3 s), and a real federation whose hub has only
`REDIS_SENTINELS` and `REDIS_SENTINEL_MASTER`. The guarantee under test is the one docs/operations.md
gives: Redis replicates asynchronously, so a failover keeps every write the replica had received before the
primary died. The test makes that explicit: after the hub has written the session, it writes a marker of
its own to the primary and waits (`WAIT 1`) until the replica has it; replication is one ordered stream,
so the hub's earlier writes are there too. Then it kills the primary.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from federation.launcher import free_port
from tests.e2e.journey import IDP_TWO, at_idp_headless, choose, expected_hashed_pid, return_to_service, start_at_service
from tests.faults.faults_support import PrivateRedis, health, log_text, running_federation, shared_hub_env, wait_for

pytestmark = pytest.mark.e2e

MASTER = "hub-primary"


class PrivateSentinel:
    """A redis-sentinel of the test's own, watching one primary; it rewrites its own config file."""

    def __init__(self, directory: Path, primary_port: int) -> None:
        self.port = free_port()
        self.config = directory / "sentinel.conf"
        self.config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndaemonize no\ndir {directory}\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {primary_port} 1\n"
            f"sentinel down-after-milliseconds {MASTER} 1000\n"
            f"sentinel failover-timeout {MASTER} 3000\n"
            f"sentinel parallel-syncs {MASTER} 1\n",
            encoding="ascii",
        )
        self.process = subprocess.Popen(
            ["redis-sentinel", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1, decode_responses=True)

    def primary_port(self) -> int | None:
        """The primary's port once Sentinel would hand it to a client: `get-master-addr-by-name` names the
        promoted replica a moment before `SENTINEL MASTERS` (what redis-py's Sentinel client reads) stops
        flagging it, and a client asking in that moment is told there is no primary."""
        try:
            state = self.client.sentinel_masters().get(MASTER)
        except redis.RedisError:
            return None
        if not state or not state["is_master"] or state["is_sdown"] or state["is_odown"]:
            return None
        return int(state["port"])

    def knows_replica(self, port: int) -> bool:
        try:
            replicas = self.client.sentinel_slaves(MASTER)
        except redis.RedisError:
            return False
        return any(int(replica["port"]) == port for replica in replicas)

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture(scope="module")
def sentinel_set(tmp_path_factory) -> Iterator[tuple[PrivateRedis, PrivateRedis, PrivateSentinel]]:
    for tool in ("redis-server", "redis-sentinel"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (make test-packages installs it)")
    primary = PrivateRedis(tmp_path_factory.mktemp("primary"))
    primary.start()
    replica = PrivateRedis(tmp_path_factory.mktemp("replica"), "--replicaof", "127.0.0.1", str(primary.port))
    replica.start()
    sentinel = PrivateSentinel(tmp_path_factory.mktemp("sentinel"), primary.port)
    try:
        assert wait_for(lambda: sentinel.knows_replica(replica.port), timeout=30, interval=0.2), "no replica seen"
        yield primary, replica, sentinel
    finally:
        sentinel.stop()
        replica.kill()
        primary.kill()


@pytest.fixture(scope="module")
def federation(sentinel_set, keys_dir, tmp_path_factory):
    _, _, sentinel = sentinel_set
    env = {"REDIS_SENTINELS": f"127.0.0.1:{sentinel.port}", "REDIS_SENTINEL_MASTER": MASTER, **shared_hub_env()}
    with running_federation(tmp_path_factory.mktemp("sentinel"), keys_dir, **env) as running:
        yield running


def test_the_journey_goes_on_after_a_failover(federation, sentinel_set, browser):
    primary, replica, sentinel = sentinel_set
    hub = federation.url("hub")
    assert health(hub) == {"status": "ok"}
    page = start_at_service(browser, federation)  # the session is written, through Sentinel, to the primary
    page = browser.submit(page, page.form(), {"verified_before": "yes"})
    assert "choose-a-certified-company" in page.url, (page.url, page.heading)
    with redis.Redis.from_url(primary.url) as direct:
        assert any(key.startswith(b"hub:session:") for key in direct.scan_iter())
        direct.set("test:replicated-up-to-here", b"1")
        assert direct.wait(1, 5000) == 1  # the replica has this write, and so every write before it

    primary.kill()
    assert wait_for(lambda: sentinel.primary_port() == replica.port, timeout=30, interval=0.2), "no failover"
    with redis.Redis.from_url(replica.url) as promoted:
        assert wait_for(lambda: promoted.info("replication")["role"] == "master", timeout=10)

    # the same journey, on the promoted replica: the session written before the kill is there
    to_idp = choose(browser, page, IDP_TWO)
    assert to_idp.status == 200, (to_idp.status, to_idp.heading)
    result = at_idp_headless(browser, to_idp, "alice")
    page = return_to_service(browser, result)
    assert "signed in" in page.text.lower(), page.heading
    assert expected_hashed_pid("stub-idp-two", "alice") in page.text
    assert health(hub) == {"status": "ok"}
    hub_log = log_text(federation, "hub")
    assert "store unavailable" not in hub_log  # the stale connection's error was retried on the new primary
    assert "Traceback" not in hub_log


def test_new_journeys_after_the_failover_use_the_new_primary(federation, sentinel_set, browser):
    _, replica, sentinel = sentinel_set
    assert wait_for(lambda: sentinel.primary_port() == replica.port, timeout=30, interval=0.2)
    before = time.monotonic()
    page = start_at_service(browser, federation)
    assert page.status == 200 and time.monotonic() - before < 10
    with redis.Redis.from_url(replica.url) as promoted:
        assert any(key.startswith(b"hub:session:") for key in promoted.scan_iter(count=1000))
