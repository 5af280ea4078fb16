"""How the local matcher does on the hard set: false matches and the true-match rate per kind.

Why the real path: every query goes through the contract parser and `local_matcher.decide()` over a real
SQLite store loaded by the real import, exactly as a department's service would answer it; nothing is
stubbed, so the numbers are the service's, not a model's.

    false match   the answer is a record that is not the asker's (the asker's own, or none, was right)
    true match    the answer is the asker's record
    rate          true matches / queries whose asker is on file
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from matching_service.local_matcher import decide
from matching_service.local_matching_contract import parse_match_request
from matching_service.quality import QUERIES_FILE, RECORDS_FILE
from matching_service.quality.generate import CASES_PER_KIND, SEED, kinds
from matching_service.records import RecordStore

GROUP_TITLES = {
    "match": "the asker's record is on file",
    "negative": "hard negatives: the asker is not on file, a look-alike is",
    "by-design": "no match by design: the asker is on file, the rule says no (cycle 3 or another route)",
}


@dataclass
class KindScore:
    kind: str
    group: str
    description: str
    queries: int = 0
    on_file: int = 0
    true_matches: int = 0
    false_matches: int = 0

    @property
    def rate(self) -> float | None:
        return self.true_matches / self.on_file if self.on_file else None


@dataclass
class QualityReport:
    records: int
    scores: dict[str, KindScore] = field(default_factory=dict)
    false_match_ids: list[int] = field(default_factory=list)  # query IDs, to find them in queries.jsonl

    @property
    def queries(self) -> int:
        return sum(s.queries for s in self.scores.values())

    @property
    def false_matches(self) -> int:
        return sum(s.false_matches for s in self.scores.values())


def evaluate(records_file: Path = RECORDS_FILE, queries_file: Path = QUERIES_FILE) -> QualityReport:
    """Load the records into a fresh SQLite store and answer every query with the real matcher."""
    with tempfile.TemporaryDirectory(prefix="matching-quality-") as folder:
        store = RecordStore(Path(folder) / "hard-set.sqlite3")
        try:
            loaded = store.import_records(records_file)
            if loaded.refused:
                raise ValueError(f"{records_file.name}: {len(loaded.refused)} rows refused; regenerate the set")
            report = QualityReport(records=loaded.imported)
            report.scores = {name: KindScore(name, group, text) for name, group, text in kinds()}
            for line in queries_file.read_text(encoding="utf-8").splitlines():
                _score(store, json.loads(line), report)
        finally:
            store.close()
    return report


def _score(store: RecordStore, query: dict, report: QualityReport) -> None:
    score = report.scores[query["kind"]]
    expected = query["expected_record_id"]
    outcome = decide(store, parse_match_request(query["request"]))
    score.queries += 1
    score.on_file += expected is not None
    if outcome.result == "match" and outcome.record_id == expected:
        score.true_matches += 1
    elif outcome.result == "match":
        score.false_matches += 1
        report.false_match_ids.append(query["id"])


def format_report(report: QualityReport) -> str:
    """The table the README quotes."""
    width = max(len(k) for k in report.scores) + 2
    header = f"{'kind':<{width}}{'queries':>8}{'on file':>9}{'true':>6}{'rate':>8}{'false':>7}"
    lines = [
        f"Matching quality on the hard set: {report.records} records, {report.queries} queries "
        f"(seed {SEED}, {CASES_PER_KIND} cases a kind)",
        f"False matches: {report.false_matches}",
    ]
    for group, title in GROUP_TITLES.items():
        lines += ["", f"{group}: {title}", header]
        for score in (s for s in report.scores.values() if s.group == group):
            rate = f"{score.rate:.0%}" if score.rate is not None else "-"
            lines.append(
                f"{score.kind:<{width}}{score.queries:>8}{score.on_file:>9}{score.true_matches:>6}{rate:>8}"
                f"{score.false_matches:>7}"
            )
    counts = Counter[str]()
    for score in report.scores.values():
        counts["on_file"] += score.on_file if score.group == "match" else 0
        counts["true"] += score.true_matches if score.group == "match" else 0
    if counts["on_file"]:
        lines += ["", f"True-match rate where a careful rule can match: {counts['true'] / counts['on_file']:.1%}"]
    return "\n".join(lines)


def main() -> int:
    report = evaluate()
    print(format_report(report))
    return 1 if report.false_matches else 0


if __name__ == "__main__":
    raise SystemExit(main())
