"""`matching-service import FILE [--database PATH]`: load a department's records from CSV.

The import is an upsert by record_id (see `records.py`): running it twice with one file changes nothing,
and a newer export updates the records it names. A bad row aborts the whole file with the line and column.
The database is `--database`, else $MATCHING_SERVICE_DB, else var/matching-service.sqlite3.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from matching_service.records import RecordImportError, RecordStoreError, open_record_store

DEFAULT_DATABASE = "var/matching-service.sqlite3"
DATABASE_ENV = "MATCHING_SERVICE_DB"


def default_database() -> str:
    return os.environ.get(DATABASE_ENV) or DEFAULT_DATABASE


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="matching-service", description="The department's matching service.")
    commands = parser.add_subparsers(dest="command", required=True)
    importer = commands.add_parser("import", help="load (upsert by record_id) records from a CSV file")
    importer.add_argument("file", type=Path, help="CSV file with the record columns (UTF-8)")
    importer.add_argument(
        "--database",
        default=None,
        help=f"SQLite file or sqlite:/// URL (default: ${DATABASE_ENV} or {DEFAULT_DATABASE})",
    )
    return parser


def _import(file: Path, database: str) -> int:
    if not file.is_file():
        print(f"matching-service: no such file: {file}", file=sys.stderr)
        return 2
    location = database.removeprefix("sqlite:///")
    if location != ":memory:" and "://" not in location:
        Path(location).parent.mkdir(parents=True, exist_ok=True)
    try:
        store = open_record_store(database)
    except RecordStoreError as exc:
        print(f"matching-service: {exc}", file=sys.stderr)
        return 2
    try:
        count = store.import_csv(file)
    except RecordImportError as exc:
        print(f"matching-service: import refused, nothing was imported: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"Imported {count} record{'s' if count != 1 else ''} from {file} into {database}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "import":
        return _import(args.file, args.database or default_database())
    return 2  # pragma: no cover - argparse refuses unknown commands


if __name__ == "__main__":
    sys.exit(main())
