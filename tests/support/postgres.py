"""The machine's PostgreSQL for tests: a schema or a database of the test's own, dropped afterwards.

`TEST_DATABASE_URL` (default `postgresql://postgres@127.0.0.1:5432/test`, trust authentication as on the
developers' machines and CI) names a database the tests may create schemas in and a user that may create
databases. Only what a test created is ever dropped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_answers(url: str = POSTGRES_URL) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def require_postgres() -> None:
    if not postgres_answers():
        pytest.skip(f"no PostgreSQL answers at {POSTGRES_URL} (set TEST_DATABASE_URL)")


def with_schema(url: str, schema: str) -> str:
    """The URL, its connections working in `schema` (libpq's `options=-csearch_path=...`)."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def unique_name(kind: str) -> str:
    return f"ms_{kind}_{uuid.uuid4().hex[:12]}"


def _admin(statement: sql.Composable) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(statement)


@contextmanager
def _created(kind: str, name: str, drop: str) -> Iterator[None]:
    require_postgres()
    _admin(sql.SQL(f"CREATE {kind} {{}}").format(sql.Identifier(name)))
    try:
        yield
    finally:
        _admin(sql.SQL(f"DROP {kind} {{}} {drop}").format(sql.Identifier(name)))


@contextmanager
def private_schema() -> Iterator[str]:
    """A store URL in a new schema of the test database; the schema (and all in it) is dropped afterwards."""
    schema = unique_name("test")
    with _created("SCHEMA", schema, "CASCADE"):
        yield with_schema(POSTGRES_URL, schema)


@contextmanager
def private_database() -> Iterator[str]:
    """The URL of a new, empty database (for tools that work on a whole database: pg_dump, pg_restore);
    dropped afterwards, its connections ended first."""
    name = unique_name("db")
    with _created("DATABASE", name, "WITH (FORCE)"):
        yield with_database(POSTGRES_URL, name)
