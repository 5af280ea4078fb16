"""What a database must supply to the record store (`records_sql.SqlRecordStore`), and its one error.

Two backends fit: `records_sqlite.SqliteBackend` (the demo's default, a file) and
`records_postgres.PostgresBackend` (by URL). Each maps its driver's errors to `RecordStoreError` in our own
words, since driver messages can quote a row's values (personal data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import date, datetime
from typing import Any, Protocol

from matching_service.matching_rule import Record


class RecordStoreError(Exception):
    """The store refused an operation (e.g. linking a hashed PID that already points elsewhere), or its
    database failed; the message is ours and never quotes a value."""


class Cursor(Protocol):
    """The DB-API cursor subset the store uses (sqlite3's, or the PostgreSQL backend's wrapper)."""

    rowcount: int

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Backend(Protocol):
    """What a database must supply for `SqlRecordStore`."""

    dialect: str  # "sqlite" or "postgresql": picks each migration's statements
    location: str  # where, for messages: never a password

    def transaction(self, *, exclusive: bool = False) -> AbstractContextManager[Cursor]:
        """A cursor in one transaction, committed when the block ends, rolled back if it raises.
        `exclusive`: no other process migrates at the same time (the schema migrations take it)."""
        ...

    def query(self) -> AbstractContextManager[Cursor]:
        """A cursor for reads of one statement each."""
        ...

    def record_values(self, record: Record) -> tuple[Any, ...]:
        """The record's values for the `records` columns, in `records_sql.COLUMNS` order."""
        ...

    def date_value(self, value: date) -> Any: ...
    def json_value(self, value: Mapping[str, object]) -> Any: ...
    def time_value(self, moment: datetime) -> Any: ...
    def close(self) -> None: ...
