"""The records database's numbered migrations (matching_service.records_schema), on both backends, and the
`matching-service migrate` command."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from matching_service.cli import main
from matching_service.records import RecordStoreError, SchemaTooNew, open_record_store
from matching_service.records_schema import LATEST_VERSION, MIGRATIONS, Migration, migrate, schema_version, statements
from matching_service.records_sql import SqlRecordStore
from tests.support.postgres import private_schema

REPO = Path(__file__).resolve().parents[3]
DEMO_RECORDS = REPO / "matching_service" / "demo" / "records.csv"


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where an empty database is: a SQLite file, or a PostgreSQL schema of the test's own."""
    if request.param == "sqlite":
        yield str(tmp_path / "ms.sqlite3")
        return
    with private_schema() as url:
        yield url


def versions(store: SqlRecordStore) -> list[tuple[int, str]]:
    with store.backend.query() as cursor:
        cursor.execute("SELECT version, description FROM schema_migrations ORDER BY version")
        return [(int(v), str(d)) for v, d in cursor.fetchall()]


def test_a_new_database_gets_every_migration_once(location: str) -> None:
    store = open_record_store(location)
    assert versions(store) == [(m.version, m.description) for m in MIGRATIONS]
    assert schema_version(store.backend) == LATEST_VERSION == 2
    assert migrate(store.backend) == []  # nothing left to apply
    store.close()
    again = open_record_store(location)  # a restart applies nothing
    assert versions(again) == [(m.version, m.description) for m in MIGRATIONS]
    again.close()


def test_a_store_opened_without_migrating_has_no_schema(location: str) -> None:
    store = open_record_store(location, migrate=False)
    assert schema_version(store.backend) == 0
    with pytest.raises(RecordStoreError) as caught:
        store.record_count()  # no table yet: our words, not the driver's
    assert "failed" in str(caught.value)
    store.close()


def test_a_schema_newer_than_the_code_is_refused(location: str) -> None:
    store = open_record_store(location)
    with store.backend.transaction() as cursor:
        cursor.execute(
            "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
            (LATEST_VERSION + 1, "from a newer matching service", "2030-01-01T00:00:00+00:00"),
        )
    store.close()
    with pytest.raises(SchemaTooNew, match=f"schema version {LATEST_VERSION + 1}, newer than"):
        open_record_store(location)


def test_a_failing_migration_leaves_the_schema_as_it_was(location: str) -> None:
    broken = (
        MIGRATIONS[0],
        Migration(2, "breaks", sqlite=statements("SELECT * FROM no_such_table"), postgresql=statements("SELEC 1")),
    )
    store = open_record_store(location, migrate=False)
    with pytest.raises(RecordStoreError):
        migrate(store.backend, broken)
    assert schema_version(store.backend) == 0  # migration 1 was rolled back with it
    with pytest.raises(RecordStoreError):
        store.record_count()
    assert [m.version for m in migrate(store.backend)] == [1, 2]  # the real history still applies
    store.close()


def test_migrations_must_be_numbered_in_order(location: str) -> None:
    store = open_record_store(location, migrate=False)
    with pytest.raises(ValueError, match="numbered"):
        migrate(store.backend, (MIGRATIONS[1],))
    store.close()


def test_migrate_command(location: str, capsys) -> None:
    assert main(["migrate", "--database", location]) == 0
    out = capsys.readouterr().out
    assert "Applied migration 1: records, PID links and created accounts" in out
    assert out.strip().endswith("is now at version 2")
    assert main(["migrate", "--database", location]) == 0
    assert "was already at version 2" in capsys.readouterr().out
    assert main(["import", str(DEMO_RECORDS), "--database", location]) == 0


def test_migrate_command_refuses_an_unreachable_database_without_showing_its_password(capsys) -> None:
    assert main(["migrate", "--database", "postgresql://ms:hunter2@127.0.0.1:1/records"]) == 2
    err = capsys.readouterr().err
    assert "cannot open the database postgresql://127.0.0.1:1/records: cannot connect:" in err
    assert "hunter2" not in err
