"""The record store's SQLite backend (stdlib): a file path or ":memory:"; the demo's default.

One connection guarded by a lock: SQLite serialises writers anyway, and a ":memory:" database exists only
inside the connection that created it, so per-thread connections would each see an empty store. The
connection is in autocommit mode and every write is an explicit `BEGIN IMMEDIATE ... COMMIT`: the write
lock is taken up front (waiting up to 10 s for another process's), so a transaction never fails half-way
for want of it.

The database file holds personal data: it is created readable by its owner only (0600, as are SQLite's
-wal and -shm files, which take the database's mode), in a folder only its owner can open (0700).
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

from matching_service.matching_rule import Record
from matching_service.records_backend import RecordStoreError

PRIVATE_FILE_MODE = 0o600
PRIVATE_FOLDER_MODE = 0o700
BUSY_TIMEOUT_SECONDS = 10


@contextmanager
def _mapped(location: str) -> Iterator[None]:
    """sqlite3's messages name constraints, not values; they are still replaced, as PostgreSQL's are."""
    try:
        yield
    except sqlite3.Error as exc:
        raise RecordStoreError(f"records database {location} failed: {type(exc).__name__}") from None


class SqliteBackend:
    dialect = "sqlite"

    def __init__(self, location: str | Path = ":memory:") -> None:
        self.location = str(location)
        in_memory = self.location == ":memory:"
        if not in_memory:
            _prepare_private_file(Path(location))
        self._lock = threading.Lock()
        with _mapped(self.location):
            self._conn = sqlite3.connect(
                self.location, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False, isolation_level=None
            )
            if not in_memory:
                self._conn.execute("PRAGMA journal_mode=WAL")

    @contextmanager
    def transaction(self, *, exclusive: bool = False) -> Iterator[sqlite3.Cursor]:
        # BEGIN IMMEDIATE already excludes every other writer, migrations included.
        with self._lock, _mapped(self.location):
            cursor = self._conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
                cursor.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    @contextmanager
    def query(self) -> Iterator[sqlite3.Cursor]:
        with self._lock, _mapped(self.location):
            yield self._conn.cursor()

    def record_values(self, record: Record) -> tuple[object, ...]:
        return (
            record.record_id,
            record.first_name,
            json.dumps(record.middle_names, ensure_ascii=False),
            record.surname,
            json.dumps(record.previous_surnames, ensure_ascii=False),
            self.date_value(record.date_of_birth) if record.date_of_birth else None,
            record.gender,
            json.dumps(record.address_lines, ensure_ascii=False),
            record.postcode,
            json.dumps(record.previous_postcodes, ensure_ascii=False),
            record.nino,
        )

    def date_value(self, value: date) -> str:
        return value.isoformat()

    def json_value(self, value: Mapping[str, object]) -> str:
        return json.dumps(dict(value), ensure_ascii=False)

    def time_value(self, moment: datetime) -> str:
        return moment.isoformat(timespec="seconds")

    def close(self) -> None:
        with self._lock:
            self._conn.close()


# --- the database file ---------------------------------------------------------------------------------


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
