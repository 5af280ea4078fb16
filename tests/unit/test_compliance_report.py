"""The compliance tool's report: a table for the terminal, Markdown for the file, the verdict for the exit."""

from __future__ import annotations

from datetime import UTC, datetime

from federation.compliance.report import Report, failed, passed, render_markdown, render_table, skipped

AT = datetime(2024, 6, 11, 9, 30, tzinfo=UTC)


def _report(*rows) -> Report:
    return Report("check-idp example", (("SSO URL", "https://idp.example/sso"),), rows, AT)


def test_a_table_with_a_column_per_heading_and_the_summary_last():
    report = _report(
        passed("request-valid", "accepted (2xx or 3xx)", "accepted (HTTP 303 to /login)"),
        failed(
            "success", "Success", "refused: wrong-audience:'x' (expected y)", "set saml:Audience to the hub's entity ID"
        ),
        skipped("fraud-DF01", "fraud", "no saved Response fraud-DF01.saml"),
    )
    text = render_table(report)
    lines = text.splitlines()
    assert lines[0] == "check-idp example" and lines[1] == "  SSO URL: https://idp.example/sso"
    header = next(line for line in lines if line.startswith("scenario"))
    assert [h.strip() for h in header.split("  ") if h.strip()] == [
        "scenario",
        "expected",
        "what happened",
        "result",
        "what to fix",
    ]
    row = next(line for line in lines if line.startswith("success"))
    assert row.index("FAIL") == header.index("result") and row.endswith("set saml:Audience to the hub's entity ID")
    assert lines[-1] == "FAILED: 1 passed, 1 failed, 1 skipped"
    assert not report.ok


def test_skips_alone_do_not_fail_a_run():
    report = _report(passed("a", "b", "c"), skipped("d", "e", "f"))
    assert report.ok and render_table(report).endswith("PASSED: 1 passed, 0 failed, 1 skipped\n")


def test_markdown_escapes_the_table_and_lists_what_to_fix():
    report = _report(failed("success", "a | b", "refused: x\nforged", "fix | it"))
    text = render_markdown(report)
    assert "| success | a \\| b | refused: x forged | **FAIL** | fix \\| it |" in text
    assert "Result: **failed** (0 passed, 1 failed, 0 skipped)" in text
    assert "## What to fix\n\n- **success**: fix \\| it" in text
