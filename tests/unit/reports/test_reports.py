"""The service managers' reports from synthetic audit events: stages, companies, matching, satisfaction,
billing, fraud; CSV, text and the chart; the console command."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest

from hub.reports import Period, read_events, read_feedback, report, stage_totals
from hub.reports.__main__ import main
from hub.reports.events import ReadCounts
from hub.reports.render import funnel_svg, to_csv, to_text

RP, RP2 = "https://rp-one", "https://rp-two"
IDP_A, IDP_B = "https://idp-a", "https://idp-b"


def line(time: str, event: str, ref: str, rp: str = RP, idp: str | None = None, **extra) -> str:
    record = {"time": time, "event": event, "session_ref": ref, "rp": rp, "idp": idp, "levels": None}
    if "levels" in extra:
        record["levels"] = extra.pop("levels")
    if extra:
        record["extra"] = extra
    return json.dumps(record)


def journey(ref: str, day: str, *events: tuple, rp: str = RP) -> list[str]:
    """Lines for one journey: session_started, then (event, idp, extra) at successive minutes."""
    lines = [line(f"{day}T10:00:00.000Z", "session_started", ref, rp=rp, levels=["LEVEL_2"])]
    for minute, (event, idp, extra) in enumerate(events, start=1):
        lines.append(line(f"{day}T10:{minute:02d}:00.000Z", event, ref, rp=rp, idp=idp, **extra))
    return lines


PROVED = ("idp_authn_succeeded", IDP_A, {"levels": ["LEVEL_2"]})
SUCCESS = ("returned_to_service", IDP_A, {"status": "SUCCESS"})
PROVED_B = ("idp_authn_succeeded", IDP_B, {"levels": ["LEVEL_1"]})
SUCCESS_B = ("returned_to_service", IDP_B, {"status": "SUCCESS"})
NO_MATCH = ("cycle01_no_match", IDP_A, {})
FRAUD = ("fraud_detected", IDP_B, {"fraud_indicator": "FI01"})
CREATED = ("user_account_created", IDP_A, {})


@pytest.fixture
def audit_file(tmp_path: Path) -> Path:
    lines = [
        # 1: all the way, matched at cycle 0/1
        *journey("j1", "2026-11-01", ("idp_selected", IDP_A, {}), PROVED, ("cycle01_match", IDP_A, {}), SUCCESS),
        # 2: stopped after choosing a company
        *journey("j2", "2026-11-01", ("idp_selected", IDP_A, {})),
        # 3: cancelled at the company, chose another, which failed
        *journey(
            "j3",
            "2026-11-01",
            ("idp_selected", IDP_A, {}),
            ("no_authn_context", IDP_A, {}),
            ("idp_selected", IDP_B, {}),
            ("idp_authn_failed", IDP_B, {"status": "authn-failed"}),
        ),
        # 4: proved, no match at cycle 0/1, matched at cycle 3 but the citizen declined to share
        *journey(
            "j4",
            "2026-11-01",
            ("idp_selected", IDP_A, {}),
            PROVED,
            ("cycle01_no_match", IDP_A, {}),
            ("waiting_for_cycle3_attributes", IDP_A, {}),
            ("cycle3_match", IDP_A, {}),
            ("release_declined", IDP_A, {}),
            ("returned_to_service", IDP_A, {"status": "NO_AUTHN_CONTEXT"}),
        ),
        # 5: fraud at company B
        *journey("j5", "2026-11-01", ("idp_selected", IDP_B, {}), FRAUD),
        # 6: the next day, another service needing no matching: proved and returned
        *journey("j6", "2026-11-02", ("idp_selected", IDP_B, {}), PROVED_B, SUCCESS_B, rp=RP2),
        # 7: account created after no match
        *journey("j7", "2026-11-02", ("idp_selected", IDP_A, {}), PROVED, NO_MATCH, CREATED, SUCCESS),
        "not json at all",
        '{"event": "session_started"}',
    ]  # fmt: skip
    path = tmp_path / "audit.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def feedback_file(tmp_path: Path) -> Path:
    path = tmp_path / "feedback.jsonl"
    answers = ["very-satisfied", "satisfied", "satisfied", "dissatisfied"]
    path.write_text(
        "".join(
            json.dumps({"time": "2026-11-01T10:00:00Z", "app": "hub", "rating": r, "comment": "[redacted]"}) + "\n"
            for r in answers
        ),
        encoding="utf-8",
    )
    return path


def rows(table) -> list[dict]:
    keys = [key for key, _ in table.columns]
    return [dict(zip(keys, row, strict=True)) for row in table.rows]


def test_bad_lines_are_counted_and_skipped(audit_file):
    counts = ReadCounts()
    events = read_events([audit_file, audit_file.with_name("missing.jsonl")], counts)
    assert counts.skipped == 2 and counts.read == len(events) + 2
    assert [e.time for e in events] == sorted(e.time for e in events)


def test_stages_count_each_journey_up_to_the_furthest_stage_it_reached(audit_file):
    table = report("stages", read_events([audit_file]), [])
    by_key = {(r["day"], r["service"], r["company"]): r for r in rows(table)}
    a = by_key[("2026-11-01", RP, IDP_A)]  # j1 (returned), j2 (chose), j4 (matched, declined)
    assert [a[s] for s in ("started", "company_chosen", "company_answered", "identity_proved", "matched")] == [
        3,
        3,
        2,
        2,
        2,
    ]
    assert a["returned_to_service"] == 1 and a["completion_percent"] == "33.3"
    b = by_key[("2026-11-01", RP, IDP_B)]  # j3 (last chose B, which failed), j5 (fraud)
    assert (b["started"], b["company_answered"], b["identity_proved"]) == (2, 2, 0)
    non_matching = by_key[("2026-11-02", RP2, IDP_B)]  # j6: no matching service, so "matched" on success
    assert non_matching["matched"] == 1 and non_matching["returned_to_service"] == 1
    totals = {stage: n for stage, _heading, n in stage_totals(table)}
    assert totals == {
        "started": 7,
        "company_chosen": 7,
        "company_answered": 6,
        "identity_proved": 4,
        "matched": 4,
        "returned_to_service": 3,
    }


def test_a_period_keeps_the_journeys_started_in_it(audit_file):
    events = read_events([audit_file])
    table = report("stages", events, [], Period(date(2026, 11, 2), date(2026, 11, 2)))
    assert sum(r["started"] for r in rows(table)) == 2
    assert report("billing", events, [], Period(date(2026, 11, 3), None)).rows == []


def test_companies_success_rate(audit_file):
    table = report("companies", read_events([audit_file]), [])
    by_key = {(r["day"], r["service"], r["company"]): r for r in rows(table)}
    a = by_key[("2026-11-01", RP, IDP_A)]
    assert (a["chosen"], a["proved"], a["cancelled"], a["success_percent"]) == (4, 2, 1, "50.0")
    b = by_key[("2026-11-01", RP, IDP_B)]
    assert (b["chosen"], b["failed"], b["fraud"], b["proved"], b["success_percent"]) == (2, 1, 1, 0, "0.0")


def test_matching_outcomes_by_cycle(audit_file):
    table = report("matching", read_events([audit_file]), [])
    by_day = {r["day"]: r for r in rows(table)}
    first = by_day["2026-11-01"]
    assert (first["cycle01_match"], first["cycle01_no_match"], first["cycle3_match"]) == (1, 1, 1)
    assert by_day["2026-11-02"]["account_created"] == 1


def test_billing_counts_proved_identities_per_company_service_and_level(audit_file):
    table = report("billing", read_events([audit_file]), [])
    assert rows(table) == [
        {"day": "2026-11-01", "company": IDP_A, "service": RP, "level": "LEVEL_2", "verifications": 2},
        {"day": "2026-11-02", "company": IDP_A, "service": RP, "level": "LEVEL_2", "verifications": 1},
        {"day": "2026-11-02", "company": IDP_B, "service": RP2, "level": "LEVEL_1", "verifications": 1},
    ]


def test_fraud_by_company_and_indicator(audit_file):
    table = report("fraud", read_events([audit_file]), [])
    assert rows(table) == [{"day": "2026-11-01", "company": IDP_B, "indicator": "FI01", "events": 1}]


def test_satisfaction_distribution(feedback_file):
    table = report("satisfaction", [], read_feedback([feedback_file]))
    (row,) = rows(table)
    assert (row["very-satisfied"], row["satisfied"], row["dissatisfied"], row["answers"]) == (1, 2, 1, 4)
    assert row["satisfied_percent"] == "75.0"


def test_satisfaction_is_counted_per_service(tmp_path):
    path = tmp_path / "feedback.jsonl"
    given = [("hub", "https://a.test", "satisfied"), ("hub", "https://b.test", "dissatisfied"), ("hub", "", "neither")]
    path.write_text(
        "".join(
            json.dumps({"time": "2026-11-01T10:00:00Z", "app": app, "service": service, "rating": rating}) + "\n"
            for app, service, rating in given
        ),
        encoding="utf-8",
    )
    by_service = {row["service"]: row for row in rows(report("satisfaction", [], read_feedback([path])))}
    assert set(by_service) == {"", "https://a.test", "https://b.test"}
    assert by_service["https://a.test"]["satisfied_percent"] == "100.0"
    assert by_service["https://b.test"]["dissatisfied"] == 1


def test_unknown_kind_is_named():
    with pytest.raises(ValueError, match="unknown report 'nope'"):
        report("nope", [], [])


def test_csv_text_and_chart(audit_file):
    table = report("stages", read_events([audit_file]), [])
    parsed = list(csv.DictReader(io.StringIO(to_csv(table))))
    assert len(parsed) == len(table.rows) and parsed[0]["day"] == "2026-11-01"
    text = to_text(table)
    assert text.startswith("Journeys and where they stop") and "Returned to service" in text
    svg = funnel_svg(stage_totals(table))
    assert svg.startswith("<svg") and svg.count("<rect") == 6 and "7 (100%)" in svg and "3 (43%)" in svg


def test_csv_cells_never_run_as_spreadsheet_formulas():
    from hub.reports.compute import Table

    table = Table("x", "X", "", (("a", "A"),), [("=HYPERLINK(1)",), ("-1",)])
    assert to_csv(table).splitlines()[1:] == ["'=HYPERLINK(1)", "'-1"]


def test_console_command_prints_a_table_or_csv(audit_file, feedback_file, capsys):
    assert main(["--audit", str(audit_file), "--feedback", str(feedback_file), "--kind", "billing"]) == 0
    out = capsys.readouterr()
    assert "Billing" in out.out and "LEVEL_2" in out.out and "skipped 2 of" in out.err
    args = [
        "--audit",
        str(audit_file),
        "--kind",
        "fraud",
        "--format",
        "csv",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-01",
    ]
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines() == ["day,company,indicator,events", f"2026-11-01,{IDP_B},FI01,1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "1 Nov"], "is not a date"),
        (["--from", "2026-11-02", "--to", "2026-11-01"], "--to is before --from"),
        (["--kind", "everything"], "invalid choice"),
    ],
)
def test_console_command_refuses_bad_arguments_with_a_message(audit_file, capsys, args, message):
    with pytest.raises(SystemExit) as exit_:
        main(["--audit", str(audit_file), *args])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_console_command_names_a_missing_audit_log(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--audit", str(tmp_path / "nope.jsonl")])
    assert "no such audit log" in capsys.readouterr().err


def test_the_files_are_read_again_only_when_they_change(audit_file):
    from hub.reports.events import UnchangedFilesCache

    cache, reads = UnchangedFilesCache(), []

    def read():
        reads.append(1)
        return read_events([audit_file])

    first = cache.get([audit_file], read)
    assert cache.get([audit_file], read) is first and len(reads) == 1
    with audit_file.open("a", encoding="utf-8") as handle:
        handle.write("\n")
    cache.get([audit_file], read)
    assert len(reads) == 2, "a file that grew is read again"
