"""The record store (matching_service.records): CSV import, queries, links, created users, on both backends
(the `store` fixture: SQLite and PostgreSQL); the SQLite file's own rules at the end."""

from __future__ import annotations

import sqlite3
import stat
import threading
from datetime import date
from pathlib import Path

import pytest

from matching_service.records import (
    CSV_COLUMNS,
    RecordImportError,
    RecordStore,
    RecordStoreError,
    open_record_store,
)
from matching_service.records_schema import schema_version
from matching_service.records_sql import SqlRecordStore

HEADER = ",".join(CSV_COLUMNS)
GOOD_ROWS = [
    "R-1,Élodie,Anne;Marie,Martin,Dubois;Leroy,1984-06-17,FEMALE,"
    "1 Rue Street|Flat 2|London,SW1A 1AA,E1 6AN;N1 9GU,qq 12 34 56 c",
    "R-2,Tom,,Baker,,1975-12-03,,88 Station Road,HG1 1TE,,",
    'R-3,"Mary, Jane",,Clarke,,1984-06-17,FEMALE,"44 Kingsway, Manchester",M19 2LL,,',
]
PID = "a" * 64


def write_csv(tmp_path: Path, rows: list[str], header: str = HEADER, name: str = "records.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def store(empty_store: SqlRecordStore) -> SqlRecordStore:
    return empty_store


def test_import_good_file(store: SqlRecordStore, tmp_path: Path) -> None:
    assert store.import_csv(write_csv(tmp_path, GOOD_ROWS)) == 3
    assert store.record_count() == 3
    first = store.record("R-1")
    assert first is not None
    assert first.first_name == "Élodie"
    assert first.middle_names == ("Anne", "Marie")
    assert first.previous_surnames == ("Dubois", "Leroy")
    assert first.address_lines == ("1 Rue Street", "Flat 2", "London")
    assert first.previous_postcodes == ("E1 6AN", "N1 9GU")
    assert first.nino == "QQ123456C"
    assert first.date_of_birth == date(1984, 6, 17)
    second = store.record("R-2")
    assert second is not None and second.gender is None and second.nino is None and second.middle_names == ()
    assert store.record("R-3").first_name == "Mary, Jane"


def test_candidates_by_date_of_birth(store: SqlRecordStore, tmp_path: Path) -> None:
    store.import_csv(write_csv(tmp_path, GOOD_ROWS))
    assert [r.record_id for r in store.candidates_by_date_of_birth(date(1984, 6, 17))] == ["R-1", "R-3"]
    assert store.candidates_by_date_of_birth(date(2000, 1, 1)) == []


def test_a_bad_row_is_refused_alone_with_line_and_column(store: SqlRecordStore, tmp_path: Path) -> None:
    # Changed: one bad row used to refuse the whole file; now the valid rows are loaded.
    rows = [*GOOD_ROWS, "R-4,Ann,,Lee,,17/06/1984,,1 Road,AB1 2CD,,"]
    result = store.import_records(write_csv(tmp_path, rows))
    assert (result.imported, result.new) == (3, 3)
    assert [(r.line, r.column) for r in result.refused] == [(5, "date_of_birth")]
    assert "17/06/1984" not in result.refused[0].problem  # no personal data in the reason
    assert result.refused[0].fields[0] == "R-4"  # the row itself, for the report file
    assert store.record_count() == 3 and store.record("R-4") is None


def test_impossible_calendar_date_is_refused(store: SqlRecordStore, tmp_path: Path) -> None:
    result = store.import_records(write_csv(tmp_path, ["R-1,Ann,,Lee,,1984-02-30,,1 Road,AB1 2CD,,"]))
    refused = [(r.line, r.column, r.problem) for r in result.refused]
    assert refused == [(2, "date_of_birth", "not a valid calendar date")]


def test_missing_column_is_refused(store: SqlRecordStore, tmp_path: Path) -> None:
    header = ",".join(c for c in CSV_COLUMNS if c != "postcode")
    with pytest.raises(RecordImportError) as caught:
        store.import_records(write_csv(tmp_path, ["R-1,Ann,,Lee,,1984-06-17,,1 Road,,"], header=header))
    assert (caught.value.line, caught.value.column) == (1, "postcode")
    assert "missing column" in str(caught.value)


@pytest.mark.parametrize(
    ("row", "line", "column"),
    [
        ("R-9,,,Lee,,1984-06-17,,1 Road,AB1 2CD,,", 2, "first_name"),
        (",Ann,,Lee,,1984-06-17,,1 Road,AB1 2CD,,", 2, "record_id"),
        ("R-9,Ann,,,,1984-06-17,,1 Road,AB1 2CD,,", 2, "surname"),
        ("R-9,Ann,,Lee,,1984-06-17,,1 Road,AB1 2CD,,NOT-A-NINO", 2, "nino"),
        ("R-9,Ann,,Lee,,1984-06-17,,1 Road,AB1 2CD", 2, None),
        ("R-9,Ann,,Lee,,1984-06-17,,1 Road,AB1 2CD,,,extra", 2, None),
        ("R-9,Ann,,Lee,,1984-06-17,," + "x" * 501 + ",AB1 2CD,,", 2, "address_lines"),
    ],
)
def test_bad_rows_are_refused(store: SqlRecordStore, tmp_path: Path, row: str, line: int, column: str | None) -> None:
    result = store.import_records(write_csv(tmp_path, [GOOD_ROWS[1], row]))
    assert [(r.line, r.column) for r in result.refused] == [(line + 1, column)]
    assert store.record_count() == 1


def test_unknown_column_refuses_the_file_and_a_duplicate_record_id_refuses_every_copy(
    store: SqlRecordStore, tmp_path: Path
) -> None:
    with pytest.raises(RecordImportError, match="column post_code: unknown column"):
        store.import_records(write_csv(tmp_path, [], header=HEADER + ",post_code"))
    result = store.import_records(write_csv(tmp_path, [GOOD_ROWS[0], GOOD_ROWS[1], GOOD_ROWS[0]]))
    assert [(r.line, r.column) for r in result.refused] == [(2, "record_id"), (4, "record_id")]
    assert "line 4" in result.refused[0].problem and "line 2" in result.refused[1].problem
    assert store.record("R-1") is None and store.record("R-2") is not None  # which copy is right: not ours to guess


def test_line_numbers_count_quoted_newlines(store: SqlRecordStore, tmp_path: Path) -> None:
    rows = ['R-1,Ann,,Lee,,1984-06-17,,"1 Road\nSecond line",AB1 2CD,,', "R-2,Ann,,Lee,,1984-13-01,,1 Road,AB1,,"]
    result = store.import_records(write_csv(tmp_path, rows))
    assert [(r.line, r.column) for r in result.refused] == [(4, "date_of_birth")]
    assert store.record("R-1").address_lines == ("1 Road\nSecond line",)


def test_not_utf8_is_refused(store: SqlRecordStore, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "\nR-1,Sián,,Lee,,1984-06-17,,1 Road,AB1 2CD,,\n").encode("latin-1"))
    with pytest.raises(RecordImportError, match="not UTF-8"):
        store.import_records(path)
    assert store.record_count() == 0


@pytest.mark.parametrize(
    "content",
    [
        "",
        '{"records": []}\n',
        HEADER.replace(",", ";") + "\nR-1;Ann;;Lee;;1984-06-17;;1 Road;AB1 2CD;;\n",
        "name,dob\nAnn Lee,1984-06-17\n",
        HEADER + ",\nR-1,Ann,,Lee,,1984-06-17,,1 Road,AB1 2CD,,,\n",
        HEADER + '\nR-1,"Ann,,Lee,,1984-06-17,,1 Road,AB1 2CD,,\n',
    ],
    ids=["empty", "json", "semicolons", "another-csv", "blank-column", "unterminated-quote"],
)
def test_a_file_that_is_not_the_records_csv_is_refused_whole(
    store: SqlRecordStore, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RecordImportError) as caught:
        store.import_records(path)
    assert str(caught.value).startswith("export.csv line")
    assert store.record_count() == 0


def test_a_record_without_a_date_of_birth_is_kept(store: SqlRecordStore, tmp_path: Path) -> None:
    result = store.import_records(write_csv(tmp_path, [*GOOD_ROWS, "R-4,Ann,,Lee,,,,1 Road,AB1 2CD,,"]))
    assert result.refused == [] and result.imported == 4
    kept = store.record("R-4")
    assert kept is not None and kept.date_of_birth is None
    assert all(r.record_id != "R-4" for r in store.candidates_by_date_of_birth(date(1984, 6, 17)))


def test_reimport_reports_what_changed(store: SqlRecordStore, tmp_path: Path) -> None:
    first = store.import_records(write_csv(tmp_path, GOOD_ROWS))
    assert (first.new, first.updated, first.unchanged) == (3, 0, 0)
    again = store.import_records(write_csv(tmp_path, GOOD_ROWS))
    assert (again.new, again.updated, again.unchanged) == (0, 0, 3)
    changed = store.import_records(write_csv(tmp_path, [GOOD_ROWS[0], GOOD_ROWS[1].replace("HG1 1TE", "YO1 7HX")]))
    assert (changed.new, changed.updated, changed.unchanged) == (0, 1, 1)


def test_reimport_is_an_upsert_by_record_id(store: SqlRecordStore, tmp_path: Path) -> None:
    store.import_csv(write_csv(tmp_path, GOOD_ROWS))
    store.link(PID, "R-2", "LEVEL_2")
    updated = ["R-2,Tom,,Baker,,1975-12-03,,2 New Street,YO1 7HX,HG1 1TE,"]
    assert store.import_csv(write_csv(tmp_path, updated, name="update.csv")) == 1
    assert store.record_count() == 3
    assert store.record("R-2").postcode == "YO1 7HX"
    assert store.record_for_hashed_pid(PID) == "R-2"  # links survive an update
    store.import_csv(write_csv(tmp_path, GOOD_ROWS))
    assert store.record_count() == 3


def test_links(store: SqlRecordStore, tmp_path: Path) -> None:
    store.import_csv(write_csv(tmp_path, GOOD_ROWS))
    assert store.record_for_hashed_pid(PID) is None
    store.link(PID, "R-1", "LEVEL_2")
    store.link(PID, "R-1", "LEVEL_2")  # idempotent
    assert store.record_for_hashed_pid(PID) == "R-1"
    with pytest.raises(RecordStoreError):
        store.link(PID, "R-2", "LEVEL_2")
    with pytest.raises(RecordStoreError):
        store.link("b" * 64, "NO-SUCH-RECORD", "LEVEL_2")


def test_create_user(store: SqlRecordStore, tmp_path: Path) -> None:
    assert store.create_user(PID, "LEVEL_2", {"FIRST_NAME": "Nora"}) is True
    assert store.has_created_user(PID)
    assert store.created_user_attributes(PID) == {"FIRST_NAME": "Nora"}
    assert store.create_user(PID, "LEVEL_2", {}) is False  # already created
    store.import_csv(write_csv(tmp_path, GOOD_ROWS))
    store.link("c" * 64, "R-1", "LEVEL_2")
    assert store.create_user("c" * 64, "LEVEL_2", {}) is False  # already matched


def test_file_store_persists_and_serves_threads(tmp_path: Path) -> None:
    db = tmp_path / "ms.sqlite3"
    first = open_record_store(f"sqlite:///{db}")
    first.import_csv(write_csv(tmp_path, GOOD_ROWS))
    first.close()
    store = open_record_store(db)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for _ in range(20):
                assert len(store.candidates_by_date_of_birth(date(1984, 6, 17))) == 2
            store.link(f"{n:064x}", "R-2", "LEVEL_2")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(store.record_for_hashed_pid(f"{n:064x}") == "R-2" for n in range(8))
    store.close()


def test_other_database_urls_are_refused() -> None:
    with pytest.raises(RecordStoreError, match="not supported"):
        open_record_store("mysql://db.example/records")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_folder_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "var" / "nested" / "ms.sqlite3"
    store = RecordStore(db)
    store.import_records(write_csv(tmp_path, GOOD_ROWS))  # writes: SQLite makes its -wal and -shm files
    assert _mode(db) == 0o600
    assert _mode(db.parent) == 0o700 and _mode(db.parent.parent) == 0o700
    sidecars = [p for p in db.parent.iterdir() if p.name != db.name]
    assert sidecars and all(_mode(p) == 0o600 for p in sidecars), sidecars
    store.close()


def test_a_database_created_in_an_existing_folder_narrows_it(tmp_path: Path) -> None:
    folder = tmp_path / "var"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)  # as the service's runtime makes its var folder before the store opens
    RecordStore(folder / "ms.sqlite3").close()
    assert _mode(folder) == 0o700 and _mode(folder / "ms.sqlite3") == 0o600


def test_an_existing_database_readable_by_others_is_narrowed(tmp_path: Path) -> None:
    db = tmp_path / "ms.sqlite3"
    sqlite3.connect(db).close()
    db.chmod(0o644)
    RecordStore(db).close()
    assert _mode(db) == 0o600


def test_an_older_database_learns_to_keep_records_without_a_date_of_birth(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    old = sqlite3.connect(db)
    old.executescript(
        "CREATE TABLE records (record_id TEXT PRIMARY KEY, first_name TEXT NOT NULL, middle_names TEXT NOT NULL,"
        " surname TEXT NOT NULL, previous_surnames TEXT NOT NULL, date_of_birth TEXT NOT NULL, gender TEXT,"
        " address_lines TEXT NOT NULL, postcode TEXT, previous_postcodes TEXT NOT NULL, nino TEXT);"
        "CREATE INDEX records_date_of_birth ON records (date_of_birth);"
        "INSERT INTO records VALUES ('R-0', 'Ann', '[]', 'Lee', '[]', '1984-06-17', NULL, '[]', 'AB1 2CD', '[]', NULL);"
    )
    old.commit()
    old.close()
    store = RecordStore(db)
    assert schema_version(store.backend) == 2  # adopted by the numbered migrations
    result = store.import_records(write_csv(tmp_path, ["R-4,Ann,,Lee,,,,1 Road,AB1 2CD,,"]))
    assert result.refused == [] and store.record("R-4").date_of_birth is None
    assert [r.record_id for r in store.candidates_by_date_of_birth(date(1984, 6, 17))] == ["R-0"]
    store.close()
