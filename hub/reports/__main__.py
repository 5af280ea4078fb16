"""The reports at the console: `python -m hub.reports --audit var/audit.jsonl --from 2026-11-01 --kind stages`.

Without --kind every report is printed, one after the other. Exit status 2 with a one-line message for
a wrong argument (an unknown report, a date that is not YYYY-MM-DD, a period that ends before it starts).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from hub.reports.compute import KINDS, Period, report
from hub.reports.events import ReadCounts, read_events, read_feedback
from hub.reports.render import to_csv, to_text


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hub.reports", description=__doc__.splitlines()[0])
    parser.add_argument("--audit", type=Path, nargs="+", default=[Path("var/audit.jsonl")], help="audit log files")
    parser.add_argument(
        "--feedback", type=Path, nargs="*", default=[Path("var/feedback.jsonl")], help="feedback log files"
    )
    parser.add_argument("--from", dest="start", type=_day, help="first day (UTC), YYYY-MM-DD")
    parser.add_argument("--to", dest="end", type=_day, help="last day (UTC), YYYY-MM-DD, included")
    parser.add_argument("--kind", choices=KINDS, action="append", help="a report (repeatable; default: all)")
    parser.add_argument("--format", choices=("table", "csv"), default="table")
    args = parser.parse_args(argv)
    if args.start and args.end and args.end < args.start:
        parser.error("--to is before --from")
    missing = [str(path) for path in args.audit if not path.exists()]
    if missing:
        parser.error(f"no such audit log: {', '.join(missing)}")
    counts = ReadCounts()
    events = read_events(args.audit, counts)
    feedback = read_feedback(args.feedback or [])
    period = Period(args.start, args.end)
    render = to_csv if args.format == "csv" else to_text
    for number, kind in enumerate(args.kind or KINDS):
        if number:
            sys.stdout.write("\n")
        sys.stdout.write(render(report(kind, events, feedback, period)))
    if counts.skipped:
        print(f"skipped {counts.skipped} of {counts.read} lines that were not audit events", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
