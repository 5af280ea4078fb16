"""The record store's PostgreSQL backend (psycopg 3), by URL: `postgresql://user@host:5432/dbname`.

Any libpq URL works (`?sslmode=verify-full`, `?options=-csearch_path%3Dmatching` for a schema of its own,
a password in the URL or in `~/.pgpass`); `connect_timeout` defaults to 5 s and `application_name` to
`matching-service` unless the URL sets them. The first connection is made when the store opens, so a wrong
URL or an unreachable server stops the local matcher at start, not at a citizen's first request.

Connections come from a small pool of our own (at most `max_connections`, opened on demand, kept idle in
autocommit mode; a broken one is dropped and replaced on the next call): the local matcher serves several
requests at once, and a pool library would be one more dependency for a dozen lines.

psycopg's errors can quote a row's values ("Key (hashed_pid)=(...) already exists", a value that did not
fit a type): every one becomes a `RecordStoreError` naming only the error's class and SQLSTATE. Connection
failures keep libpq's first line (host, port, user, "password authentication failed"): it holds no row
values, and an operator needs it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg.types.json import Jsonb

from federation.urls import redacted_url
from matching_service.matching_rule import Record
from matching_service.records_backend import RecordStoreError

SCHEMES = ("postgresql", "postgres")
DEFAULT_MAX_CONNECTIONS = 8
WAIT_FOR_CONNECTION_SECONDS = 10
DEFAULTS = {"connect_timeout": "5", "application_name": "matching-service"}
# pg_advisory_xact_lock key for schema migrations: any fixed number no other code of ours uses.
MIGRATION_LOCK = 0x6D61746368  # "match"


def is_postgres_url(location: str) -> bool:
    return location.split("://", 1)[0].lower() in SCHEMES and "://" in location


@lru_cache(maxsize=64)
def _pyformat(sql: str) -> str:
    """Our shared SQL uses `?` (SQLite's placeholder); psycopg's is `%s`. Our SQL holds no literal `?` or `%`."""
    return sql.replace("?", "%s")


class _Cursor:
    """A psycopg cursor that takes the shared SQL's `?` placeholders."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _Cursor:
        self._cursor.execute(_pyformat(sql), params)
        return self

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        self._cursor.executemany(_pyformat(sql), params)

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


class PostgresBackend:
    dialect = "postgresql"

    def __init__(self, url: str, *, max_connections: int = DEFAULT_MAX_CONNECTIONS) -> None:
        self.location = redacted_url(url)
        try:
            given = conninfo_to_dict(url)
        except psycopg.Error:  # its message may quote the URL, password included
            raise RecordStoreError(f"{self.location}: not a valid PostgreSQL URL") from None
        self._conninfo = {**DEFAULTS, **{k: v for k, v in given.items() if v is not None}}
        self._idle: list[psycopg.Connection[Any]] = []
        self._idle_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._closed = False
        with self._connection():  # fail now, at start, if the database cannot be reached
            pass

    # --- connections -------------------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(autocommit=True, **self._conninfo)
        except psycopg.OperationalError as exc:
            reason = _first_line(exc)
        except psycopg.Error as exc:
            reason = type(exc).__name__
        raise RecordStoreError(f"cannot connect: {reason}")

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        if self._closed:
            raise RecordStoreError(f"the records database {self.location} has been closed")
        if not self._slots.acquire(timeout=WAIT_FOR_CONNECTION_SECONDS):
            raise RecordStoreError(f"no free connection to the records database {self.location}")
        connection = None
        try:
            with self._idle_lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None or connection.closed or connection.broken:
                connection = self._connect()
            yield connection
        finally:
            if connection is not None:
                self._give_back(connection)
            self._slots.release()

    def _give_back(self, connection: psycopg.Connection[Any]) -> None:
        reusable = not (connection.closed or connection.broken or self._closed)
        if reusable and connection.info.transaction_status == TransactionStatus.IDLE:
            with self._idle_lock:
                self._idle.append(connection)
        else:
            connection.close()

    @contextmanager
    def _mapped(self) -> Iterator[None]:
        try:
            yield
        except psycopg.Error as exc:
            sqlstate = exc.sqlstate or "-"
            raise RecordStoreError(
                f"records database {self.location} failed: {type(exc).__name__} (SQLSTATE {sqlstate})"
            ) from None

    # --- the backend contract ------------------------------------------------------------------------------

    @contextmanager
    def transaction(self, *, exclusive: bool = False) -> Iterator[_Cursor]:
        with self._connection() as connection, self._mapped(), connection.transaction():
            cursor = _Cursor(connection.cursor())
            if exclusive:
                cursor.execute(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            yield cursor

    @contextmanager
    def query(self) -> Iterator[_Cursor]:
        with self._connection() as connection, self._mapped():
            yield _Cursor(connection.cursor())

    def record_values(self, record: Record) -> tuple[object, ...]:
        return (
            record.record_id,
            record.first_name,
            list(record.middle_names),
            record.surname,
            list(record.previous_surnames),
            record.date_of_birth,
            record.gender,
            list(record.address_lines),
            record.postcode,
            list(record.previous_postcodes),
            record.nino,
        )

    def date_value(self, value: date) -> date:
        return value

    def json_value(self, value: Mapping[str, object]) -> Jsonb:
        return Jsonb(dict(value))

    def time_value(self, moment: datetime) -> datetime:
        return moment

    def close(self) -> None:
        self._closed = True
        with self._idle_lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
