"""After every journey has run: no test user's name, date of birth or postcode in any log or audit event.

Named so that pytest runs it after the other end-to-end tests of the session.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.e2e

USERS = Path(__file__).resolve().parents[2] / "stub_idps" / "data" / "users.yaml"


def _personal_values(user: dict) -> set[str]:
    values: set[str] = set()

    def walk(node, key=""):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for item in node:
                walk(item, key)
        elif isinstance(node, str) and key in {
            "first_name",
            "first_names",
            "middle_names",
            "middle_name",
            "surname",
            "surnames",
            "value",
            "date_of_birth",
            "postcode",
            "post_code",
            "lines",
            "line",
        }:
            if len(node) >= 4 and node.lower() not in {"true", "false"}:
                values.add(node)

    walk({k: v for k, v in user.items() if k not in ("username", "password", "scenario", "idps")})
    return values


def test_logs_and_audit_events_hold_no_personal_data(federation, var_dir):
    users = yaml.safe_load(USERS.read_text())["users"]
    secrets = set().union(*(_personal_values(u) for u in users))
    assert len(secrets) > 30, "the users file shape changed: the search would find nothing"
    files = [var_dir / "audit.jsonl", *sorted((var_dir / "log").glob("*.log"))]
    assert (var_dir / "audit.jsonl").stat().st_size > 0
    found = []
    for path in files:
        text = path.read_text(errors="replace")
        found += [(path.name, value) for value in secrets if value in text]
    assert not found, f"personal data in logs: {found[:10]}"
