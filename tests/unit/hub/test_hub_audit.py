"""Audit events: JSON lines, the fixed event names, and no personal data."""

from __future__ import annotations

import io
import json
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest

from federation.loa import LevelOfAssurance as LoA
from hub import audit

ARCHITECTURE_EVENTS = {
    "session_started",
    "idp_selected",
    "idp_authn_succeeded",
    "no_authn_context",
    "idp_authn_failed",
    "idp_authn_pending",
    "fraud_detected",
    "requester_error",
    "cycle01_match",
    "cycle01_no_match",
    "waiting_for_cycle3_attributes",
    "cycle3_match",
    "cycle3_no_match",
    "cycle3_input_cancelled",
    "user_account_created",
    "user_account_creation_failed",
    "session_timeout",
}


@pytest.fixture
def sink():
    stream = io.StringIO()
    audit.configure_audit(stream)
    yield stream
    audit.configure_audit(None)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# Beyond the architecture's list: the citizen declined to share their details with the service (the
# release page), a drop-out at the journey's last step that the completion reports must see; the hub
# answered the service (with the status it was sent), the completion reports' last stage; the journey
# moved to another device (after the first device confirmed), which fraud monitoring may want to watch.
OWN_EVENTS = frozenset({"release_declined", "returned_to_service", "journey_moved"})


def test_event_names_are_exactly_the_architectures_and_ours():
    assert audit.EVENTS == ARCHITECTURE_EVENTS | OWN_EVENTS


def test_writes_one_json_line_with_the_journey_facts(sink):
    pid = audit.pid_hash("https://idp-a", "idp-pid-123")
    audit.emit(
        "idp_authn_succeeded",
        session_id="secret-session-id",
        rp_entity_id="https://rp",
        idp_entity_id="https://idp-a",
        levels=[LoA.LEVEL_1, LoA.LEVEL_2],
        pid_hash=pid,
        extra={"status": "success"},
    )
    (record,) = lines(sink)
    assert record["event"] == "idp_authn_succeeded"
    assert record["rp"] == "https://rp" and record["idp"] == "https://idp-a"
    assert record["levels"] == ["LEVEL_1", "LEVEL_2"]
    assert record["pid_hash"] == pid
    assert record["extra"] == {"status": "success"}
    assert record["session_ref"] == audit.session_ref("secret-session-id")
    assert "secret-session-id" not in sink.getvalue()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"])
    written = datetime.fromisoformat(record["time"].replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - written) < timedelta(seconds=5)


def test_single_level_and_no_optional_fields(sink):
    audit.emit("session_started", session_id="s", levels=LoA.LEVEL_2)
    audit.emit("session_timeout", session_id="s")
    first, second = lines(sink)
    assert first["levels"] == ["LEVEL_2"]
    assert second["levels"] is None and second["idp"] is None and "extra" not in second


def test_every_architecture_event_is_accepted(sink):
    for name in sorted(ARCHITECTURE_EVENTS):
        audit.emit(name, session_id="s")
    assert [record["event"] for record in lines(sink)] == sorted(ARCHITECTURE_EVENTS)


@pytest.mark.parametrize("name", ["", "login", "SESSION_STARTED", "session-started", "cycle3_match "])
def test_unknown_events_are_refused(sink, name):
    with pytest.raises(ValueError):
        audit.emit(name, session_id="s")
    assert sink.getvalue() == ""


@pytest.mark.parametrize(
    "key",
    ["first_name", "surname", "date_of_birth", "dob", "address", "postcode", "pid", "nino", "MDS_firstname", "gender"],
)
def test_personal_data_keys_are_refused(sink, key):
    with pytest.raises(ValueError, match="personal data"):
        audit.emit("cycle01_match", session_id="s", extra={key: "x"})
    assert sink.getvalue() == ""


@pytest.mark.parametrize("key", ["colour", "user", "anything_else"])
def test_keys_off_the_allow_list_are_refused(sink, key):
    with pytest.raises(ValueError, match="not allowed"):
        audit.emit("cycle01_match", session_id="s", extra={key: "x"})


def test_extra_values_are_small_scalars(sink):
    with pytest.raises(ValueError):
        audit.emit("cycle01_match", session_id="s", extra={"reason": "x" * 201})
    with pytest.raises(ValueError):
        audit.emit("cycle01_match", session_id="s", extra={"reason": {"first_name": "x"}})
    audit.emit("cycle01_match", session_id="s", extra={"reason": "no-match", "status": None})
    assert lines(sink)[0]["extra"] == {"reason": "no-match", "status": None}


@pytest.mark.parametrize("value", ["idp-pid-123", "AB" * 32, "0" * 63, "g" * 64])
def test_raw_pids_are_refused(sink, value):
    with pytest.raises(ValueError):
        audit.emit("idp_authn_succeeded", session_id="s", pid_hash=value)


def test_pid_hash_is_sha256_of_idp_and_pid():
    import hashlib

    assert audit.pid_hash("https://idp", "pid") == hashlib.sha256(b"https://idppid").hexdigest()


def test_levels_must_be_levels(sink):
    with pytest.raises(ValueError):
        audit.emit("session_started", session_id="s", levels=["LEVEL_2"])


def test_session_id_is_required(sink):
    with pytest.raises(ValueError):
        audit.emit("session_started", session_id="")


def test_writes_to_a_file_and_appends(tmp_path):
    path = tmp_path / "audit.jsonl"
    try:
        audit.configure_audit(path)
        audit.emit("session_started", session_id="one")
        audit.configure_audit(str(path))
        audit.emit("idp_selected", session_id="one", idp_entity_id="https://idp")
    finally:
        audit.configure_audit(None)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["event"] for r in records] == ["session_started", "idp_selected"]


def test_defaults_to_stderr(capsys):
    audit.configure_audit(None)
    audit.emit("session_started", session_id="s")
    assert json.loads(capsys.readouterr().err)["event"] == "session_started"


def test_concurrent_writes_keep_lines_whole(sink):
    def burst(n: int) -> None:
        for i in range(200):
            audit.emit("cycle3_match", session_id=f"s{n}-{i}", rp_entity_id="https://rp" * 20)

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = lines(sink)
    assert len(records) == 1600
    assert all(record["event"] == "cycle3_match" for record in records)


def test_configure_refuses_other_things():
    with pytest.raises(TypeError):
        audit.configure_audit(42)  # type: ignore[arg-type]
