"""Shared fixtures for the local matcher tests: the demo records, the stub IDPs' test users, and the local
matcher app over the demo records called as the matching service calls it (with the bearer token).

Every store fixture runs each test twice: on SQLite (in memory) and on PostgreSQL (a schema of the test's
own on the machine's server, dropped afterwards; `tests.support.postgres`)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient

from matching_service.local_matcher_app import create_local_matcher_app
from matching_service.records import RecordStore, open_record_store
from matching_service.records_sql import SqlRecordStore
from tests.support.postgres import private_schema

REPO = Path(__file__).resolve().parents[3]
DEMO_RECORDS = REPO / "matching_service" / "demo" / "records.csv"
USERS_YAML = REPO / "stub_idps" / "data" / "users.yaml"
ALL_IDPS = ("stub-idp-one", "stub-idp-two", "stub-idp-three")
MS_ENTITY_ID = "http://ms.example/test-rp-ms"
LOCAL_MATCHING_TOKEN = "unit-tests-local-matching-token-" + "0123456789abcdef" * 2


def pid_for(idp: str, username: str) -> str:
    """The PID rule documented in users.yaml."""
    return hashlib.sha256(f"{idp}:{username}".encode()).hexdigest()


def hashed_pid_for(idp: str, username: str) -> str:
    """ARCHITECTURE step 8: hex(SHA-256(idpEntityId + matchingServiceEntityId + pid))."""
    idp_entity_id = f"http://idp.example/{idp}"
    return hashlib.sha256((idp_entity_id + MS_ENTITY_ID + pid_for(idp, username)).encode()).hexdigest()


def _value(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {"value": entry["value"], "verified": entry["verified"], "from": entry.get("from"), "to": entry.get("to")}


def _address(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "lines": entry["lines"],
        "postCode": entry.get("postcode"),
        "internationalPostCode": None,
        "uprn": entry.get("uprn"),
        "from": entry.get("from"),
        "to": entry.get("to"),
        "verified": entry["verified"],
    }


def match_body(user: dict[str, Any], *, idp: str | None = None, cycle3: dict[str, str] | None = None) -> dict:
    """The JSON contract body the SAML endpoint would send for this user's MDS assertion."""
    mds = user["matching_dataset"]
    idp = idp or user.get("idps", ALL_IDPS)[0]
    body: dict[str, Any] = {
        "matchId": f"match-{user['username']}",
        "levelOfAssurance": user["level_of_assurance"],
        "hashedPid": hashed_pid_for(idp, user["username"]),
        "matchingDataset": {
            "firstName": _value(mds.get("first_name")),
            "middleNames": _value(mds.get("middle_names")),
            "surnames": [_value(s) for s in mds.get("surnames", [])],
            "gender": _value(mds.get("gender")),
            "dateOfBirth": _value(mds.get("date_of_birth")),
            "addresses": [_address(a) for a in [mds["current_address"], *mds.get("previous_addresses", [])]],
        },
    }
    if cycle3 is not None:
        body["cycle3Dataset"] = {"attributes": cycle3}
    return body


@pytest.fixture(scope="session")
def users() -> list[dict[str, Any]]:
    return yaml.safe_load(USERS_YAML.read_text(encoding="utf-8"))["users"]


@pytest.fixture(scope="session")
def users_by_name(users: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {u["username"]: u for u in users}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_store(request: pytest.FixtureRequest) -> Iterator[SqlRecordStore]:
    """An empty record store on each backend."""
    if request.param == "sqlite":
        store: SqlRecordStore = RecordStore(":memory:")
        yield store
        store.close()
        return
    with private_schema() as url:
        store = open_record_store(url)
        yield store
        store.close()


@pytest.fixture
def demo_store(empty_store: SqlRecordStore) -> SqlRecordStore:
    empty_store.import_csv(DEMO_RECORDS)
    return empty_store


@pytest.fixture(scope="session")
def make_match_body():
    return match_body


@pytest.fixture(scope="session")
def make_hashed_pid():
    return hashed_pid_for


@pytest.fixture(scope="session")
def local_matching_token() -> str:
    return LOCAL_MATCHING_TOKEN


@pytest.fixture
def matcher_client(demo_store: SqlRecordStore) -> FlaskClient:
    """The local matcher app over `demo_store`; every request carries the bearer token, as the MS sends it."""
    client = create_local_matcher_app(demo_store, token=LOCAL_MATCHING_TOKEN).test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {LOCAL_MATCHING_TOKEN}"
    return client


_QUALITY_TABLES: list[str] = []


@pytest.fixture(scope="session")
def print_at_the_end():
    """Hand a text to print after the run (the matching-quality table, next to the test results)."""
    return _QUALITY_TABLES.append


def pytest_terminal_summary(terminalreporter, config) -> None:
    for table in _QUALITY_TABLES:
        terminalreporter.section("matching quality (as make matching-report prints it)")
        terminalreporter.write_line(table)
