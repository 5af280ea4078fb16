"""The department's records, the hashed-PID links made by earlier matches, and accounts created on request.

Two backends behind one protocol: SQLite (stdlib; a file path or ":memory:", the demo's default) and
PostgreSQL (a `postgresql://` URL, psycopg 3). The local matcher depends only on the small `RecordSource`
protocol; `open_record_store` is the one place that picks a backend from a location string. Both run the
same SQL (`records_sql`) and the same numbered schema migrations (`records_schema`), applied when a store
opens and by `matching-service migrate`.

CSV import (`import_records`, reading with `records_csv`) is an upsert by `record_id`: importing the same
export twice leaves the store as it was, and a newer export updates the records it names (links to them
survive). Records missing from a later file are NOT deleted. Every valid row is written in one
transaction; a refused row is left out and reported (the caller writes the report), so one bad row never
keeps the department's other records out. A record without a date of birth is kept and never matches.

Linking a hashed PID is decided by the database (its primary key), so two local matcher processes on one
PostgreSQL database can never link one hashed PID to two records.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Protocol

from federation.urls import redacted_url
from matching_service.matching_rule import Record
from matching_service.records_backend import RecordStoreError as RecordStoreError
from matching_service.records_csv import CSV_COLUMNS as CSV_COLUMNS  # re-exported: the import's vocabulary
from matching_service.records_csv import RecordImportError as RecordImportError
from matching_service.records_postgres import DEFAULT_MAX_CONNECTIONS, PostgresBackend, is_postgres_url
from matching_service.records_schema import SchemaTooNew as SchemaTooNew
from matching_service.records_sql import ImportResult as ImportResult
from matching_service.records_sql import SqlRecordStore
from matching_service.records_sqlite import SqliteBackend


class RecordSource(Protocol):
    """What the local matcher needs from a record store."""

    def candidates_by_date_of_birth(self, date_of_birth: date) -> list[Record]: ...
    def record_for_hashed_pid(self, hashed_pid: str) -> str | None: ...
    def has_created_user(self, hashed_pid: str) -> bool: ...
    def link(self, hashed_pid: str, record_id: str, level_of_assurance: str) -> None: ...
    def create_user(self, hashed_pid: str, level_of_assurance: str, attributes: Mapping[str, object]) -> bool: ...


class RecordStore(SqlRecordStore):
    """The SQLite store: a file path (created 0600 in a 0700 folder) or ":memory:"."""

    def __init__(self, location: str | Path = ":memory:", *, migrate: bool = True) -> None:
        super().__init__(SqliteBackend(location), migrate=migrate)


class PostgresRecordStore(SqlRecordStore):
    """The PostgreSQL store, by libpq URL (`postgresql://user@host:5432/dbname`)."""

    def __init__(self, url: str, *, migrate: bool = True, max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        super().__init__(PostgresBackend(url, max_connections=max_connections), migrate=migrate)


def open_record_store(location: str | Path, *, migrate: bool = True) -> SqlRecordStore:
    """A store for a location: a file path, ":memory:", "sqlite:///path", or a postgresql:// URL (also
    postgres://). Other URLs are refused. `migrate`: apply pending schema migrations now."""
    text = str(location)
    if text.startswith("sqlite:///"):
        return RecordStore(text.removeprefix("sqlite:///") or ":memory:", migrate=migrate)
    if is_postgres_url(text):
        return PostgresRecordStore(text, migrate=migrate)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise RecordStoreError(f"record store scheme {scheme!r} is not supported (SQLite or postgresql://)")
    return RecordStore(text, migrate=migrate)


def describe_location(location: str | Path) -> str:
    """The location for messages and logs: a URL without its user name, password or query."""
    text = str(location)
    return redacted_url(text) if "://" in text and not text.startswith("sqlite:///") else text
