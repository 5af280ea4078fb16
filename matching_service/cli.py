"""`matching-service import FILE [--database DB] [--report REPORT]`: load a department's records from CSV.
`matching-service migrate [--database DB]`: bring the records database's schema to this version's.

Every valid row is loaded (an upsert by record_id, see `records.py`: running it twice with one file changes
nothing, and a newer export updates the records it names). Each refused row is written, with its line
number and the reason, to the report file (default: FILE's name with `.refused.csv`, next to it; readable
by its owner only, as the rows are personal data), and the command exits 1. A file that is not the
documented CSV at all is refused whole (exit 2), as is a missing file or a database that cannot be opened.

The database is `--database`, else $MATCHING_SERVICE_DB, else the file the running service uses:
`<$VAR_DIR or the repository's var/>/matching-service.sqlite3`, always resolved to an absolute path so the
import never writes a stray database into whatever folder it was run from. A `postgresql://` URL works for
both commands, with the same semantics (`records.py`); it is shown without its password.

Both commands apply the schema migrations the database has not had (`records_schema.py`); `migrate` does
only that, and says which it applied (exit 0), or why it could not (exit 2).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from federation.runtime import DEFAULT_VAR_DIR
from matching_service.records import (
    ImportResult,
    RecordImportError,
    RecordStoreError,
    describe_location,
    open_record_store,
)
from matching_service.records_csv import write_refused_report
from matching_service.records_schema import migrate, schema_version

DATABASE_FILE = "matching-service.sqlite3"  # as matching_service.app names it in the var folder
DATABASE_ENV = "MATCHING_SERVICE_DB"
VAR_DIR_ENV = "VAR_DIR"
EXIT_ROWS_REFUSED = 1
EXIT_REFUSED = 2
SHOWN_REFUSALS = 20  # on the terminal; the report file has them all


def default_database() -> str:
    """The database the running service uses (see matching_service.app), as an absolute location."""
    configured = os.environ.get(DATABASE_ENV)
    if configured:
        return _absolute(configured)
    var_dir = Path(os.environ.get(VAR_DIR_ENV) or DEFAULT_VAR_DIR)
    return str((var_dir / DATABASE_FILE).resolve())


def _absolute(location: str) -> str:
    if location == ":memory:" or "://" in location:
        prefix = "sqlite:///"
        if location.startswith(prefix) and location != prefix:
            return prefix + str(Path(location.removeprefix(prefix)).resolve())
        return location
    return str(Path(location).resolve())


def default_report(file: Path) -> Path:
    return file.with_name(file.stem + ".refused.csv")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="matching-service", description="The department's matching service.")
    commands = parser.add_subparsers(dest="command", required=True)
    importer = commands.add_parser("import", help="load (upsert by record_id) records from a CSV file")
    importer.add_argument("file", type=Path, help="CSV file with the record columns (UTF-8)")
    database_help = (
        "SQLite file, sqlite:/// or postgresql:// URL"
        f" (default: ${DATABASE_ENV}, else <${VAR_DIR_ENV} or var/>/{DATABASE_FILE})"
    )
    importer.add_argument("--database", default=None, help=database_help)
    importer.add_argument(
        "--report", type=Path, default=None, help="where refused rows are written (default: FILE.refused.csv)"
    )
    migrator = commands.add_parser("migrate", help="apply the schema migrations the database has not had")
    migrator.add_argument("--database", default=None, help=database_help)
    return parser


def _summary(file: Path, database: str, result: ImportResult) -> str:
    plural = "s" if result.imported != 1 else ""
    return (
        f"Imported {result.imported} record{plural} from {file} into {describe_location(database)}"
        f" ({result.new} new, {result.updated} updated, {result.unchanged} unchanged)"
    )


def _import(file: Path, database: str, report: Path) -> int:
    if not file.is_file():
        print(f"matching-service: no such file: {file}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        store = open_record_store(database)
    except (RecordStoreError, OSError) as exc:
        print(f"matching-service: cannot open the database {describe_location(database)}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        result = store.import_records(file)
    except RecordImportError as exc:
        print(f"matching-service: import refused, nothing was imported: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except RecordStoreError as exc:  # our words only: a driver's message could quote a row
        print(f"matching-service: import failed, nothing was imported: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        store.close()
    print(_summary(file, database, result))
    if not result.refused:
        return 0
    count = len(result.refused)
    try:
        write_refused_report(report, result.file)
        where = f"each with its line and reason in {report}"
    except OSError as exc:
        where = f"the report could not be written to {report} ({exc.strerror})"
    print(f"Refused {count} row{'s' if count != 1 else ''}: {where}", file=sys.stderr)
    for row in result.refused[:SHOWN_REFUSALS]:  # line, column and reason only: never a value
        column = f", column {row.column}" if row.column else ""
        print(f"  line {row.line}{column}: {row.problem}", file=sys.stderr)
    if count > SHOWN_REFUSALS:
        print(f"  ... and {count - SHOWN_REFUSALS} more in the report", file=sys.stderr)
    return EXIT_ROWS_REFUSED


def _migrate(database: str) -> int:
    shown = describe_location(database)
    try:
        store = open_record_store(database, migrate=False)
    except (RecordStoreError, OSError) as exc:
        print(f"matching-service: cannot open the database {shown}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        applied = migrate(store.backend)
        version = schema_version(store.backend)
    except RecordStoreError as exc:
        print(f"matching-service: migration refused, the schema is unchanged: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        store.close()
    for migration in applied:
        print(f"Applied migration {migration.version}: {migration.description}")
    done = "is now" if applied else "was already"
    print(f"The schema of {shown} {done} at version {version}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    database = _absolute(args.database) if args.database else default_database()
    if args.command == "import":
        return _import(args.file, database, args.report or default_report(args.file))
    if args.command == "migrate":
        return _migrate(database)
    return 2  # pragma: no cover - argparse refuses unknown commands


if __name__ == "__main__":
    sys.exit(main())
