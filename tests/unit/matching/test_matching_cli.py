"""`matching-service import FILE [--database PATH]`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from matching_service.cli import main
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


def test_bad_file_is_refused_with_line_and_column(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join(CSV_COLUMNS) + "\nR-1,Ann,,Lee,,1984-13-45,,1 Road,AB1 2CD,,\n", encoding="utf-8")
    db = tmp_path / "ms.sqlite3"
    assert main(["import", str(bad), "--database", str(db)]) == 1
    err = capsys.readouterr().err
    assert "bad.csv line 2, column date_of_birth" in err and "nothing was imported" in err


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
