"""The record store's SQL, shared by both backends (SQLite and PostgreSQL): queries, the CSV import, links.

A backend (`records_sqlite.SqliteBackend`, `records_postgres.PostgresBackend`) supplies connections and
transactions, turns a `Record` into the values of its column types, and maps its driver's errors to
`RecordStoreError` with our own words: driver messages can quote the values of a row (personal data), so
none reaches a log or a caller. The SQL here is written with `?` placeholders; the PostgreSQL backend's
cursor turns them into psycopg's.

Decisions that must hold under concurrency are the database's, never a read followed by a write:

- `link` is one `INSERT ... SELECT ... ON CONFLICT (hashed_pid) DO NOTHING`; the primary key on
  `pid_links.hashed_pid` decides which of two processes linking one hashed PID to different records wins
  (PostgreSQL makes the second insert wait for the first to commit), and the loser reads the winner's row
  and is refused.
- `create_user` inserts only if no link exists for the hashed PID, in the same statement.

The import (an upsert by `record_id`, see `records.py`) runs in one transaction, in chunks: the existing
rows of a chunk are read in one query, and only new or changed records are written.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from matching_service.matching_rule import Record
from matching_service.records_backend import Backend, RecordStoreError
from matching_service.records_csv import CSV_COLUMNS, RecordsFile, RefusedRow, read_records_csv
from matching_service.records_schema import migrate as apply_migrations

log = logging.getLogger("matching_service.records")

CHUNK = 500  # records per query during an import (well under SQLite's and PostgreSQL's parameter limits)

COLUMNS = CSV_COLUMNS  # the records table has the CSV's columns, in the same order
_RECORD_SELECT = f"SELECT {', '.join(COLUMNS)} FROM records"  # noqa: S608 - our own column names
_UPSERT = (
    f"INSERT INTO records ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"  # noqa: S608
    " ON CONFLICT (record_id) DO UPDATE SET " + ", ".join(f"{column} = excluded.{column}" for column in COLUMNS[1:])
)
_LINK = (
    "INSERT INTO pid_links (hashed_pid, record_id, level_of_assurance, created_at)"
    " SELECT ?, record_id, ?, ? FROM records WHERE record_id = ?"
    " ON CONFLICT (hashed_pid) DO NOTHING"
)
_CREATE_USER = (
    "INSERT INTO created_users (hashed_pid, level_of_assurance, attributes, created_at)"
    " SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM pid_links WHERE hashed_pid = ?)"
    " ON CONFLICT (hashed_pid) DO NOTHING"
)


@dataclass(frozen=True)
class ImportResult:
    """What one import did: rows written (new, changed, unchanged) and rows refused."""

    new: int
    updated: int
    unchanged: int
    file: RecordsFile

    @property
    def imported(self) -> int:
        return self.new + self.updated + self.unchanged

    @property
    def refused(self) -> list[RefusedRow]:
        return self.file.refused


def _texts(value: Any) -> tuple[str, ...]:
    """A list column: a PostgreSQL array comes back as a list, SQLite's JSON text as a string."""
    return tuple(value if isinstance(value, list) else json.loads(str(value)))


def _optional(value: Any) -> str | None:
    return str(value) if value is not None else None


def row_to_record(row: Sequence[Any]) -> Record:
    """A `records` row, from either backend, as a Record."""
    (record_id, first, middle, surname, previous, dob, gender, lines, postcode, prev_postcodes, nino) = row
    if dob is not None and not isinstance(dob, date):
        dob = date.fromisoformat(str(dob))
    return Record(
        record_id=str(record_id),
        first_name=str(first),
        middle_names=_texts(middle),
        surname=str(surname),
        previous_surnames=_texts(previous),
        date_of_birth=dob,
        gender=_optional(gender),
        address_lines=_texts(lines),
        postcode=_optional(postcode),
        previous_postcodes=_texts(prev_postcodes),
        nino=_optional(nino),
    )


def _chunks(records: Sequence[Record]) -> Iterator[Sequence[Record]]:
    for start in range(0, len(records), CHUNK):
        yield records[start : start + CHUNK]


class SqlRecordStore:
    """A `RecordSource` over a backend, plus the CSV import and the reads the tools and tests use."""

    def __init__(self, backend: Backend, *, migrate: bool = True) -> None:
        """`migrate`: bring the schema to this code's version now (see `records_schema`)."""
        self._backend = backend
        if migrate:
            try:
                apply_migrations(backend)
            except BaseException:
                backend.close()
                raise

    @property
    def backend(self) -> Backend:
        return self._backend

    @property
    def location(self) -> str:
        return self._backend.location

    def close(self) -> None:
        self._backend.close()

    # --- import ------------------------------------------------------------------------------------------

    def import_records(self, path: str | Path) -> ImportResult:
        """Upsert every valid row of a records file in one transaction; refused rows are returned, not
        written. Raises RecordImportError when the file is not the documented CSV at all."""
        file = read_records_csv(path)
        new = updated = unchanged = 0
        with self._backend.transaction() as cursor:
            for chunk in _chunks(file.records):
                placeholders = ", ".join("?" for _ in chunk)
                cursor.execute(
                    f"{_RECORD_SELECT} WHERE record_id IN ({placeholders})",  # noqa: S608 - placeholders only
                    [record.record_id for record in chunk],
                )
                existing = {row[0]: row_to_record(row) for row in cursor.fetchall()}
                writes = []
                for record in chunk:
                    before = existing.get(record.record_id)
                    if before == record:
                        unchanged += 1
                        continue
                    new, updated = (new + 1, updated) if before is None else (new, updated + 1)
                    writes.append(self._backend.record_values(record))
                if writes:
                    cursor.executemany(_UPSERT, writes)
        return ImportResult(new=new, updated=updated, unchanged=unchanged, file=file)

    def import_csv(self, path: str | Path) -> int:
        """`import_records`, for callers that only need the count (the service's start-up import)."""
        result = self.import_records(path)
        if result.refused:
            # Counts only: the rows are personal data. `matching-service import` writes the report.
            log.warning("records import refused %d rows of %s", len(result.refused), Path(path).name)
        return result.imported

    # --- queries -----------------------------------------------------------------------------------------

    def _one(self, sql: str, params: Sequence[Any]) -> Any:
        with self._backend.query() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()

    def candidates_by_date_of_birth(self, date_of_birth: date) -> list[Record]:
        with self._backend.query() as cursor:
            cursor.execute(
                f"{_RECORD_SELECT} WHERE date_of_birth = ? ORDER BY record_id",  # noqa: S608
                (self._backend.date_value(date_of_birth),),
            )
            rows = cursor.fetchall()
        return [row_to_record(row) for row in rows]

    def record(self, record_id: str) -> Record | None:
        row = self._one(f"{_RECORD_SELECT} WHERE record_id = ?", (record_id,))  # noqa: S608
        return row_to_record(row) if row else None

    def record_count(self) -> int:
        (count,) = self._one("SELECT COUNT(*) FROM records", ())
        return int(count)

    def record_for_hashed_pid(self, hashed_pid: str) -> str | None:
        """The record ID an earlier match linked this hashed PID to (cycle 0), if any."""
        row = self._one("SELECT record_id FROM pid_links WHERE hashed_pid = ?", (hashed_pid,))
        return str(row[0]) if row else None

    def has_created_user(self, hashed_pid: str) -> bool:
        return self._one("SELECT 1 FROM created_users WHERE hashed_pid = ?", (hashed_pid,)) is not None

    def created_user_attributes(self, hashed_pid: str) -> dict[str, object] | None:
        row = self._one("SELECT attributes FROM created_users WHERE hashed_pid = ?", (hashed_pid,))
        if row is None:
            return None
        return row[0] if isinstance(row[0], dict) else json.loads(str(row[0]))

    # --- writes ------------------------------------------------------------------------------------------

    def link(self, hashed_pid: str, record_id: str, level_of_assurance: str) -> None:
        """Remember that this hashed PID is this record; linking it again to the same record is a no-op.
        Raises RecordStoreError for an unknown record, or when the hashed PID is linked to another one."""
        now = self._backend.time_value(datetime.now(UTC))
        with self._backend.transaction() as cursor:
            cursor.execute(_LINK, (hashed_pid, level_of_assurance, now, record_id))
            cursor.execute("SELECT record_id FROM pid_links WHERE hashed_pid = ?", (hashed_pid,))
            linked = cursor.fetchone()
        if linked is None:
            raise RecordStoreError("cannot link to an unknown record")
        if linked[0] != record_id:
            raise RecordStoreError("hashed PID is already linked to another record")

    def create_user(self, hashed_pid: str, level_of_assurance: str, attributes: Mapping[str, object]) -> bool:
        """Create an account for an unmatched citizen; False if this hashed PID is already known."""
        values = (
            hashed_pid,
            level_of_assurance,
            self._backend.json_value(dict(attributes)),
            self._backend.time_value(datetime.now(UTC)),
            hashed_pid,
        )
        with self._backend.transaction() as cursor:
            cursor.execute(_CREATE_USER, values)
            return cursor.rowcount == 1
