"""The Redis store against a real Redis: the store contract (shared with MemoryStore), real TTLs, replay
detection across instances and processes, hashed keys, sessions over Redis, failure and recovery.

Uses the Redis on 127.0.0.1:6379 (`make redis` starts one) under a key prefix unique to this run, and for
the failure tests a second redis-server of its own on a free port: the machine's Redis is never stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from federation.loa import LevelOfAssurance as LoA
from hub.policy.states import Session, State, start_session
from hub.store import MemoryStore, ReplayCache, SessionCodec, SessionRepository, SessionStore
from hub.store.base import StoreUnavailable
from hub.store.redis import RedisStore, redacted

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REPO_DIR = Path(__file__).resolve().parents[3]
KEY = bytes(range(32))
NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def _redis_answers(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def raw() -> Iterator[redis.Redis]:
    """A plain client on the shared Redis, to look behind the store (keys, TTLs)."""
    if not _redis_answers(REDIS_URL):
        pytest.skip(f"no Redis answers at {REDIS_URL}: start one with `make redis`")
    client = redis.Redis.from_url(REDIS_URL)
    yield client
    client.close()


@pytest.fixture
def prefix(raw: redis.Redis) -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    value = f"test-{uuid.uuid4().hex}:"
    yield value
    keys = list(raw.scan_iter(match=f"{value}*", count=1000))
    if keys:
        raw.delete(*keys)


@pytest.fixture
def redis_store(prefix: str) -> Iterator[RedisStore]:
    store = RedisStore(REDIS_URL, key_prefix=prefix)
    yield store
    store.close()


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One item per send to Redis from now on (a pipeline is one send): the round trips a step costs."""
    sends: list[int] = []
    send = redis.connection.Connection.send_packed_command
    monkeypatch.setattr(
        redis.connection.Connection,
        "send_packed_command",
        lambda self, *a, **k: (sends.append(1), send(self, *a, **k))[1],
    )
    return sends


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest):
    """The contract every store must keep: each test below runs against both."""
    if request.param == "memory":
        return MemoryStore()
    return request.getfixturevalue("redis_store")


def a_session(**changes) -> Session:
    session = start_session(
        rp_entity_id="https://rp.example",
        authn_request_id="_rp-1",
        relay_state="relay",
        acs_url="https://rp.example/acs",
        accepted_levels=(LoA.LEVEL_1, LoA.LEVEL_2),
        force_authn=False,
        idp_shortlist=("https://idp-a",),
        now=NOW,
    )
    return dataclasses.replace(session, **changes)


# ---------------------------------------------------------------------------------------------- contract


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


def test_get_many_reads_entries_in_the_order_asked(store):
    store.put("ns", "a", b"\x00first", 60)
    store.put("ns", "c", b"third", 60)
    store.put("other", "b", b"not this namespace", 60)
    assert store.get_many("ns", ["c", "b", "a"]) == [b"third", None, b"\x00first"]
    assert store.get_many("ns", []) == []


def test_get_many_is_one_round_trip_on_redis(redis_store, sent):
    redis_store.put("ns", "a", b"first", 60)
    sent.clear()
    assert redis_store.get_many("ns", ["a", "b", "c"]) == [b"first", None, None]
    assert len(sent) == 1


def test_binary_blobs_come_back_byte_for_byte(store):
    blob = bytes(range(256)) + b"\x00\r\n$*"
    store.save("s1", blob, 60)
    assert store.load("s1") == blob


def test_add_if_absent_detects_replays(store):
    assert store.add_if_absent("assertion-id", "_abc", 300) is True
    assert store.add_if_absent("assertion-id", "_abc", 300) is False
    assert store.add_if_absent("request-id", "_abc", 300) is True, "namespaces are separate"


def test_namespaces_cannot_be_confused_by_separators(store):
    assert store.add_if_absent("a:b", "c", 60) is True
    assert store.add_if_absent("a", "b:c", 60) is True
    assert store.add_if_absent("", "a:b:c", 60) is True


def test_replay_keys_and_sessions_do_not_collide(store):
    store.save("_abc", b"blob", 60)
    assert store.add_if_absent("", "_abc", 60) is True
    assert store.add_if_absent("session", "_abc", 60) is True
    assert store.load("_abc") == b"blob"


@pytest.mark.parametrize("ttl", [0, -1, 1.5, "60", True, None])
def test_bad_ttls_are_refused(store, ttl):
    with pytest.raises(ValueError):
        store.save("s", b"b", ttl)
    with pytest.raises(ValueError):
        store.add_if_absent("n", "k", ttl)
    assert store.load("s") is None


def test_add_if_absent_is_atomic_across_threads(store):
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


@pytest.mark.parametrize("session_id", ["", "x" * 10_000, "\u0175\U0001f600", "a b\r\nSET evil 1", "*"])
def test_hostile_ids_are_just_ids(store, session_id):
    store.save(session_id, b"blob", 60)
    assert store.load(session_id) == b"blob"
    assert store.add_if_absent(session_id, session_id, 60) is True
    assert store.add_if_absent(session_id, session_id, 60) is False
    store.delete(session_id)
    assert store.load(session_id) is None


def test_repository_round_trip(store):
    repo = SessionRepository(store, SessionCodec(KEY), timedelta(minutes=90))
    session = a_session(state=State.IDP_SELECTED, selected_idp_entity_id="https://idp-a", problem="cancelled")
    repo.put(session, now=NOW)
    assert repo.get(session.session_id, NOW + timedelta(minutes=1)) == session
    repo.end(session.session_id)
    assert repo.get(session.session_id, NOW) is None


# ------------------------------------------------------------------------------------------- Redis only


def test_sessions_really_expire(redis_store):
    redis_store.save("short", b"blob", 1)
    redis_store.save("long", b"blob", 60)
    assert redis_store.load("short") == b"blob"
    time.sleep(1.2)
    assert redis_store.load("short") is None
    assert redis_store.load("long") == b"blob"


def test_replay_keys_really_expire(redis_store):
    assert redis_store.add_if_absent("assertion", "_a", 1) is True
    assert redis_store.add_if_absent("assertion", "_a", 1) is False
    time.sleep(1.2)
    assert redis_store.add_if_absent("assertion", "_a", 1) is True


def test_ttls_are_set_in_redis_and_renewed_by_save(redis_store, raw):
    redis_store.save("s1", b"blob", 60)
    key = redis_store.session_key("s1")
    assert 59_000 < raw.pttl(key) <= 60_000
    redis_store.save("s1", b"blob", 3600)
    assert 3_599_000 < raw.pttl(key) <= 3_600_000
    redis_store.add_if_absent("n", "k", 300)
    assert 299_000 < raw.pttl(redis_store.replay_key("n", "k")) <= 300_000


def test_a_replay_does_not_extend_the_first_ttl(redis_store, raw):
    redis_store.add_if_absent("n", "k", 60)
    assert redis_store.add_if_absent("n", "k", 3600) is False
    assert raw.pttl(redis_store.replay_key("n", "k")) <= 60_000


def test_keys_are_namespaced_and_hashed(redis_store, raw, prefix):
    attacker_id = "_attacker-chosen:id*"
    redis_store.save(attacker_id, b"blob", 60)
    redis_store.add_if_absent("assertion", attacker_id, 60)
    digest = hashlib.sha256(attacker_id.encode()).hexdigest()
    keys = sorted(key.decode() for key in raw.scan_iter(match=f"{prefix}*"))
    assert keys == sorted([f"{prefix}session:{digest}", f"{prefix}replay:assertion:{digest}"])
    assert raw.get(f"{prefix}session:{digest}") == b"blob"
    assert not any(attacker_id in key for key in keys)


def test_the_store_holds_only_ciphertext(redis_store, raw, prefix):
    repo = SessionRepository(redis_store, SessionCodec(KEY), timedelta(minutes=90))
    session = a_session(cycle3_value="do-not-store-in-clear", pid_hash="0f" * 32)
    repo.put(session, now=NOW)
    (key,) = raw.scan_iter(match=f"{prefix}*")
    blob = raw.get(key)
    for clear in (b"do-not-store-in-clear", b"https://rp.example", session.session_id.encode(), b"0f0f0f"):
        assert clear not in blob and clear not in key
    assert SessionCodec(KEY).decode(session.session_id, blob) == session


def test_repository_ttl_is_lifetime_plus_grace(redis_store, raw):
    repo = SessionRepository(redis_store, SessionCodec(KEY), timedelta(minutes=90), grace=timedelta(minutes=15))
    session = a_session()
    repo.put(session, now=NOW + timedelta(minutes=30))  # 60 minutes left, 15 grace
    ttl = raw.pttl(redis_store.session_key(session.session_id))
    assert 75 * 60_000 - 2_000 < ttl <= 75 * 60_000


def test_repository_treats_a_tampered_session_as_unknown_and_leaves_it(redis_store):
    """A read never deletes: whatever a cookie names, looking it up changes nothing in the store."""
    repo = SessionRepository(redis_store, SessionCodec(KEY), timedelta(minutes=90))
    session = a_session()
    repo.put(session, now=NOW)
    blob = bytearray(redis_store.load(session.session_id))
    blob[-1] ^= 0xFF
    redis_store.save(session.session_id, bytes(blob), 60)
    assert repo.get(session.session_id, NOW) is None
    assert redis_store.load(session.session_id) == bytes(blob)


def test_two_instances_share_sessions_and_replays(prefix):
    one, two = RedisStore(REDIS_URL, key_prefix=prefix), RedisStore(REDIS_URL, key_prefix=prefix)
    try:
        codec = SessionCodec(KEY)
        repo_one = SessionRepository(one, codec, timedelta(minutes=90))
        repo_two = SessionRepository(two, SessionCodec(KEY), timedelta(minutes=90))
        session = a_session()
        repo_one.put(session, now=NOW)
        assert repo_two.get(session.session_id, NOW) == session
        moved = dataclasses.replace(session, selected_idp_entity_id="https://idp-a")
        repo_two.put(moved, now=NOW)
        assert repo_one.get(session.session_id, NOW) == moved

        assert one.add_if_absent("assertion", "_x", 60) is True
        assert two.add_if_absent("assertion", "_x", 60) is False
        assert two.add_if_absent("assertion", "_y", 60) is True
        assert one.add_if_absent("assertion", "_y", 60) is False
        repo_two.end(session.session_id)
        assert repo_one.get(session.session_id, NOW) is None
    finally:
        one.close()
        two.close()


def test_add_if_absent_has_one_winner_across_instances(prefix):
    stores = [RedisStore(REDIS_URL, key_prefix=prefix) for _ in range(4)]
    winners: list[int] = []
    barrier = threading.Barrier(32)

    def race(n: int) -> None:
        barrier.wait()
        if stores[n % len(stores)].add_if_absent("assertion", "_same", 60):
            winners.append(n)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert len(winners) == 1


def test_another_process_sees_the_same_journey(redis_store, prefix):
    """A second hub process (a real one) reads the session and sees the replay this process recorded."""
    repo = SessionRepository(redis_store, SessionCodec(KEY), timedelta(minutes=90))
    session = a_session()
    repo.put(session, now=NOW)
    assert redis_store.add_if_absent("assertion", "_seen-here", 60) is True
    code = f"""
from datetime import timedelta, datetime
from hub.store import SessionCodec, SessionRepository
from hub.store.redis import RedisStore
store = RedisStore({REDIS_URL!r}, key_prefix={prefix!r})
repo = SessionRepository(store, SessionCodec({KEY!r}), timedelta(minutes=90))
session = repo.get({session.session_id!r}, datetime.fromisoformat({NOW.isoformat()!r}))
print(session.rp_entity_id, session.state.value)
print(store.add_if_absent("assertion", "_seen-here", 60), store.add_if_absent("assertion", "_new-there", 60))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_DIR, capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.split("\n")[:2] == [f"https://rp.example {session.state.value}", "False True"]
    assert redis_store.add_if_absent("assertion", "_new-there", 60) is False


def test_from_client_wraps_a_client_built_elsewhere(prefix):
    client = redis.Redis.from_url(REDIS_URL)
    store = RedisStore.from_client(client, key_prefix=prefix)
    store.save("s", b"blob", 60)
    other = RedisStore(REDIS_URL, key_prefix=prefix)
    assert other.load("s") == b"blob"
    other.close()
    client.close()


def test_a_client_that_decodes_responses_is_refused(prefix):
    store = RedisStore(REDIS_URL, key_prefix=prefix, decode_responses=True)
    store.save("s", b"blob", 60)
    with pytest.raises(StoreUnavailable):
        store.load("s")
    store.close()


def test_empty_prefix_is_refused():
    with pytest.raises(ValueError):
        RedisStore(REDIS_URL, key_prefix="")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://user:s3cret@cache.example:6380/2", "redis://cache.example:6380/2"),
        ("rediss://:s3cret@cache.example/0", "rediss://cache.example/0"),
        ("unix:///run/redis/redis.sock?db=0", "unix:///run/redis/redis.sock"),
    ],
)
def test_urls_of_every_scheme_are_accepted_and_never_show_the_password(url, shown):
    store = RedisStore(url)  # connects lazily: nothing is contacted here
    assert redacted(url) == shown
    assert "s3cret" not in repr(store)
    assert shown in repr(store)


def test_unix_socket_to_nowhere_is_unavailable(tmp_path):
    store = RedisStore(f"unix://{tmp_path}/no-redis.sock")
    with pytest.raises(StoreUnavailable):
        store.load("s")


def test_wrong_password_is_unavailable(prefix):
    url = REDIS_URL.replace("redis://", "redis://nobody:wrong@", 1)
    store = RedisStore(url, key_prefix=prefix)
    with pytest.raises(StoreUnavailable) as caught:
        store.save("s", b"blob", 60)
    assert "wrong" not in str(caught.value)


# ------------------------------------------------------------------------------ failure and recovery


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SecondRedis:
    """A redis-server of the test's own, which it may kill, pause and restart on the same port."""

    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(self.directory)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _redis_answers(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def second_redis(tmp_path: Path) -> Iterator[SecondRedis]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (make system-packages installs it)")
    server = SecondRedis(tmp_path)
    server.start()
    yield server
    server.kill()


def _assert_every_operation_unavailable(store: RedisStore, limit_seconds: float) -> None:
    operations = [
        lambda: store.save("s", b"blob", 60),
        lambda: store.load("s"),
        lambda: store.delete("s"),
        lambda: store.add_if_absent("assertion", "_z", 60),
        store.ping,
    ]
    for operation in operations:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as caught:
            operation()
        assert time.monotonic() - started < limit_seconds, "one short attempt, no retry storm"
        assert str(caught.value).startswith("redis ")
        assert isinstance(caught.value.__cause__, (redis.RedisError, OSError))


def test_redis_down_is_unavailable_and_the_store_recovers_when_it_returns(second_redis):
    store = RedisStore(second_redis.url, key_prefix="hub:")
    store.save("before", b"blob", 60)
    assert store.add_if_absent("assertion", "_a", 60) is True

    second_redis.kill()
    _assert_every_operation_unavailable(store, limit_seconds=1.0)

    second_redis.start()  # same port, empty (no persistence)
    assert store.load("before") is None
    store.save("after", b"blob", 60)
    assert store.load("after") == b"blob"
    assert store.add_if_absent("assertion", "_a", 60) is True
    assert store.add_if_absent("assertion", "_a", 60) is False
    store.close()


def test_a_hung_redis_times_out_as_unavailable_and_recovers(second_redis):
    store = RedisStore(second_redis.url, key_prefix="hub:", socket_timeout=0.3)
    store.save("s", b"blob", 60)
    second_redis.pause()  # the kernel still accepts connections; nothing answers
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as caught:
            store.load("s")
        assert 0.25 < time.monotonic() - started < 1.5, "fails after socket_timeout, once"
        assert isinstance(caught.value.__cause__, redis.TimeoutError)
        with pytest.raises(StoreUnavailable):
            store.add_if_absent("assertion", "_b", 60)
    finally:
        second_redis.resume()
    assert store.load("s") == b"blob"
    store.close()


def test_repository_surfaces_store_unavailable(second_redis):
    store = RedisStore(second_redis.url, key_prefix="hub:")
    repo = SessionRepository(store, SessionCodec(KEY), timedelta(minutes=90))
    session = a_session()
    repo.put(session, now=NOW)
    second_redis.kill()
    with pytest.raises(StoreUnavailable):
        repo.get(session.session_id, NOW)
    with pytest.raises(StoreUnavailable):
        repo.put(session, now=NOW)
    with pytest.raises(StoreUnavailable):
        repo.end(session.session_id)
    store.close()


# ------------------------------------------------------------------------------------------ wiring


def test_build_services_uses_redis_when_redis_url_is_set(keys_dir, federation_config, tmp_path, raw):
    from federation.runtime import Runtime
    from hub.services import SharedStoreSettingsMissing, build_services

    with pytest.raises(SharedStoreSettingsMissing):
        build_services(Runtime(federation_config, keys_dir, tmp_path, environ={"REDIS_URL": REDIS_URL}))
    shared = {"HUB_SESSION_KEY": "11" * 32, "HUB_SECRET": "22" * 32}
    runtime = Runtime(federation_config, keys_dir, tmp_path, environ={"REDIS_URL": REDIS_URL, **shared})
    services = build_services(runtime)
    assert isinstance(services.store, RedisStore) and services.replay is services.store
    assert services.sessions.store is services.store
    default = build_services(Runtime(federation_config, keys_dir, tmp_path, environ={}))
    assert isinstance(default.store, MemoryStore)
    services.store.close()


def test_queued_writes_apply_in_order_when_the_block_ends(store):
    store.claim("authn-request", "rp _r1", "digest-a", 60, binding="unsaved")
    with store.writes() as writes:
        writes.save("s1", b"first", 60)
        writes.put("idp-answer", "k1", b"parked", 60)
        writes.save("s1", b"second", 60)  # the later write to the same key wins, as when sent one by one
        writes.settle("authn-request", "rp _r1", "digest-a", binding="saved")
        writes.settle("authn-request", "rp _r1", "digest-b", binding="forged")  # another message: ignored
        assert store.load("s1") is None, "nothing is sent before the block ends"
    assert store.load("s1") == b"second" and store.get("idp-answer", "k1") == b"parked"
    assert store.claim("authn-request", "rp _r1", "digest-a", 60).binding == "saved"


def test_queued_writes_are_not_sent_when_the_block_raises(store):
    with pytest.raises(RuntimeError), store.writes() as writes:
        writes.save("s2", b"never", 60)
        raise RuntimeError("the step failed before its writes")
    assert store.load("s2") is None


def test_queued_writes_go_to_redis_in_one_round_trip(redis_store, sent):
    redis_store.claim("authn-request", "rp _r3", "digest-a", 60)
    sent.clear()
    with redis_store.writes() as writes:
        writes.save("s3", b"blob", 60)
        writes.put("idp-answer", "k3", b"parked", 60)
        writes.settle("authn-request", "rp _r3", "digest-a", binding="saved")
    assert len(sent) == 1, "the three writes in one send"
    assert redis_store.load("s3") == b"blob" and redis_store.get("idp-answer", "k3") == b"parked"


def test_queued_writes_delete_a_session_in_order(store):
    store.save("old", b"before", 60)
    with store.writes() as writes:
        writes.save("new", b"renewed", 60)
        writes.delete("old")
        assert store.load("old") == b"before", "nothing is deleted before the block ends"
    assert store.load("new") == b"renewed" and store.load("old") is None


def test_lock_and_load_reads_the_session_only_for_the_holder(store):
    store.save("s4", b"journey", 60)
    token, blob, beside = store.lock_and_load("journey", "s4", 60, "s4")
    assert token is not None and blob == b"journey" and beside is None
    assert store.lock_and_load("journey", "s4", 60, "s4") == (None, None, None), "held: no lock and no session"
    store.unlock("journey", "s4", token)
    token, blob, _ = store.lock_and_load("journey", "s4", 60, "s4")
    assert token is not None and blob == b"journey"
    store.unlock("journey", "s4", token)
    token, blob, _ = store.lock_and_load("journey", "gone", 60, "gone")
    assert token is not None and blob is None, "the lock is had even when the session is absent"


def test_lock_and_load_reads_the_entry_asked_for_beside_the_session(store):
    store.save("s6", b"journey", 60)
    store.put("held", "s6", b"assertions", 60)
    store.put("held", "other", b"not these", 60)
    token, blob, beside = store.lock_and_load("journey", "s6", 60, "s6", entry="held")
    assert (blob, beside) == (b"journey", b"assertions"), "the entry under the session's own ID"
    assert store.lock_and_load("journey", "s6", 60, "s6", entry="held") == (None, None, None)
    store.unlock("journey", "s6", token)


def test_lock_and_load_is_one_round_trip_on_redis(redis_store, sent):
    redis_store.save("s5", b"journey", 60)
    redis_store.put("held", "s5", b"assertions", 60)
    sent.clear()
    token, blob, beside = redis_store.lock_and_load("journey", "s5", 60, "s5", entry="held")
    assert len(sent) == 1 and token is not None and (blob, beside) == (b"journey", b"assertions")


def test_load_with_reads_the_session_and_its_entry(store):
    store.save("s7", b"journey", 60)
    store.put("held", "s7", b"assertions", 60)
    assert store.load_with("s7", "held") == (b"journey", b"assertions")
    assert store.load_with("s7", "other") == (b"journey", None)
    assert store.load_with("gone", "held") == (None, None)


def test_load_with_is_one_round_trip_on_redis(redis_store, sent):
    redis_store.save("s8", b"journey", 60)
    sent.clear()
    assert redis_store.load_with("s8", "held") == (b"journey", None)
    assert len(sent) == 1


def test_touch_sets_a_new_ttl_and_never_brings_an_entry_back(redis_store, raw):
    redis_store.put("held", "t1", b"x", 60)
    with redis_store.writes() as writes:
        writes.touch("held", "t1", 500)
        writes.touch("held", "absent", 500)
    assert 490 < raw.ttl(redis_store.entry_key("held", "t1")) <= 500
    assert redis_store.get("held", "absent") is None


def test_queued_touch_remove_and_unlock_apply_in_order(store):
    store.put("held", "a", b"kept", 60)
    store.put("held", "b", b"dropped", 60)
    token = store.try_lock("journey", "j", 60)
    with store.writes() as writes:
        writes.touch("held", "a", 120)
        writes.remove("held", "b")
        writes.unlock("journey", "j", token)
        assert store.try_lock("journey", "j", 60) is None, "still held until the block ends"
    assert store.get("held", "a") == b"kept" and store.get("held", "b") is None
    assert store.try_lock("journey", "j", 60) is not None, "released with the writes"


def test_memory_touch_extends_an_entry_and_leaves_an_expired_one_gone():
    now = [0.0]
    store = MemoryStore(clock=lambda: now[0])
    store.put("held", "a", b"x", 10)
    store.put("held", "b", b"y", 10)
    now[0] = 9.0
    store.touch("held", "a", 100)
    now[0] = 11.0
    store.touch("held", "b", 100)
    assert store.get("held", "a") == b"x" and store.get("held", "b") is None
