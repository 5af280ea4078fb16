"""Reports as CSV, as a plain-text table for the console, and the completion funnel as an SVG bar chart.

CSV cells that a spreadsheet would run as a formula (starting `=`, `+`, `-`, `@`) are prefixed with a
quote: entity IDs come from configuration, but a report may be opened by anyone in a spreadsheet.
"""

from __future__ import annotations

import csv
import io
from html import escape

from hub.reports.compute import Table

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([key for key, _ in table.columns])
    for row in table.rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


def to_text(table: Table) -> str:
    """A fixed-width table with the title and description above it."""
    cells = [table.headings] + [[str(value) for value in row] for row in table.rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(table.columns))]
    lines = [table.title, table.description, ""]
    for number, line in enumerate(cells):
        lines.append("  ".join(value.ljust(width) for value, width in zip(line, widths, strict=True)).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    if not table.rows:
        lines.append("(no events in this period)")
    return "\n".join(lines) + "\n"


def funnel_svg(totals: list[tuple[str, str, int]], *, width: int = 640, bar_height: int = 28) -> str:
    """Horizontal bars, one per stage, as long as its share of the journeys started (no script, no fonts)."""
    top = max((count for _stage, _heading, count in totals), default=0) or 1
    label_width, gap = 170, 8
    bar_room = width - label_width - 110
    height = len(totals) * (bar_height + gap) + gap
    started = totals[0][2] if totals else 0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="funnel-title"><title id="funnel-title">Journeys reaching each stage</title>'
    ]
    for index, (_stage, heading, count) in enumerate(totals):
        y = gap + index * (bar_height + gap)
        length = round(bar_room * count / top)
        share = f" ({100 * count / started:.0f}%)" if started else ""
        parts.append(
            f'<text x="0" y="{y + bar_height * 0.7:.0f}" font-size="16">{escape(heading)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{length}" height="{bar_height}" fill="#1d70b8"/>'
            f'<text x="{label_width + length + 6}" y="{y + bar_height * 0.7:.0f}" font-size="16">'
            f"{count}{share}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
