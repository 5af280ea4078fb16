"""`journey_bench --compare`: two reports side by side, and a clear answer for a file that is not one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from federation.runtime import REPO_DIR
from tests.bench import journey_bench

BASELINE = REPO_DIR / "docs" / "bench" / "baseline-before-speed-work.json"


def test_a_report_against_a_changed_copy(tmp_path: Path, capsys):
    after = json.loads(BASELINE.read_text(encoding="utf-8"))
    after["summary"]["cpu_ms_per_journey_median"]["hub"] /= 4
    after["summary"]["ops_per_journey"]["hub"]["xml_parse"] = 6.0
    path = tmp_path / "after.json"
    path.write_text(json.dumps(after), encoding="utf-8")
    assert journey_bench.main(["--compare", str(BASELINE), str(path)]) == 0
    out = capsys.readouterr().out
    (hub,) = [line for line in out.splitlines() if line.strip().startswith("hub ")]
    assert hub.split()[1:] == ["69.2", "17.3", "0.25x"]
    assert "hub: xml_parse 11 -> 6" in out
    assert "stub_idps:" not in out  # unchanged processes are not listed


def test_each_report_names_its_load_driver(tmp_path: Path, capsys):
    after = json.loads(BASELINE.read_text(encoding="utf-8"))
    assert "driver" not in after  # written before the light driver: the BrowserClient drove it
    after["driver"] = "light"
    path = tmp_path / "after.json"
    path.write_text(json.dumps(after), encoding="utf-8")
    assert journey_bench.main(["--compare", str(BASELINE), str(path)]) == 0
    before_line, after_line = (line.strip() for line in capsys.readouterr().out.strip().splitlines()[:2])
    assert before_line.startswith("before:") and before_line.endswith("; browser load driver)")
    assert after_line.startswith("after:") and after_line.endswith("; light load driver)")


def test_not_a_report(tmp_path: Path):
    path = tmp_path / "other.json"
    path.write_text('{"levels": []}', encoding="utf-8")
    with pytest.raises(SystemExit, match=r"other.json: not a journey benchmark report \(KeyError"):
        journey_bench.main(["--compare", str(path), str(BASELINE)])
