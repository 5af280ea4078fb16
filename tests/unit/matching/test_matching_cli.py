"""`matching-service import FILE [--database PATH]`."""

from __future__ import annotations

import csv
import stat
import subprocess
import sys
from pathlib import Path

from federation.runtime import DEFAULT_VAR_DIR
from matching_service import app
from matching_service.cli import default_database, main
from matching_service.records import CSV_COLUMNS, RecordStore

REPO = Path(__file__).resolve().parents[3]
DEMO_RECORDS = REPO / "matching_service" / "demo" / "records.csv"


def test_import_demo_records_is_idempotent(tmp_path: Path, capsys) -> None:
    db = tmp_path / "var" / "ms.sqlite3"
    assert main(["import", str(DEMO_RECORDS), "--database", str(db)]) == 0
    first = capsys.readouterr().out
    assert main(["import", str(DEMO_RECORDS), "--database", str(db)]) == 0
    assert first.startswith("Imported 21 records")
    store = RecordStore(db)
    assert store.record_count() == 21
    store.close()


def test_database_from_environment(tmp_path: Path, monkeypatch, capsys) -> None:
    db = tmp_path / "env.sqlite3"
    monkeypatch.setenv("MATCHING_SERVICE_DB", str(db))
    assert main(["import", str(DEMO_RECORDS)]) == 0
    assert str(db) in capsys.readouterr().out
    assert db.exists()


def test_bad_rows_are_refused_alone_and_reported(tmp_path: Path, capsys) -> None:
    # Changed: one bad row used to refuse the whole file ("nothing was imported"), exit 1.
    bad = tmp_path / "export.csv"
    rows = [
        "R-1,Ann,,Lee,,1984-13-45,,1 Road,AB1 2CD,,",
        "R-2,Tom,,Baker,,1975-12-03,,88 Station Road,HG1 1TE,,",
        "R-3,Mo,,Khan,,,,2 Road,AB1 2CD,,",  # no date of birth: kept, never matches
        "R-4,,,Lee,,1984-06-17,,1 Road,AB1 2CD,,",
    ]
    bad.write_text(",".join(CSV_COLUMNS) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    db = tmp_path / "ms.sqlite3"
    assert main(["import", str(bad), "--database", str(db)]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("Imported 2 records") and "(2 new, 0 updated, 0 unchanged)" in out
    report = tmp_path / "export.refused.csv"
    assert f"Refused 2 rows: each with its line and reason in {report}" in err
    assert "line 2, column date_of_birth: not a valid calendar date" in err and "line 5, column first_name" in err
    assert "Ann" not in out + err and "1984-13-45" not in out + err  # values only in the report file
    with open(report, encoding="utf-8", newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == ["line", "column", "reason", *CSV_COLUMNS]
    assert [line[:2] for line in lines[1:]] == [["2", "date_of_birth"], ["5", "first_name"]]
    assert lines[1][3:] == rows[0].split(",")
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    store = RecordStore(db)
    assert store.record_count() == 2 and store.record("R-3").date_of_birth is None
    store.close()
    # a re-import changes nothing and says so
    assert main(["import", str(bad), "--database", str(db), "--report", str(tmp_path / "again.csv")]) == 1
    assert "(0 new, 0 updated, 2 unchanged)" in capsys.readouterr().out
    assert (tmp_path / "again.csv").exists()


def test_a_file_that_is_not_the_records_csv_is_refused_whole(tmp_path: Path, capsys) -> None:
    other = tmp_path / "people.csv"
    other.write_text("name,dob\nAnn Lee,1984-06-17\n", encoding="utf-8")
    db = tmp_path / "ms.sqlite3"
    assert main(["import", str(other), "--database", str(db)]) == 2
    err = capsys.readouterr().err
    assert "import refused, nothing was imported: people.csv line 1, column name: unknown column" in err
    assert not (tmp_path / "people.refused.csv").exists()


def test_default_database_is_the_services_own(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("MATCHING_SERVICE_DB", raising=False)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["import", str(DEMO_RECORDS)]) == 0
    service_db = tmp_path / "var" / app.DATABASE_FILE  # where create_app opens it under this VAR_DIR
    assert f"into {service_db}" in capsys.readouterr().out
    assert service_db.exists() and list(elsewhere.iterdir()) == []
    assert stat.S_IMODE(service_db.stat().st_mode) == 0o600
    assert stat.S_IMODE(service_db.parent.stat().st_mode) == 0o700


def test_without_var_dir_the_default_is_the_repositorys_var_folder(monkeypatch) -> None:
    monkeypatch.delenv("MATCHING_SERVICE_DB", raising=False)
    monkeypatch.delenv("VAR_DIR", raising=False)
    monkeypatch.chdir("/")
    assert default_database() == str(DEFAULT_VAR_DIR / app.DATABASE_FILE)
    assert Path(default_database()).is_absolute()


def test_a_relative_database_is_resolved(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["import", str(DEMO_RECORDS), "--database", "data/ms.sqlite3"]) == 0
    assert f"into {tmp_path / 'data' / 'ms.sqlite3'}" in capsys.readouterr().out


def test_missing_file(tmp_path: Path, capsys) -> None:
    assert main(["import", str(tmp_path / "nope.csv"), "--database", str(tmp_path / "x.sqlite3")]) == 2


def test_console_script_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "matching_service.cli",
            "import",
            str(DEMO_RECORDS),
            "--database",
            str(tmp_path / "d.db"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Imported 21 records" in result.stdout
