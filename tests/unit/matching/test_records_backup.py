"""Backing up and restoring the matching database exactly as docs/operations.md says, on both backends:
records, PID links and created accounts are written, backed up, changed and deleted, restored, and back.

SQLite: `sqlite3 DB ".backup 'FILE'"` while the store is open (SQLite's online backup), and
`sqlite3 DB ".restore 'FILE'"` with the local matcher stopped. PostgreSQL: `pg_dump --format=custom` and
`pg_restore --clean --if-exists --single-transaction`, on a database of the test's own (dropped afterwards).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from matching_service.records import RecordStoreError, open_record_store
from matching_service.records_schema import LATEST_VERSION, schema_version
from matching_service.records_sql import SqlRecordStore
from tests.support.postgres import private_database

REPO = Path(__file__).resolve().parents[3]
DEMO_RECORDS = REPO / "matching_service" / "demo" / "records.csv"
LINKED, CREATED = "1" * 64, "2" * 64


def run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, (command[0], result.stderr)


def needs(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (make test-packages installs it)")


def sqlite_tools(database: str, backup: Path) -> tuple[Callable[[], None], Callable[[], None]]:
    needs("sqlite3")
    return (
        lambda: run("sqlite3", database, f".backup '{backup}'"),
        lambda: run("sqlite3", database, f".restore '{backup}'"),
    )


def postgres_tools(database: str, backup: Path) -> tuple[Callable[[], None], Callable[[], None]]:
    needs("pg_dump")
    needs("pg_restore")
    return (
        lambda: run("pg_dump", "--format=custom", f"--file={backup}", database),
        lambda: run(
            "pg_restore",
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--no-owner",
            f"--dbname={database}",
            str(backup),
        ),  # fmt: skip
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Callable, Callable]]:
    backup = tmp_path / "backup"
    if request.param == "sqlite":
        database = str(tmp_path / "var" / "matching-service.sqlite3")
        yield (database, *sqlite_tools(database, backup))
        return
    with private_database() as database:
        yield (database, *postgres_tools(database, backup))


def state(store: SqlRecordStore) -> tuple:
    return (
        store.record_count(),
        store.record("D-1001"),
        store.record("D-1002"),
        store.record_for_hashed_pid(LINKED),
        store.created_user_attributes(CREATED),
        schema_version(store.backend),
    )


def test_back_up_change_restore(backend: tuple[str, Callable, Callable]) -> None:
    database, back_up, restore = backend
    store = open_record_store(database)
    store.import_csv(DEMO_RECORDS)
    store.link(LINKED, "D-1001", "LEVEL_2")
    assert store.create_user(CREATED, "LEVEL_2", {"FIRST_NAME": {"value": "Nora", "verified": True}})
    before = state(store)
    assert before[0] == 21 and before[3] == "D-1001" and before[5] == LATEST_VERSION

    back_up()  # online: the store is open, as the running local matcher's would be

    # after the backup: a record changed, one deleted, the link and the account gone, a new link
    with store.backend.transaction() as cursor:
        cursor.execute("UPDATE records SET surname = 'Changed' WHERE record_id = 'D-1001'")
        cursor.execute("DELETE FROM records WHERE record_id = 'D-1002'")
        cursor.execute("DELETE FROM pid_links")
        cursor.execute("DELETE FROM created_users")
    store.link("3" * 64, "D-1003", "LEVEL_2")
    assert state(store) != before and store.record("D-1002") is None
    store.close()  # the local matcher is stopped for a restore

    restore()

    restored = open_record_store(database)
    assert state(restored) == before
    assert restored.record_for_hashed_pid("3" * 64) is None  # made after the backup: not in it
    with pytest.raises(RecordStoreError):  # links still refuse a second record after the restore
        restored.link(LINKED, "D-1002", "LEVEL_2")
    restored.close()
