"""The department's records, the hashed-PID links made by earlier matches, and accounts created on request.

SQLite (stdlib) by default: a file path or ":memory:". The local matcher depends only on the small
`RecordSource` protocol, so another backend (PostgreSQL by URL) can be added without touching it;
`open_record_store` is the one place that picks a backend from a location string.

One connection guarded by a lock: SQLite serialises writers anyway, and a ":memory:" database exists only
inside the connection that created it, so per-thread connections would each see an empty store.

CSV import (`import_records`, reading with `records_csv`) is an upsert by `record_id`: importing the same
export twice leaves the store as it was, and a newer export updates the records it names (links to them
survive). Records missing from a later file are NOT deleted. Every valid row is written in one
transaction; a refused row is left out and reported (the caller writes the report), so one bad row never
keeps the department's other records out.

The database file holds personal data: it is created readable by its owner only (0600, as are SQLite's
-wal and -shm files, which take the database's mode), in a folder only its owner can open (0700).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

from matching_service.matching_rule import Record
from matching_service.records_csv import CSV_COLUMNS as CSV_COLUMNS  # re-exported: the import's vocabulary
from matching_service.records_csv import RecordImportError as RecordImportError
from matching_service.records_csv import RecordsFile, RefusedRow, read_records_csv

log = logging.getLogger(__name__)

_RECORDS_TABLE = """
CREATE TABLE IF NOT EXISTS records (
    record_id          TEXT PRIMARY KEY,
    first_name         TEXT NOT NULL,
    middle_names       TEXT NOT NULL,  -- JSON array
    surname            TEXT NOT NULL,
    previous_surnames  TEXT NOT NULL,  -- JSON array
    date_of_birth      TEXT,           -- ISO 8601 date; NULL: the department has none (never matches)
    gender             TEXT,
    address_lines      TEXT NOT NULL,  -- JSON array
    postcode           TEXT,
    previous_postcodes TEXT NOT NULL,  -- JSON array
    nino               TEXT            -- normalised: upper case, no spaces
);
CREATE INDEX IF NOT EXISTS records_date_of_birth ON records (date_of_birth);
"""
_SCHEMA = (
    _RECORDS_TABLE
    + """
CREATE TABLE IF NOT EXISTS pid_links (
    hashed_pid         TEXT PRIMARY KEY,
    record_id          TEXT NOT NULL,
    level_of_assurance TEXT NOT NULL,
    created_at         TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS created_users (
    hashed_pid         TEXT PRIMARY KEY,
    level_of_assurance TEXT NOT NULL,
    attributes         TEXT NOT NULL,  -- JSON object, as sent in the create-user request
    created_at         TEXT NOT NULL
);
"""
)
# Databases made before records without a date of birth were kept have date_of_birth NOT NULL; SQLite
# cannot drop a constraint in place, so the table is rebuilt once, in one transaction.
_NULLABLE_DATE_OF_BIRTH = "\n".join(
    (
        "BEGIN;",
        "ALTER TABLE records RENAME TO records_before_nullable_dob;",
        "DROP INDEX IF EXISTS records_date_of_birth;",
        _RECORDS_TABLE,
        "INSERT INTO records SELECT * FROM records_before_nullable_dob;",
        "DROP TABLE records_before_nullable_dob;",
        "COMMIT;",
    )
)

_UPSERT = (
    "INSERT INTO records (record_id, first_name, middle_names, surname, previous_surnames,"
    " date_of_birth, gender, address_lines, postcode, previous_postcodes, nino)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (record_id) DO UPDATE SET first_name = excluded.first_name,"
    " middle_names = excluded.middle_names, surname = excluded.surname,"
    " previous_surnames = excluded.previous_surnames, date_of_birth = excluded.date_of_birth,"
    " gender = excluded.gender, address_lines = excluded.address_lines,"
    " postcode = excluded.postcode, previous_postcodes = excluded.previous_postcodes,"
    " nino = excluded.nino"
)
_RECORD_SELECT = (
    "SELECT record_id, first_name, middle_names, surname, previous_surnames, date_of_birth, gender,"
    " address_lines, postcode, previous_postcodes, nino FROM records"
)


class RecordStoreError(Exception):
    """The store refused an operation (e.g. linking a hashed PID that already points elsewhere)."""


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


class RecordSource(Protocol):
    """What the local matcher needs from a record store."""

    def candidates_by_date_of_birth(self, date_of_birth: date) -> list[Record]: ...
    def record_for_hashed_pid(self, hashed_pid: str) -> str | None: ...
    def has_created_user(self, hashed_pid: str) -> bool: ...
    def link(self, hashed_pid: str, record_id: str, level_of_assurance: str) -> None: ...
    def create_user(self, hashed_pid: str, level_of_assurance: str, attributes: Mapping[str, object]) -> bool: ...


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RecordStore:
    """SQLite-backed `RecordSource`, plus the CSV import."""

    def __init__(self, location: str | Path = ":memory:") -> None:
        self._lock = threading.Lock()
        if str(location) != ":memory:":
            _prepare_private_file(Path(location))
        self._conn = sqlite3.connect(str(location), timeout=10, check_same_thread=False)
        with self._lock:
            if str(location) != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA)
            _allow_records_without_date_of_birth(self._conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- import ------------------------------------------------------------------------------------------

    def import_records(self, path: str | Path) -> ImportResult:
        """Upsert every valid row of a records file in one transaction; refused rows are returned, not
        written. Raises RecordImportError when the file is not the documented CSV at all."""
        file = read_records_csv(path)
        counts = {"new": 0, "updated": 0, "unchanged": 0}
        with self._lock, self._conn:
            for record in file.records:
                row = _record_to_row(record)
                existing = self._conn.execute(_RECORD_SELECT + " WHERE record_id = ?", (record.record_id,)).fetchone()
                if existing is None:
                    counts["new"] += 1
                elif tuple(existing) == row:
                    counts["unchanged"] += 1
                    continue
                else:
                    counts["updated"] += 1
                self._conn.execute(_UPSERT, row)
        return ImportResult(**counts, file=file)

    def import_csv(self, path: str | Path) -> int:
        """`import_records`, for callers that only need the count (the service's start-up import)."""
        result = self.import_records(path)
        if result.refused:
            # Counts only: the rows are personal data. `matching-service import` writes the report.
            log.warning("records import refused %d rows of %s", len(result.refused), Path(path).name)
        return result.imported

    # --- queries -----------------------------------------------------------------------------------------

    def candidates_by_date_of_birth(self, date_of_birth: date) -> list[Record]:
        with self._lock:
            rows = self._conn.execute(
                _RECORD_SELECT + " WHERE date_of_birth = ? ORDER BY record_id", (date_of_birth.isoformat(),)
            ).fetchall()
        return [_row_to_record(row) for row in rows]

    def record(self, record_id: str) -> Record | None:
        with self._lock:
            row = self._conn.execute(_RECORD_SELECT + " WHERE record_id = ?", (record_id,)).fetchone()
        return _row_to_record(row) if row else None

    def record_count(self) -> int:
        with self._lock:
            (count,) = self._conn.execute("SELECT COUNT(*) FROM records").fetchone()
        return int(count)

    def record_for_hashed_pid(self, hashed_pid: str) -> str | None:
        """The record ID an earlier match linked this hashed PID to (cycle 0), if any."""
        with self._lock:
            row = self._conn.execute("SELECT record_id FROM pid_links WHERE hashed_pid = ?", (hashed_pid,)).fetchone()
        return row[0] if row else None

    def has_created_user(self, hashed_pid: str) -> bool:
        with self._lock:
            row = self._conn.execute("SELECT 1 FROM created_users WHERE hashed_pid = ?", (hashed_pid,)).fetchone()
        return row is not None

    def created_user_attributes(self, hashed_pid: str) -> dict[str, object] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT attributes FROM created_users WHERE hashed_pid = ?", (hashed_pid,)
            ).fetchone()
        return json.loads(row[0]) if row else None

    # --- writes ------------------------------------------------------------------------------------------

    def link(self, hashed_pid: str, record_id: str, level_of_assurance: str) -> None:
        """Remember that this hashed PID is this record; linking it again to the same record is a no-op."""
        with self._lock, self._conn:
            if self._conn.execute("SELECT 1 FROM records WHERE record_id = ?", (record_id,)).fetchone() is None:
                raise RecordStoreError("cannot link to an unknown record")
            self._conn.execute(
                "INSERT INTO pid_links (hashed_pid, record_id, level_of_assurance, created_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (hashed_pid) DO NOTHING",
                (hashed_pid, record_id, level_of_assurance, _now()),
            )
            (linked,) = self._conn.execute(
                "SELECT record_id FROM pid_links WHERE hashed_pid = ?", (hashed_pid,)
            ).fetchone()
            if linked != record_id:
                raise RecordStoreError("hashed PID is already linked to another record")

    def create_user(self, hashed_pid: str, level_of_assurance: str, attributes: Mapping[str, object]) -> bool:
        """Create an account for an unmatched citizen; False if this hashed PID is already known."""
        with self._lock, self._conn:
            if self._conn.execute("SELECT 1 FROM pid_links WHERE hashed_pid = ?", (hashed_pid,)).fetchone():
                return False
            cursor = self._conn.execute(
                "INSERT INTO created_users (hashed_pid, level_of_assurance, attributes, created_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (hashed_pid) DO NOTHING",
                (hashed_pid, level_of_assurance, json.dumps(dict(attributes), ensure_ascii=False), _now()),
            )
            return cursor.rowcount == 1


def open_record_store(location: str | Path) -> RecordStore:
    """A store for a location: a file path, ":memory:", or "sqlite:///path". Other URLs are refused."""
    text = str(location)
    if text.startswith("sqlite:///"):
        return RecordStore(text.removeprefix("sqlite:///") or ":memory:")
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise RecordStoreError(f"record store scheme {scheme!r} is not supported (only SQLite)")
    return RecordStore(text)


# --- the database file and its schema -------------------------------------------------------------------

PRIVATE_FILE_MODE = 0o600
PRIVATE_FOLDER_MODE = 0o700


def _make_private_folders(folder: Path) -> None:
    """Create the folder and any missing parents, each readable by its owner only."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for new in reversed(missing):
        try:
            new.mkdir(mode=PRIVATE_FOLDER_MODE)
        except FileExistsError:
            continue  # another process made it first
        new.chmod(PRIVATE_FOLDER_MODE)  # mkdir's mode is narrowed by the umask, never widened: be exact


def _prepare_private_file(path: Path) -> None:
    """The database file (created here if new, before SQLite opens it) is 0600 in a 0700 folder.

    A folder that already exists is narrowed to 0700 only when we create the database in it and own it
    (the service's var folder is made by its runtime before the store opens); an existing database file
    and its -wal/-shm files are narrowed to 0600 (an older version created them readable by others).
    """
    folder = path.parent
    _make_private_folders(folder)
    created = False
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
        created = True
    except FileExistsError:
        pass
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists() and stat.S_IMODE(file.stat().st_mode) != PRIVATE_FILE_MODE:
            file.chmod(PRIVATE_FILE_MODE)
    folder_stat = folder.stat()
    if created and folder_stat.st_uid == os.geteuid() and stat.S_IMODE(folder_stat.st_mode) & 0o077:
        folder.chmod(PRIVATE_FOLDER_MODE)


def _allow_records_without_date_of_birth(conn: sqlite3.Connection) -> None:
    columns = {row[1]: row for row in conn.execute("PRAGMA table_info(records)")}
    if columns["date_of_birth"][3]:  # the notnull flag of an older database
        conn.executescript(_NULLABLE_DATE_OF_BIRTH)


def _record_to_row(record: Record) -> tuple[object, ...]:
    return (
        record.record_id,
        record.first_name,
        json.dumps(record.middle_names, ensure_ascii=False),
        record.surname,
        json.dumps(record.previous_surnames, ensure_ascii=False),
        record.date_of_birth.isoformat() if record.date_of_birth else None,
        record.gender,
        json.dumps(record.address_lines, ensure_ascii=False),
        record.postcode,
        json.dumps(record.previous_postcodes, ensure_ascii=False),
        record.nino,
    )


def _row_to_record(row: tuple[object, ...]) -> Record:
    (record_id, first, middle, surname, previous, dob, gender, lines, postcode, prev_postcodes, nino) = row
    return Record(
        record_id=str(record_id),
        first_name=str(first),
        middle_names=tuple(json.loads(str(middle))),
        surname=str(surname),
        previous_surnames=tuple(json.loads(str(previous))),
        date_of_birth=date.fromisoformat(str(dob)) if dob is not None else None,
        gender=str(gender) if gender is not None else None,
        address_lines=tuple(json.loads(str(lines))),
        postcode=str(postcode) if postcode is not None else None,
        previous_postcodes=tuple(json.loads(str(prev_postcodes))),
        nino=str(nino) if nino is not None else None,
    )
