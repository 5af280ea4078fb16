"""The records database's schema, as numbered migrations shared by both backends, and the code that applies them.

One history for SQLite and PostgreSQL: migration N means the same change on both (each carries the
statements of either dialect), so "schema version 2" says the same thing whichever database a department
runs. The version is the highest row of `schema_migrations`. The migrations are applied at start (every
store opens with `migrate=True`: the local matcher, `matching-service import`) and by
`matching-service migrate`; all pending ones run in one transaction, with the database's lock for it held
first (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE), so two processes starting at once apply
each migration exactly once, and a failed migration leaves the schema as it was. A database whose version
is newer than this code's is refused: an older matching service must not write to a schema it does not know.

Our own ~100 lines rather than a migration library: the schema is three tables, the history short, the
two dialects' DDL is written out side by side, and nothing else (an ORM, a second driver) would come along.

SQLite databases made before this history (no `schema_migrations`) are adopted: migration 1 creates only
the tables that are missing, and migration 2 rebuilds `records` only if its date of birth is still NOT NULL.
To add a migration: append one with the next number and both dialects' statements; never edit one that
has shipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from matching_service.records_backend import Backend, Cursor, RecordStoreError


class SchemaTooNew(RecordStoreError):
    """The database's schema is newer than this code knows: refuse rather than write to it."""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sqlite: Callable[[Cursor], None]
    postgresql: Callable[[Cursor], None]


def statements(*sql: str) -> Callable[[Cursor], None]:
    def run(cursor: Cursor) -> None:
        for statement in sql:
            cursor.execute(statement)

    return run


# --- SQLite ------------------------------------------------------------------------------------------------

_SQLITE_RECORDS = """CREATE TABLE IF NOT EXISTS records (
    record_id          TEXT PRIMARY KEY,
    first_name         TEXT NOT NULL,
    middle_names       TEXT NOT NULL,  -- JSON array
    surname            TEXT NOT NULL,
    previous_surnames  TEXT NOT NULL,  -- JSON array
    date_of_birth      TEXT{dob},      -- ISO 8601 date
    gender             TEXT,
    address_lines      TEXT NOT NULL,  -- JSON array
    postcode           TEXT,
    previous_postcodes TEXT NOT NULL,  -- JSON array
    nino               TEXT            -- normalised: upper case, no spaces
)"""
_SQLITE_DOB_INDEX = "CREATE INDEX IF NOT EXISTS records_date_of_birth ON records (date_of_birth)"


def _sqlite_allow_records_without_date_of_birth(cursor: Cursor) -> None:
    """SQLite cannot drop a NOT NULL in place: rebuild the table (only where the constraint is still there)."""
    cursor.execute("PRAGMA table_info(records)")
    if not any(column[1] == "date_of_birth" and column[3] for column in cursor.fetchall()):
        return
    statements(
        "ALTER TABLE records RENAME TO records_before_nullable_dob",
        "DROP INDEX IF EXISTS records_date_of_birth",
        _SQLITE_RECORDS.format(dob=""),
        _SQLITE_DOB_INDEX,
        "INSERT INTO records SELECT * FROM records_before_nullable_dob",
        "DROP TABLE records_before_nullable_dob",
    )(cursor)


# --- PostgreSQL ---------------------------------------------------------------------------------------------

_POSTGRES_TABLES = (
    """CREATE TABLE records (
    record_id          TEXT PRIMARY KEY,
    first_name         TEXT NOT NULL,
    middle_names       TEXT[] NOT NULL,
    surname            TEXT NOT NULL,
    previous_surnames  TEXT[] NOT NULL,
    date_of_birth      DATE NOT NULL,
    gender             TEXT,
    address_lines      TEXT[] NOT NULL,
    postcode           TEXT,
    previous_postcodes TEXT[] NOT NULL,
    nino               TEXT
)""",
    "CREATE INDEX records_date_of_birth ON records (date_of_birth)",
    """CREATE TABLE pid_links (
    hashed_pid         TEXT PRIMARY KEY,
    record_id          TEXT NOT NULL,
    level_of_assurance TEXT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL
)""",
    """CREATE TABLE created_users (
    hashed_pid         TEXT PRIMARY KEY,
    level_of_assurance TEXT NOT NULL,
    attributes         JSONB NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL
)""",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "records, PID links and created accounts",
        sqlite=statements(
            _SQLITE_RECORDS.format(dob=" NOT NULL"),
            _SQLITE_DOB_INDEX,
            "CREATE TABLE IF NOT EXISTS pid_links (hashed_pid TEXT PRIMARY KEY, record_id TEXT NOT NULL,"
            " level_of_assurance TEXT NOT NULL, created_at TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS created_users (hashed_pid TEXT PRIMARY KEY,"
            " level_of_assurance TEXT NOT NULL, attributes TEXT NOT NULL, created_at TEXT NOT NULL)",
        ),
        postgresql=statements(*_POSTGRES_TABLES),
    ),
    Migration(
        2,
        "records may have no date of birth (kept, never matched)",
        sqlite=_sqlite_allow_records_without_date_of_birth,
        postgresql=statements("ALTER TABLE records ALTER COLUMN date_of_birth DROP NOT NULL"),
    ),
)
LATEST_VERSION = MIGRATIONS[-1].version

_VERSIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations"
    " (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


def _current_version(cursor: Cursor) -> int:
    cursor.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
    return int(cursor.fetchone()[0])


def migrate(backend: Backend, migrations: Sequence[Migration] = MIGRATIONS) -> list[Migration]:
    """Apply the migrations the database has not had, in order, in one transaction; returns them."""
    if [m.version for m in migrations] != list(range(1, len(migrations) + 1)):
        raise ValueError("migrations must be numbered 1, 2, 3... in order")
    latest = migrations[-1].version if migrations else 0
    with backend.transaction(exclusive=True) as cursor:
        cursor.execute(_VERSIONS_TABLE)
        current = _current_version(cursor)
        if current > latest:
            raise SchemaTooNew(
                f"the records database {backend.location} is at schema version {current}, newer than this"
                f" matching service's {latest}: upgrade the matching service"
            )
        pending = [m for m in migrations if m.version > current]
        applied_at = datetime.now(UTC).isoformat(timespec="seconds")
        for migration in pending:
            getattr(migration, backend.dialect)(cursor)
            cursor.execute(
                "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.description, applied_at),
            )
    return pending


def schema_version(backend: Backend) -> int:
    """The database's schema version (0: none yet)."""
    with backend.transaction() as cursor:
        cursor.execute(_VERSIONS_TABLE)
        return _current_version(cursor)
