"""The department's records file (CSV): read it, keep every valid row, and say why each other row was refused.

Why row by row: a department's export of a million records always holds a few bad rows; refusing the whole
file for one of them leaves the service on stale records. So a bad row is refused on its own (with its line
number and the reason), and only a file that is not the documented CSV at all (not UTF-8, not CSV, wrong
header) is refused whole.

Columns (ARCHITECTURE section 2, step 8; any order, each exactly once): `CSV_COLUMNS`. Lists are separated
by ";", address lines by "|", dates are ISO 8601. `record_id`, `first_name` and `surname` are required. A
record without a date of birth is kept (the department holds such records) but can never match.
A record_id that appears on several rows of one file is refused on all of them: which row is right is
not ours to guess.

Errors name the line and column, never the value: values are personal data.
"""

from __future__ import annotations

import csv
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

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
REQUIRED_VALUES = frozenset({"record_id", "first_name", "surname"})
LIST_SEPARATOR = ";"
ADDRESS_LINE_SEPARATOR = "|"
MAX_FIELD_LENGTH = 500

_ISO_DATE = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")
_NINO = re.compile(r"\A[A-Z]{2}\d{6}[A-D]\Z")


class RecordImportError(ValueError):
    """A file refused whole, or (as `RefusedRow.error`) one row; names the line and column, never the value."""

    def __init__(self, source: str, line: int, column: str | None, problem: str) -> None:
        self.source = source
        self.line = line
        self.column = column
        self.problem = problem
        where = f"{source} line {line}" + (f", column {column}" if column else "")
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class RefusedRow:
    """A row the import refused: where, why, and the row as read (personal data: for the report file only)."""

    line: int
    column: str | None
    problem: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class RecordsFile:
    """What a records file holds: its header, the valid records, and the refused rows (in line order)."""

    header: tuple[str, ...]
    records: list[Record] = field(default_factory=list)
    refused: list[RefusedRow] = field(default_factory=list)


def read_records_csv(path: str | Path) -> RecordsFile:
    """Read a records file; raises RecordImportError only when the file is not the documented CSV at all."""
    source = Path(path).name
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return _read(csv.reader(handle, strict=True), source)
    except UnicodeDecodeError as exc:
        raise RecordImportError(source, 0, None, "file is not UTF-8 text: nothing was imported") from exc
    except csv.Error as exc:
        raise RecordImportError(source, 0, None, f"not a valid CSV file ({exc}): nothing was imported") from exc


def _check_header(header: list[str], source: str) -> None:
    if not header:
        raise RecordImportError(source, 1, None, "empty file (a header row is required)")
    for name in header:
        if name not in CSV_COLUMNS:
            raise RecordImportError(source, 1, name or "(blank)", "unknown column: is this the records CSV?")
        if header.count(name) > 1:
            raise RecordImportError(source, 1, name, "column appears twice")
    for name in CSV_COLUMNS:
        if name not in header:
            raise RecordImportError(source, 1, name, "missing column: is this the records CSV?")


def _rows(reader: Iterable[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """(line number where the row starts, fields); a quoted newline makes a row span several lines."""
    line = 1
    for raw in reader:
        start = line + 1
        line = getattr(reader, "line_num", start)
        yield start, raw


def _read(reader: Iterable[list[str]], source: str) -> RecordsFile:
    rows = _rows(reader)
    first = next(rows, None)
    header = [name.strip() for name in first[1]] if first else []
    _check_header(header, source)
    result = RecordsFile(header=tuple(header))
    lines_by_id: dict[str, list[int]] = defaultdict(list)
    parsed: list[tuple[int, Record, tuple[str, ...]]] = []
    for line, raw in rows:
        if not any(f.strip() for f in raw):
            continue  # blank line
        try:
            if len(raw) != len(header):
                raise RecordImportError(source, line, None, f"expected {len(header)} fields, found {len(raw)}")
            record = parse_row(dict(zip(header, (f.strip() for f in raw), strict=True)), source, line)
        except RecordImportError as exc:
            result.refused.append(RefusedRow(line, exc.column, exc.problem, tuple(raw)))
            continue
        lines_by_id[record.record_id].append(line)
        parsed.append((line, record, tuple(raw)))
    for line, record, raw in parsed:
        lines = lines_by_id[record.record_id]
        if len(lines) > 1:
            others = ", ".join(str(n) for n in lines if n != line)
            problem = f"record_id also on line {others} of this file: none of them was imported"
            result.refused.append(RefusedRow(line, "record_id", problem, raw))
        else:
            result.records.append(record)
    result.refused.sort(key=lambda r: r.line)
    return result


def _split(value: str, separator: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(separator) if part.strip())


def _date_of_birth(value: str, source: str, line: int) -> date | None:
    if not value:
        return None
    if not _ISO_DATE.match(value):
        raise RecordImportError(source, line, "date_of_birth", "not an ISO 8601 date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise RecordImportError(source, line, "date_of_birth", "not a valid calendar date") from exc


def parse_row(row: dict[str, str], source: str, line: int) -> Record:
    """One row (column -> stripped value) as a Record; raises RecordImportError naming the column."""
    for name, value in row.items():
        if name in REQUIRED_VALUES and not value:
            raise RecordImportError(source, line, name, "a value is required")
        if len(value) > MAX_FIELD_LENGTH:
            raise RecordImportError(source, line, name, f"longer than {MAX_FIELD_LENGTH} characters")
    nino = normalise_nino(row["nino"]) if row["nino"] else None
    if nino is not None and not _NINO.match(nino):
        raise RecordImportError(source, line, "nino", "not a National Insurance number (e.g. QQ123456C)")
    return Record(
        record_id=row["record_id"],
        first_name=row["first_name"],
        middle_names=_split(row["middle_names"], LIST_SEPARATOR),
        surname=row["surname"],
        previous_surnames=_split(row["previous_surnames"], LIST_SEPARATOR),
        date_of_birth=_date_of_birth(row["date_of_birth"], source, line),
        gender=row["gender"] or None,
        address_lines=_split(row["address_lines"], ADDRESS_LINE_SEPARATOR),
        postcode=row["postcode"] or None,
        previous_postcodes=_split(row["previous_postcodes"], LIST_SEPARATOR),
        nino=nino,
    )


def write_refused_report(path: Path, file: RecordsFile) -> None:
    """The refused rows as CSV (line, column, reason, then the row as read), readable by the owner only:
    the rows are personal data. Replaces any earlier report at that path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    with open(tmp, "x", encoding="utf-8", newline="", opener=_private_opener) as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "column", "reason", *file.header])
        for row in file.refused:
            writer.writerow([row.line, row.column or "", row.problem, *row.fields])
    tmp.replace(path)


def _private_opener(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)
