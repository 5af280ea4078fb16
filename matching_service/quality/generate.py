"""Generate the hard set: synthetic department records and citizen queries, each labelled with its kind
and the record of the person asking (or none), with a fixed seed so the output never changes by accident.

Why synthetic and why hard: real records cannot live in a repository, and an easy set proves nothing. Every
case puts the people that make a matcher fail side by side: neighbours with the same name and date of
birth at one postcode (another house, another flat of one building), parents and children with one name
at one address, twins, spouses, names one letter apart, and the forms real records hold (titles, suffixes,
punctuation, initials, names in the wrong field, abbreviated and re-ordered address lines). The label is
ground truth about people (which person asks, which record is theirs), never a prediction of the rule:
a false match is a match to any record that is not the asker's.

Groups of kinds:
    match       the asker's record is on file and a careful rule can find it;
    negative    the asker is not on file, a record that looks like theirs is (any match is false);
    by-design   the asker's record is on file but the rule answers no match on purpose (a spelling the
                rule does not guess, no date of birth, a flat on one side only): found at cycle 3 or not at all.

Output: hard_set/records.csv (the documented CSV) and hard_set/queries.jsonl (one query a line:
id, kind, group, expected_record_id, request = the local matcher's JSON contract body).
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Iterator

from matching_service.quality import QUERIES_FILE, RECORDS_FILE
from matching_service.quality.kinds import KINDS
from matching_service.quality.world import Neighbourhood, World
from matching_service.records_csv import CSV_COLUMNS

SEED = 20240611
CASES_PER_KIND = 25


def generate(seed: int = SEED, cases: int = CASES_PER_KIND) -> tuple[str, str]:
    """(records CSV text, queries JSON-lines text): the same for the same seed, every time."""
    world = World(random.Random(seed))
    for _group, _description, case in KINDS.values():
        for _ in range(cases):
            area = Neighbourhood(world)
            case(world, area)
            area.fill_with_neighbours()
    records = io.StringIO()
    writer = csv.writer(records, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in sorted(world.rows, key=lambda r: r.record_id):
        writer.writerow(row.as_csv())
    queries = "".join(
        json.dumps(q | {"group": KINDS[q["kind"]][0]}, ensure_ascii=False, sort_keys=True) + "\n" for q in world.queries
    )
    return records.getvalue(), queries


def kinds() -> Iterator[tuple[str, str, str]]:
    """(kind, group, description) in the order the report lists them."""
    for name, (group, description, _case) in KINDS.items():
        yield name, group, description


def main() -> None:
    records, queries = generate()
    RECORDS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RECORDS_FILE.write_text(records, encoding="utf-8")
    QUERIES_FILE.write_text(queries, encoding="utf-8")
    print(f"wrote {records.count(chr(10)) - 1} records to {RECORDS_FILE}")
    print(f"wrote {queries.count(chr(10))} queries to {QUERIES_FILE}")


if __name__ == "__main__":
    main()
