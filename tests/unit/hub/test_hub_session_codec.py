"""Sessions at rest: AES-256-GCM round trip, tamper detection, session-ID binding; the repository."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from federation.identity import Address, MatchingDataset, MdsValue
from federation.loa import LevelOfAssurance as LoA
from hub.policy.states import JourneyKind, MatchingIdentity, Release, Session, State, new_session_id, start_session
from hub.policy.suitability import CitizenHas
from hub.store import MemoryStore, SessionCodec, SessionCorrupt, SessionRepository
from hub.store.crypto import session_to_dict
from tests.support.hand_clock import HandClock

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
KEY = bytes(range(32))


def a_session(**changes) -> Session:
    session = start_session(
        rp_entity_id="https://rp.example",
        authn_request_id="_rp-1",
        relay_state="relay",
        acs_url="https://rp.example/acs",
        accepted_levels=(LoA.LEVEL_1, LoA.LEVEL_2),
        force_authn=True,
        idp_shortlist=("https://idp-b", "https://idp-a"),
        now=NOW,
    )
    return dataclasses.replace(session, **changes)


def rich_session() -> Session:
    return a_session(
        state=State.CYCLE_0_AND_1_MATCH_REQUEST_SENT,
        selected_idp_entity_id="https://idp-a",
        idp_level=LoA.LEVEL_2,
        pid_hash="0f" * 32,
        matching_request_id="_aq-1",
        journey_kind=JourneyKind.REGISTRATION,
        problem="loa_too_low",
        matching_identity=MatchingIdentity("pid-Llanfair\u0175"),
        cycle3_value="AB 12 34 56 C",
        release=Release(
            pid="pid-Llanfair\u0175",
            authn_instant=NOW,
            identity=MatchingDataset(
                first_names=(MdsValue("Siân", verified=True, from_date=date(1980, 1, 2)),),
                surnames=(MdsValue("Llanfair\u0175", verified=True),),
                date_of_birth=MdsValue(date(1980, 1, 2), verified=True),
                current_address=Address(("1 High St", "Cardiff"), postcode="CF10 1AA", verified=True),
            ),
        ),
        service_assertions_held=True,
        timeout_audited=True,
        citizen_has=CitizenHas(frozenset({"uk_passport", "non_uk_passport"}), frozenset(), True),
    )


@pytest.mark.parametrize(
    "session",
    [
        a_session(),
        rich_session(),
        a_session(relay_state=None),
        a_session(citizen_has=CitizenHas(documents=None, phones=frozenset({"mobile"}), uk_address=None)),
    ],
)
def test_round_trip(session):
    codec = SessionCodec(KEY)
    assert codec.decode(session.session_id, codec.encode(session)) == session


def test_blob_is_encrypted_and_fresh_each_time():
    codec, session = SessionCodec(KEY), rich_session()
    one, two = codec.encode(session), codec.encode(session)
    assert one != two, "a random nonce per encryption"
    for secret in (b"base64-blob", b"relay", b"https://rp.example", session.session_id.encode()):
        assert secret not in one


def test_every_single_bit_flip_is_detected():
    codec, session = SessionCodec(KEY), rich_session()
    blob = codec.encode(session)
    for index in range(len(blob)):
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        with pytest.raises(SessionCorrupt):
            codec.decode(session.session_id, bytes(tampered))


@pytest.mark.parametrize("blob", [b"", b"\x01", b"\x01" + b"\x00" * 27, b"\x02" + os.urandom(60)])
def test_garbage_is_corrupt(blob):
    with pytest.raises(SessionCorrupt):
        SessionCodec(KEY).decode("sid", blob)


def test_a_blob_cannot_be_moved_to_another_session_id():
    codec, session = SessionCodec(KEY), a_session()
    blob = codec.encode(session)
    with pytest.raises(SessionCorrupt):
        codec.decode("another-session-id", blob)


def test_another_key_cannot_read_it():
    blob = SessionCodec(KEY).encode(a_session())
    with pytest.raises(SessionCorrupt):
        SessionCodec(os.urandom(32)).decode(a_session().session_id, blob)


def test_previous_keys_decrypt_during_rotation_and_new_blobs_use_the_new_key():
    old_key, new_key = os.urandom(32), os.urandom(32)
    session = a_session()
    old_blob = SessionCodec(old_key).encode(session)
    rotating = SessionCodec(new_key, previous_keys=[old_key])
    assert rotating.decode(session.session_id, old_blob) == session
    assert SessionCodec(new_key).decode(session.session_id, rotating.encode(session)) == session


@pytest.mark.parametrize("key", [b"", b"short", bytes(16), bytes(33), "a" * 32])
def test_only_256_bit_keys(key):
    with pytest.raises(ValueError):
        SessionCodec(key)


def test_authentic_blob_with_a_bad_payload_is_corrupt():
    """Defence in depth: even a correctly keyed blob must hold a well-formed session."""
    session = a_session()
    aad = b"hub-session\x00\x01" + session.session_id.encode()
    nonce = os.urandom(12)
    payload = json.dumps({"session_id": session.session_id, "state": "NOT_A_STATE"}).encode()
    blob = b"\x01" + nonce + AESGCM(KEY).encrypt(nonce, payload, aad)
    with pytest.raises(SessionCorrupt):
        SessionCodec(KEY).decode(session.session_id, blob)


def test_a_session_stored_before_assertions_were_held_beside_it_still_reads():
    """A journey under way when the hub was upgraded, before its company answered, goes on."""
    session = a_session()
    raw = session_to_dict(session)
    del raw["service_assertions_held"]
    raw["service_assertions"] = []  # the field sessions had then
    aad = b"hub-session\x00\x01" + session.session_id.encode()
    nonce = os.urandom(12)
    blob = b"\x01" + nonce + AESGCM(KEY).encrypt(nonce, json.dumps(raw).encode(), aad)
    assert SessionCodec(KEY).decode(session.session_id, blob) == session


# The keys the release before held assertions beside the session read from every session (and the shape of
# the two it read differently): the fields a session stores now that it had then.
PREVIOUS_RELEASE_KEYS = {
    "session_id", "journey_id", "state", "rp_entity_id", "authn_request_id", "relay_state", "acs_url",
    "accepted_levels", "force_authn", "idp_shortlist", "started_at", "expires_at", "selected_idp_entity_id",
    "hub_request_id", "idp_level", "pid_hash", "matching_request_id", "journey_kind", "problem",
    "matching_identity", "cycle3_value", "release", "service_assertions", "timeout_audited",
}  # fmt: skip


def test_a_journey_saved_before_its_company_answers_reads_in_the_release_before():
    """While both releases run (a rolling deploy), a journey saved by this one goes on in a process of the
    release before, up to its company's answer (from there on the assertions are held beside the session,
    which that release does not know, and it treats the journey as unknown)."""
    raw = session_to_dict(a_session())
    assert PREVIOUS_RELEASE_KEYS <= raw.keys()
    assert raw["service_assertions"] == [] and raw["matching_identity"] is None


# ------------------------------------------------------------------------------------------- repository


@pytest.fixture
def clock():
    return HandClock()


@pytest.fixture
def repo(clock):
    return SessionRepository(MemoryStore(clock=clock), SessionCodec(KEY), timedelta(minutes=90))


def test_repository_put_get_end(repo):
    session = rich_session()
    repo.put(session, now=NOW)
    assert repo.get(session.session_id, NOW + timedelta(minutes=1)) == session
    repo.end(session.session_id)
    assert repo.get(session.session_id, NOW) is None
    assert repo.get("never-existed", NOW) is None


def test_repository_stores_ciphertext(repo):
    session = rich_session()
    repo.put(session, now=NOW)
    blob = repo.store.load(session.session_id)
    assert b"base64-blob" not in blob


def test_repository_returns_expired_sessions_as_timeout_without_personal_data(repo):
    session = rich_session()
    repo.put(session, now=NOW)
    late = repo.get(session.session_id, session.expires_at + timedelta(minutes=1))
    assert late.state is State.TIMEOUT
    assert not late.holds_personal_data
    assert late.matching_identity is None and late.release is None and late.cycle3_value is None


def test_repository_ttl_is_remaining_lifetime_plus_grace(repo, clock):
    session = a_session()
    repo.put(session, now=NOW + timedelta(minutes=30))  # 60 minutes left, 15 grace
    clock.now += 75 * 60 - 1
    assert repo.store.load(session.session_id) is not None
    clock.now += 1
    assert repo.store.load(session.session_id) is None


def test_repository_treats_a_tampered_session_as_unknown_and_never_deletes(repo):
    session = a_session()
    repo.put(session, now=NOW)
    blob = bytearray(repo.store.load(session.session_id))
    blob[-1] ^= 0xFF
    repo.store.save(session.session_id, bytes(blob), 60)
    assert repo.get(session.session_id, NOW) is None
    assert repo.store.load(session.session_id) == bytes(blob)


def test_a_blob_copied_to_another_session_id_is_refused(repo):
    victim = a_session()
    repo.put(victim, now=NOW)
    attacker = new_session_id()
    repo.store.save(attacker, repo.store.load(victim.session_id), 60)
    with pytest.raises(SessionCorrupt):
        repo.codec.decode(attacker, repo.store.load(attacker))
    assert repo.get(attacker, NOW) is None


@pytest.mark.parametrize(
    "cookie", ["idp-request:_abc", "", "x" * 43 + "!", "a" * 44, "../session", "session:" + "a" * 35, "\n" * 43]
)
def test_a_value_that_is_not_a_session_id_is_unknown_and_touches_nothing(repo, cookie):
    repo.store.save(cookie or "empty", b"something else entirely", 60)
    repo.store.put("idp-request", "_abc", b"a-session-id", 60)
    assert repo.get(cookie, NOW) is None
    assert repo.store.load(cookie or "empty") == b"something else entirely"
    assert repo.store.get("idp-request", "_abc") == b"a-session-id"


def test_renew_moves_the_journey_to_a_new_id_and_the_old_one_stops_working(repo):
    session = a_session()
    repo.put(session, now=NOW)
    renewed = repo.renew(session, now=NOW)
    assert renewed.session_id != session.session_id
    assert repo.get(session.session_id, NOW) is None
    assert repo.get(renewed.session_id, NOW) == renewed
    assert renewed.journey_id == session.journey_id  # audit events of one journey still join up


def test_repository_validates_its_settings():
    with pytest.raises(ValueError):
        SessionRepository(MemoryStore(), SessionCodec(KEY), timedelta(0))
