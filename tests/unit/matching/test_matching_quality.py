"""The published matching quality: zero false matches on the repository's hard set, and a floor under the
true-match rate of every kind (so a regression fails here), through the real import, store and decide().

The per-kind table is printed at the end of the pytest run (see conftest.py) and by `make matching-report`.
"""

from __future__ import annotations

import pytest

from matching_service.quality import QUERIES_FILE, RECORDS_FILE
from matching_service.quality.generate import generate, kinds
from matching_service.quality.report import QualityReport, evaluate, format_report

# The true-match rate each kind achieves today: it may rise, never fall. By-design kinds must stay at 0:
# matching them would mean the rule started guessing (a spelling, a flat, a missing date of birth).
MATCH_FLOORS: dict[str, float] = {
    "exact": 1.0,
    "address-format": 1.0,
    "moved-house": 1.0,
    "title-in-first-name": 1.0,
    "suffix-in-surname": 1.0,
    "surname-punctuation": 1.0,
    "middle-name-in-first-name": 1.0,
    "all-given-names-in-one-field": 1.0,
    "first-initial-full-middle": 1.0,
    "middle-name-initial": 1.0,
    "hyphenated-given-name": 1.0,
    "previous-surname": 1.0,
    "parent-and-child": 1.0,
    "twins": 1.0,
    "neighbours-both-on-file": 1.0,
    "flat-neighbours-both-on-file": 1.0,
    "suffix-distinguishes": 1.0,
    "spelling-variant-cycle3": 1.0,
    "cycle3-new-address": 1.0,
    "combined-variations": 1.0,
}


@pytest.fixture(scope="module")
def report(print_at_the_end) -> QualityReport:
    result = evaluate()
    print_at_the_end(format_report(result))
    return result


def test_the_committed_hard_set_is_what_the_generator_makes() -> None:
    records, queries = generate()
    assert RECORDS_FILE.read_text(encoding="utf-8") == records, "run: python -m matching_service.quality.generate"
    assert QUERIES_FILE.read_text(encoding="utf-8") == queries, "run: python -m matching_service.quality.generate"


def test_the_hard_set_covers_every_kind(report: QualityReport) -> None:
    groups = {name: group for name, group, _ in kinds()}
    assert set(groups.values()) == {"match", "negative", "by-design"}
    assert {k for k, g in groups.items() if g == "match"} == set(MATCH_FLOORS)
    for score in report.scores.values():
        assert score.queries >= 20, score.kind
        assert score.on_file == (0 if score.group == "negative" else score.queries), score.kind
    assert report.records > 5 * report.queries  # the look-alikes and the neighbours are on file too


def test_no_false_match_on_the_hard_set(report: QualityReport) -> None:
    assert report.false_matches == 0, f"false matches (query ids in queries.jsonl): {report.false_match_ids}"


@pytest.mark.parametrize("kind", sorted(MATCH_FLOORS))
def test_true_match_rate_per_kind_does_not_fall(report: QualityReport, kind: str) -> None:
    score = report.scores[kind]
    assert score.rate is not None and score.rate >= MATCH_FLOORS[kind], (kind, score.true_matches, score.on_file)


def test_by_design_kinds_are_never_matched(report: QualityReport) -> None:
    by_design = [s for s in report.scores.values() if s.group == "by-design"]
    assert by_design and all(s.true_matches == 0 and s.false_matches == 0 for s in by_design)
