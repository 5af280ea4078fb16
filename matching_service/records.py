"""The department's records, the hashed-PID links made by earlier matches, and accounts created on request.

SQLite (stdlib) by default: a file path or ":memory:". The local matcher depends only on the small
`RecordSource` protocol, so another backend (PostgreSQL by URL) can be added without touching it;
`open_record_store` is the one place that picks a backend from a location string.

One connection guarded by a lock: SQLite serialises writers anyway, and a ":memory:" database exists only
inside the connection that created it, so per-thread connections would each see an empty store.

CSV import (`import_csv`) is an upsert by `record_id`: importing the same export twice leaves the store as
it was, and a newer export updates the records it names (links to them survive). Records missing from a
later file are NOT deleted. A record_id twice in one file is refused. Every row is validated before
anything is written, and the write is one transaction: a file either imports completely or not at all.

The database file holds personal data: it is created readable by its owner only (0600, as are SQLite's
-wal and -shm files, which take the database's mode), in a folder only its owner can open (0700).
"""

from __future__ import annotations

import csv
import json
import os
import re
import sqlite3
import stat
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

from matching_service.matching_rule import Record, normalise_nino

CSV_COLUMNS: tuple[str, ...] = (
    "record_id",
    "first_name",
    "middle_names",
    "surname",
    "previous_surnames",
    "date_of_birth",
    "gender",
    "address_lines",
    "postcode",
    "previous_postcodes",
    "nino",
)
REQUIRED_VALUES = frozenset({"record_id", "first_name", "surname", "date_of_birth"})
LIST_SEPARATOR = ";"
ADDRESS_LINE_SEPARATOR = "|"
MAX_FIELD_LENGTH = 500

_ISO_DATE = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")
_NINO = re.compile(r"\A[A-Z]{2}\d{6}[A-D]\Z")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    record_id          TEXT PRIMARY KEY,
    first_name         TEXT NOT NULL,
    middle_names       TEXT NOT NULL,  -- JSON array
    surname            TEXT NOT NULL,
    previous_surnames  TEXT NOT NULL,  -- JSON array
    date_of_birth      TEXT NOT NULL,  -- ISO 8601 date
    gender             TEXT,
    address_lines      TEXT NOT NULL,  -- JSON array
    postcode           TEXT,
    previous_postcodes TEXT NOT NULL,  -- JSON array
    nino               TEXT            -- normalised: upper case, no spaces
);
CREATE INDEX IF NOT EXISTS records_date_of_birth ON records (date_of_birth);
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

_RECORD_SELECT = (
    "SELECT record_id, first_name, middle_names, surname, previous_surnames, date_of_birth, gender,"
    " address_lines, postcode, previous_postcodes, nino FROM records"
)


class RecordStoreError(Exception):
    """The store refused an operation (e.g. linking a hashed PID that already points elsewhere)."""


class RecordImportError(ValueError):
    """A CSV file the import refused; names the line and column (never the value: it is personal data)."""

    def __init__(self, source: str, line: int, column: str | None, problem: str) -> None:
        self.source = source
        self.line = line
        self.column = column
        self.problem = problem
        where = f"{source} line {line}" + (f", column {column}" if column else "")
        super().__init__(f"{where}: {problem}")


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
        with self._lock, self._conn:
            if str(location) != ":memory:":
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- import ------------------------------------------------------------------------------------------

    def import_csv(self, path: str | Path) -> int:
        """Validate every row, then upsert them all in one transaction; returns the number of rows."""
        records = read_records_csv(path)
        rows = [_record_to_row(r) for r in records]
        with self._lock, self._conn:
            self._conn.executemany(
                "INSERT INTO records (record_id, first_name, middle_names, surname, previous_surnames,"
                " date_of_birth, gender, address_lines, postcode, previous_postcodes, nino)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (record_id) DO UPDATE SET first_name = excluded.first_name,"
                " middle_names = excluded.middle_names, surname = excluded.surname,"
                " previous_surnames = excluded.previous_surnames, date_of_birth = excluded.date_of_birth,"
                " gender = excluded.gender, address_lines = excluded.address_lines,"
                " postcode = excluded.postcode, previous_postcodes = excluded.previous_postcodes,"
                " nino = excluded.nino",
                rows,
            )
        return len(rows)

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


# --- the database file ----------------------------------------------------------------------------------

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


# --- CSV -------------------------------------------------------------------------------------------------


def _split(value: str, separator: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(separator) if part.strip())


def read_records_csv(path: str | Path) -> list[Record]:
    """Parse and validate a records CSV (UTF-8, header row with exactly `CSV_COLUMNS` in any order)."""
    source = Path(path).name
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return _parse_records(csv.reader(handle, strict=True), source)
    except UnicodeDecodeError as exc:
        raise RecordImportError(source, 0, None, "file is not UTF-8") from exc
    except csv.Error as exc:
        raise RecordImportError(source, 0, None, f"not a valid CSV file ({exc})") from exc


def _parse_records(reader: Iterable[list[str]], source: str) -> list[Record]:
    rows = iter(reader)
    header = [name.strip() for name in next(rows, [])]
    if not header:
        raise RecordImportError(source, 1, None, "empty file (a header row is required)")
    for name in CSV_COLUMNS:
        if name not in header:
            raise RecordImportError(source, 1, name, "missing column")
    for name in header:
        if name not in CSV_COLUMNS:
            raise RecordImportError(source, 1, name or "(blank)", "unknown column")
        if header.count(name) > 1:
            raise RecordImportError(source, 1, name, "column appears twice")

    records: list[Record] = []
    seen: set[str] = set()
    line = 1
    for raw in rows:
        line = getattr(reader, "line_num", line + 1)
        if not any(field.strip() for field in raw):
            continue  # blank line
        if len(raw) != len(header):
            raise RecordImportError(source, line, None, f"expected {len(header)} fields, found {len(raw)}")
        record = _parse_row(dict(zip(header, (f.strip() for f in raw), strict=True)), source, line)
        if record.record_id in seen:
            raise RecordImportError(source, line, "record_id", "duplicate record_id in this file")
        seen.add(record.record_id)
        records.append(record)
    return records


def _parse_row(row: dict[str, str], source: str, line: int) -> Record:
    for name, value in row.items():
        if name in REQUIRED_VALUES and not value:
            raise RecordImportError(source, line, name, "a value is required")
        if len(value) > MAX_FIELD_LENGTH:
            raise RecordImportError(source, line, name, f"longer than {MAX_FIELD_LENGTH} characters")

    dob = row["date_of_birth"]
    if not _ISO_DATE.match(dob):
        raise RecordImportError(source, line, "date_of_birth", "not an ISO 8601 date (YYYY-MM-DD)")
    try:
        date_of_birth = date.fromisoformat(dob)
    except ValueError as exc:
        raise RecordImportError(source, line, "date_of_birth", "not a valid calendar date") from exc

    nino = normalise_nino(row["nino"]) if row["nino"] else None
    if nino is not None and not _NINO.match(nino):
        raise RecordImportError(source, line, "nino", "not a National Insurance number (e.g. QQ123456C)")

    return Record(
        record_id=row["record_id"],
        first_name=row["first_name"],
        middle_names=_split(row["middle_names"], LIST_SEPARATOR),
        surname=row["surname"],
        previous_surnames=_split(row["previous_surnames"], LIST_SEPARATOR),
        date_of_birth=date_of_birth,
        gender=row["gender"] or None,
        address_lines=_split(row["address_lines"], ADDRESS_LINE_SEPARATOR),
        postcode=row["postcode"] or None,
        previous_postcodes=_split(row["previous_postcodes"], LIST_SEPARATOR),
        nino=nino,
    )


def _record_to_row(record: Record) -> tuple[object, ...]:
    return (
        record.record_id,
        record.first_name,
        json.dumps(record.middle_names, ensure_ascii=False),
        record.surname,
        json.dumps(record.previous_surnames, ensure_ascii=False),
        record.date_of_birth.isoformat(),
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
        date_of_birth=date.fromisoformat(str(dob)),
        gender=str(gender) if gender is not None else None,
        address_lines=tuple(json.loads(str(lines))),
        postcode=str(postcode) if postcode is not None else None,
        previous_postcodes=tuple(json.loads(str(prev_postcodes))),
        nino=str(nino) if nino is not None else None,
    )
