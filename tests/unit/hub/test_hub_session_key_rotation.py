"""The hub's session key rotated while two hub processes' codecs run on the real Redis store: a session
written before each step still reads after it, until the old key is retired.

Two codecs on one key file stand for two hub processes; each looks at the file on its own clock, as two
processes would, so the test shows why a new key decrypts everywhere before it encrypts anywhere.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from federation.loa import LevelOfAssurance as LoA
from hub.policy.states import Session, State, start_session
from hub.services import _session_codec
from hub.store import SessionCodec, SessionRepository
from hub.store.redis import RedisStore
from hub.store.session_keys import SessionKeyFile, SessionKeyFileError, add, main, promote, read_keys, retire
from tests.support.hand_clock import HandClock

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
LIFETIME = timedelta(minutes=90)


@pytest.fixture
def redis_store() -> Iterator[RedisStore]:
    try:
        with redis.Redis.from_url(REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5) as client:
            client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis answers at {REDIS_URL}: start one with `make redis`")
    prefix = f"test-{uuid.uuid4().hex}:"
    store = RedisStore(REDIS_URL, key_prefix=prefix)
    yield store
    keys = list(store.client.scan_iter(match=f"{prefix}*"))
    if keys:
        store.client.delete(*keys)
    store.close()


def a_session(state: State = State.IDP_SELECTED) -> Session:
    session = start_session(
        rp_entity_id="https://rp.example",
        authn_request_id=f"_rp-{uuid.uuid4().hex}",
        relay_state=None,
        acs_url="https://rp.example/acs",
        accepted_levels=(LoA.LEVEL_2,),
        force_authn=False,
        idp_shortlist=("https://idp-a",),
        now=NOW,
    )
    return dataclasses.replace(session, state=state, selected_idp_entity_id="https://idp-a")


def hub_process(store: RedisStore, key_file: Path, clock: HandClock) -> SessionRepository:
    return SessionRepository(store, SessionCodec(key_file=SessionKeyFile(key_file, clock=clock)), LIFETIME)


def test_sessions_survive_each_step_of_a_rotation_on_redis(redis_store: RedisStore, tmp_path: Path) -> None:
    key_file = tmp_path / "session-keys"
    add(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    clock_a, clock_b = HandClock(), HandClock()
    hub_a, hub_b = hub_process(redis_store, key_file, clock_a), hub_process(redis_store, key_file, clock_b)
    before = a_session()
    hub_a.put(before, now=NOW)

    add(key_file)  # the new key decrypts only: a process that has read it and one that has not agree
    clock_a.now = 2.0
    during = a_session()
    hub_a.put(during, now=NOW)
    assert hub_b.get(during.session_id, NOW) == during  # hub B has not looked at the file yet

    promote(key_file)
    clock_a.now = clock_b.now = 4.0
    after = a_session()
    hub_a.put(after, now=NOW)
    raw = redis_store.load(after.session_id)
    old_key, new_key = read_keys(key_file)[1], read_keys(key_file)[0]
    assert SessionCodec(new_key).decode(after.session_id, raw) == after
    with pytest.raises(Exception, match="authenticate"):
        SessionCodec(old_key).decode(after.session_id, raw)  # written under the promoted key
    for session in (before, during, after):  # both keys decrypt, in both processes
        assert hub_a.get(session.session_id, NOW) == session
        assert hub_b.get(session.session_id, NOW) == session

    retire(key_file)
    clock_a.now = clock_b.now = 6.0
    assert hub_b.get(after.session_id, NOW) == after
    assert hub_b.get(before.session_id, NOW) is None  # under the retired key: the journey starts again
    assert read_keys(key_file) == (new_key,)


def test_a_broken_key_file_keeps_the_keys_read_before(tmp_path: Path) -> None:
    key_file = tmp_path / "session-keys"
    add(key_file)
    clock = HandClock()
    codec = SessionCodec(key_file=SessionKeyFile(key_file, clock=clock))
    session = a_session()
    blob = codec.encode(session)
    key_file.write_text("not a key\n")
    clock.now = 10.0
    assert codec.decode(session.session_id, blob) == session
    with pytest.raises(SessionKeyFileError, match="line 1: a key must be 64 hex digits"):
        SessionKeyFile(key_file)


def test_the_steps_refuse_what_makes_no_sense(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "session-keys"
    assert main(["promote", str(key_file)]) == 1
    assert main(["add", str(key_file)]) == 0
    assert main(["retire", str(key_file)]) == 1
    assert "one key only" in capsys.readouterr().err
    assert main(["add", str(key_file)]) == 0 and main(["promote", str(key_file)]) == 0
    assert main(["retire", str(key_file)]) == 0
    assert len(read_keys(key_file)) == 1


class _Runtime:
    def __init__(self, **settings: str) -> None:
        self.settings = settings

    def setting(self, name: str, default: str | None = None) -> str | None:
        return self.settings.get(name, default)


def test_the_hub_reads_its_keys_from_the_file_the_setting_names(tmp_path: Path) -> None:
    key_file = tmp_path / "session-keys"
    add(key_file)
    codec = _session_codec(_Runtime(HUB_SESSION_KEY_FILE=str(key_file)))
    session = a_session()
    assert SessionCodec(read_keys(key_file)[0]).decode(session.session_id, codec.encode(session)) == session
    with pytest.raises(ValueError, match="not both"):
        _session_codec(_Runtime(HUB_SESSION_KEY_FILE=str(key_file), HUB_SESSION_KEY="00" * 32))
