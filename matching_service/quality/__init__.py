"""Published matching quality: a synthetic hard set of department records and citizen queries (generated
with a fixed seed, committed in `hard_set/`), and the report of how the local matcher does on it.

    python -m matching_service.quality.generate   # rewrite hard_set/ (deterministic)
    python -m matching_service.quality.report     # false matches and true-match rate per kind (make matching-report)
"""

from pathlib import Path

HARD_SET_DIR = Path(__file__).with_name("hard_set")
RECORDS_FILE = HARD_SET_DIR / "records.csv"
QUERIES_FILE = HARD_SET_DIR / "queries.jsonl"
