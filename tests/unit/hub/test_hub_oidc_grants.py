"""Codes, access tokens and login sessions in the hub's store (in process and in Redis): single use, a replay
revokes the token a code gave, identity served once, nothing stored under a bearer value or in clear."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import redis

from hub.frontends.oidc import grants
from hub.store.crypto import SessionCodec
from hub.store.memory import MemoryStore
from hub.store.redis import RedisStore

REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class _Config:
    session_lifetime: timedelta = timedelta(minutes=90)


@dataclass
class _Sessions:
    codec: SessionCodec


@dataclass
class FakeHub:
    """The three things grants use of HubServices: the store, the codec that seals, the session lifetime."""

    store: MemoryStore | RedisStore
    sessions: _Sessions
    config: _Config


@pytest.fixture(params=["memory", "redis"])
def hub(request) -> Iterator[FakeHub]:
    if request.param == "memory":
        store = MemoryStore()
    else:
        try:
            with redis.Redis.from_url(REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5) as client:
                client.ping()
        except redis.RedisError:
            pytest.skip(f"no Redis answers at {REDIS_URL}: start one with `make redis`")
        store = RedisStore(REDIS_URL, key_prefix=f"test-{uuid.uuid4().hex}:")
    yield FakeHub(store, _Sessions(SessionCodec(bytes(range(32)))), _Config())
    if isinstance(store, RedisStore):
        store.close()


def grant(**changes) -> grants.Grant:
    values = dict(
        client_id="c", redirect_uri="https://rp.example/cb", code_challenge="x" * 43, nonce="n", sid="s",
        sub="sub-1", vot="Cl.Cm.P2", auth_time=1, claims={"verified_claims": {"claims": {"given_name": "Alice"}}},
        identity_jwt={"vot": "P2"},
    )  # fmt: skip
    values.update(changes)
    return grants.Grant(**values)


def test_a_code_is_redeemed_once_and_a_replay_revokes_its_token(hub):
    code = grants.issue_code(hub, grant())
    first = grants.redeem_code(hub, code)
    assert first.grant == grant() and not first.replayed
    token = grants.issue_access_token(hub, first.grant, code)
    replay = grants.redeem_code(hub, code)
    assert replay.grant is None and replay.replayed
    assert grants.token_grant(hub, token) is None  # revoked
    assert grants.redeem_code(hub, "never-issued") == grants.Redemption(None)


def test_identity_is_served_once_then_the_token_names_the_citizen_only(hub):
    code = grants.issue_code(hub, grant())
    token = grants.issue_access_token(hub, grants.redeem_code(hub, code).grant, code)
    assert grants.token_grant(hub, token).claims["verified_claims"]["claims"] == {"given_name": "Alice"}
    again = grants.token_grant(hub, token)
    assert again.sub == "sub-1" and again.claims == {} and again.identity_jwt is None


def test_the_store_holds_no_bearer_value_and_no_identity_in_clear(hub):
    code = grants.issue_code(hub, grant())
    assert hub.store.get(grants.CODES, code) is None  # keyed by the code's digest, not the code
    blob = hub.store.get(grants.CODES, grants._digest(code))
    assert blob is not None and b"Alice" not in blob and b"sub-1" not in blob


def test_login_sessions_collect_clients_and_end_once(hub):
    sid = grants.add_login(hub, None, "a", "sub-a")
    assert grants.add_login(hub, sid, "b", "sub-b") == sid
    assert grants.add_login(hub, "unknown-sid", "c", "sub-c") != "unknown-sid"  # never a session by its name
    assert grants.end_login(hub, sid) == (grants.SignedIn("a", "sub-a"), grants.SignedIn("b", "sub-b"))
    assert grants.end_login(hub, sid) == ()
