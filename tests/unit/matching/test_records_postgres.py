"""The PostgreSQL backend's own promises: concurrent processes on one database, errors that quote nothing,
connections that recover. On the machine's PostgreSQL, in a schema of each test's own."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import requests

from federation.launcher import free_port
from federation.runtime import Runtime
from matching_service.local_matcher_app import create_app
from matching_service.records import PostgresRecordStore, RecordStoreError, open_record_store
from matching_service.records_schema import LATEST_VERSION, schema_version
from tests.support.postgres import private_schema

REPO = Path(__file__).resolve().parents[3]
DEMO_RECORDS = REPO / "matching_service" / "demo" / "records.csv"
ROUNDS = 40


@pytest.fixture
def url() -> Iterator[str]:
    with private_schema() as location:
        yield location


@pytest.fixture
def store(url: str) -> Iterator[PostgresRecordStore]:
    store = open_record_store(url)
    assert isinstance(store, PostgresRecordStore)
    store.import_csv(DEMO_RECORDS)
    yield store
    store.close()


# --- two processes, one database ----------------------------------------------------------------------------


def _link_each(url: str, record_id: str, barrier, results) -> None:
    """One process: link each round's hashed PID to `record_id`, every round started with the other process."""
    store = open_record_store(url)
    outcome = []
    for n in range(ROUNDS):
        barrier.wait(timeout=30)
        try:
            store.link(f"{n:064x}", record_id, "LEVEL_2")
            outcome.append("linked")
        except RecordStoreError as exc:
            outcome.append(str(exc))
    store.close()
    results[record_id] = outcome


def test_two_processes_linking_one_hashed_pid_to_different_records_get_one_winner(
    store: PostgresRecordStore, url: str
) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier, results = manager.Barrier(2), manager.dict()
        processes = [
            context.Process(target=_link_each, args=(url, record_id, barrier, results))
            for record_id in ("D-1001", "D-1002")
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(60)
        assert [p.exitcode for p in processes] == [0, 0]
        outcomes = dict(results)
    for n in range(ROUNDS):
        pair = sorted(outcomes[record_id][n] for record_id in ("D-1001", "D-1002"))
        assert pair == ["hashed PID is already linked to another record", "linked"], (n, pair)
        winner = "D-1001" if outcomes["D-1001"][n] == "linked" else "D-1002"
        assert store.record_for_hashed_pid(f"{n:064x}") == winner


def test_the_refusal_is_the_databases_own(store: PostgresRecordStore, url: str) -> None:
    """Not a check in our code: the primary key refuses a second link whoever writes it."""
    store.link("e" * 64, "D-1001", "LEVEL_2")
    with psycopg.connect(url) as connection, pytest.raises(psycopg.errors.UniqueViolation):
        connection.execute(
            "INSERT INTO pid_links (hashed_pid, record_id, level_of_assurance, created_at)"
            " VALUES (%s, 'D-1002', 'LEVEL_2', now())",
            ("e" * 64,),
        )


def _serve_local_matcher(url: str, token: str, var_dir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "MATCHING_SERVICE_DB": url,
        "LOCAL_MATCHING_TOKEN": token,
        "VAR_DIR": str(var_dir),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "federation.serve", "local_matcher", "--port", str(port)],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if requests.get(base + "/healthcheck", timeout=1).status_code == 200:
                return process, base
        except requests.RequestException:
            pass
        if process.poll() is not None:
            break
        threading.Event().wait(0.1)
    process.kill()
    raise AssertionError(f"the local matcher did not start:\n{process.communicate()[0]}")


def test_two_local_matcher_processes_on_one_database(
    store: PostgresRecordStore, url: str, tmp_path: Path, users_by_name, make_match_body, local_matching_token
) -> None:
    """A citizen matched by one process is a cycle 0 match at the other; and the same hashed PID matched
    to two different records at once by the two processes is linked to one record only."""
    servers = [_serve_local_matcher(url, local_matching_token, tmp_path / f"var-{n}") for n in (1, 2)]
    headers = {"Authorization": f"Bearer {local_matching_token}"}
    try:
        (_, one), (_, two) = servers
        alice, tom = users_by_name["alice"], users_by_name["tom"]  # each matches a record of their own

        def ask(base: str, body: dict) -> str:
            answer = requests.post(base + "/local-matching/match", json=body, headers=headers, timeout=10)
            assert answer.status_code == 200, answer.text
            return answer.json()["result"]

        assert ask(one, make_match_body(alice)) == "match"
        linked = store.record_for_hashed_pid(make_match_body(alice)["hashedPid"])
        assert linked is not None
        moved = make_match_body(tom)
        moved["hashedPid"] = make_match_body(alice)["hashedPid"]  # alice's PID with tom's dataset
        assert ask(two, moved) == "match"  # cycle 0: the link the other process made
        assert store.record_for_hashed_pid(moved["hashedPid"]) == linked

        for n in range(10):  # a fresh hashed PID each round, posted to both at once with two datasets
            pid = f"{n + 100:064x}"
            bodies = [{**make_match_body(alice), "hashedPid": pid}, {**make_match_body(tom), "hashedPid": pid}]
            barrier, answers = threading.Barrier(2), [None, None]

            def post(i: int, bodies=bodies, barrier=barrier, answers=answers) -> None:
                barrier.wait(timeout=10)
                answers[i] = ask((one, two)[i], bodies[i])

            threads = [threading.Thread(target=post, args=(i,)) for i in (0, 1)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert "match" in answers, answers
            with psycopg.connect(url) as connection:
                rows = connection.execute("SELECT record_id FROM pid_links WHERE hashed_pid = %s", (pid,)).fetchall()
            assert len(rows) == 1  # one link, whichever process won
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(10)


# --- errors and connections ----------------------------------------------------------------------------------


def test_driver_errors_never_quote_a_value(store: PostgresRecordStore) -> None:
    with pytest.raises(RecordStoreError) as caught, store.backend.transaction() as cursor:
        cursor.execute("SELECT CAST(? AS date)", ("Alice Evans",))  # psycopg would say: ... "Alice Evans"
    assert "Alice" not in str(caught.value) and "InvalidDatetimeFormat" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    store.link("f" * 64, "D-1001", "LEVEL_2")
    with pytest.raises(RecordStoreError) as caught, store.backend.transaction() as cursor:
        cursor.execute(
            "INSERT INTO pid_links VALUES (?, 'D-1002', 'LEVEL_2', now())", ("f" * 64,)
        )  # psycopg: Key (hashed_pid)=(fff...) already exists
    assert "f" * 16 not in str(caught.value) and "UniqueViolation (SQLSTATE 23505)" in str(caught.value)
    assert store.record_for_hashed_pid("f" * 64) == "D-1001"  # the transaction was rolled back, no harm


def test_a_wrong_url_stops_the_store_at_once_without_its_password() -> None:
    with pytest.raises(RecordStoreError) as caught:
        open_record_store("postgresql://ms:hunter2@127.0.0.1:1/records?connect_timeout=2")
    assert "cannot connect" in str(caught.value) and "hunter2" not in str(caught.value)
    with pytest.raises(RecordStoreError, match="not a valid PostgreSQL URL") as caught:
        open_record_store("postgresql://ms:hunter2@127.0.0.1:5432/records?no_such_option=hunter2")
    assert "hunter2" not in str(caught.value)


def test_a_connection_the_server_ended_is_replaced(store: PostgresRecordStore, url: str) -> None:
    assert store.record_count() == 21
    with psycopg.connect(url, autocommit=True) as admin:  # end our pooled connections, as a restart would
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'matching-service' AND pid <> pg_backend_pid()"
            " AND datname = current_database() AND query NOT LIKE '%pg_terminate_backend%'"
        )
    with pytest.raises(RecordStoreError):
        store.record_count()  # the call that found the connection dead fails (never retried: it may write)
    assert store.record_count() == 21  # the next call gets a new connection
    assert schema_version(store.backend) == LATEST_VERSION


def test_created_accounts_keep_their_attributes_as_json(store: PostgresRecordStore, url: str) -> None:
    attributes = {"FIRST_NAME": {"value": "Siân", "verified": True}, "SURNAME": "O'Brien"}
    assert store.create_user("9" * 64, "LEVEL_2", attributes) is True
    assert store.created_user_attributes("9" * 64) == attributes
    with psycopg.connect(url) as connection:
        (kind,) = connection.execute("SELECT jsonb_typeof(attributes) FROM created_users").fetchone()
    assert kind == "object"


def test_the_local_matcher_refuses_to_start_on_an_unreachable_database(federation_config, keys_dir, tmp_path) -> None:
    environ = {
        "LOCAL_MATCHING_TOKEN": "t" * 40,
        "MATCHING_SERVICE_DB": "postgresql://ms:hunter2@127.0.0.1:1/records?connect_timeout=2",
    }
    runtime = Runtime(config=federation_config, keys_dir=keys_dir, var_dir=tmp_path, environ=environ)
    with pytest.raises(ValueError, match="cannot open the records database postgresql://127.0.0.1:1/records") as caught:
        create_app(runtime)
    assert "(MATCHING_SERVICE_DB): cannot connect" in str(caught.value) and "hunter2" not in str(caught.value)
