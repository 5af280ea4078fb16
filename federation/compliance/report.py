"""The result of a compliance run: one row per scenario, printed as a table or written as Markdown."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


class Verdict(enum.StrEnum):
    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    FAIL = "FAIL"
    SKIP = "SKIP"  # not run (e.g. no saved Response for it): never a pass, never a failure


@dataclass(frozen=True)
class Row:
    scenario: str
    expected: str
    happened: str
    verdict: Verdict
    fix: str = ""  # what to change; empty when it passed


def passed(scenario: str, expected: str, happened: str) -> Row:
    return Row(scenario, expected, happened, Verdict.PASS)


def failed(scenario: str, expected: str, happened: str, fix: str) -> Row:
    return Row(scenario, expected, happened, Verdict.FAIL, fix)


def skipped(scenario: str, expected: str, why: str) -> Row:
    return Row(scenario, expected, why, Verdict.SKIP)


@dataclass(frozen=True)
class Report:
    title: str  # e.g. "check-idp stub-idp-two (https://stub-idp-two.federation.test)"
    context: tuple[tuple[str, str], ...]  # (label, value) lines: endpoints, how answers were obtained
    rows: tuple[Row, ...]
    at: datetime

    @property
    def failures(self) -> tuple[Row, ...]:
        return tuple(row for row in self.rows if row.verdict is Verdict.FAIL)

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        counts = {verdict: sum(row.verdict is verdict for row in self.rows) for verdict in Verdict}
        return f"{counts[Verdict.PASS]} passed, {counts[Verdict.FAIL]} failed, {counts[Verdict.SKIP]} skipped"


HEADINGS = ("scenario", "expected", "what happened", "result", "what to fix")


def render_table(report: Report) -> str:
    """Plain text for a terminal: aligned columns, the last one (what to fix) as long as it needs."""
    cells = [HEADINGS, *[(r.scenario, r.expected, r.happened, r.verdict.value, r.fix) for r in report.rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADINGS) - 1)]
    lines = [report.title, *(f"  {label}: {value}" for label, value in report.context), ""]
    for row in cells:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])
    lines.append("")
    lines.append(("PASSED: " if report.ok else "FAILED: ") + report.summary())
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ") or " "


def render_markdown(report: Report) -> str:
    """The same as a Markdown document: a compliance report an identity provider can keep and share."""
    lines = [
        f"# Compliance report: {_md(report.title)}",
        "",
        f"Run at {report.at:%Y-%m-%d %H:%M:%S} UTC. Result: **{'passed' if report.ok else 'failed'}** "
        f"({report.summary()}).",
        "",
        *(f"- {_md(label)}: `{value}`" for label, value in report.context),
        "",
        "| " + " | ".join(HEADINGS) + " |",
        "|" + "---|" * len(HEADINGS),
        *(
            f"| {_md(r.scenario)} | {_md(r.expected)} | {_md(r.happened)} | **{r.verdict.value}** | {_md(r.fix)} |"
            for r in report.rows
        ),
        "",
    ]
    failures: Sequence[Row] = report.failures
    if failures:
        lines += ["## What to fix", ""]
        lines += [f"- **{_md(r.scenario)}**: {_md(r.fix)}" for r in failures]
        lines.append("")
    lines.append("The profile every scenario checks: `docs/idp-profile.md` in the federation's repository.")
    return "\n".join(lines) + "\n"
