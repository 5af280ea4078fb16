"""Every scenario user in stub_idps/data/users.yaml gets its documented outcome against the demo records.

Runs the whole local matcher (JSON contract -> store -> rule) over matching_service/demo/records.csv.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

USERS_YAML = Path(__file__).resolve().parents[3] / "stub_idps" / "data" / "users.yaml"
USERNAMES = [u["username"] for u in yaml.safe_load(USERS_YAML.read_text(encoding="utf-8"))["users"]]
ALL_IDPS = ("stub-idp-one", "stub-idp-two", "stub-idp-three")

REQUIRED_SCENARIOS = {
    "exact-match",
    "non-ascii-name",
    "previous-surname-in-dataset",
    "previous-surname-in-record",
    "moved-house",
    "ambiguous",
    "no-record",
    "level1-only",
    "twins",
    "same-name-different-address",
    "unverified-values",
    "cycle3-match",
}


def test_the_user_file_is_well_formed(users) -> None:
    assert REQUIRED_SCENARIOS <= {u["scenario"] for u in users}
    assert len({u["username"] for u in users}) == len(users)
    for user in users:
        assert user["password"], user["username"]
        assert set(user.get("idps", ALL_IDPS)) <= set(ALL_IDPS), user["username"]
        assert user["level_of_assurance"] in {"LEVEL_1", "LEVEL_2"}, user["username"]
        assert user["expected_match"] in {"match", "no-match"}, user["username"]
        if user["expected_match"] == "match" or user.get("expected_cycle3_match") == "match":
            assert user["expected_record_id"].startswith("D-"), user["username"]
    assert any(u.get("matching_dataset", {}).get("middle_names") for u in users)
    assert any(u["matching_dataset"].get("previous_addresses") for u in users)
    assert any(len(u["matching_dataset"]["surnames"]) > 1 for u in users)
    assert any(not u["matching_dataset"]["first_name"]["value"].isascii() for u in users)


@pytest.mark.parametrize("username", USERNAMES)
def test_each_user_gets_the_outcome_of_its_scenario(
    username, users_by_name, demo_store, make_match_body, matcher_client
) -> None:
    user = users_by_name[username]
    client = matcher_client
    for idp in user.get("idps", ALL_IDPS):
        body = make_match_body(user, idp=idp)
        answer = client.post("/local-matching/match", json=body).get_json()
        assert answer == {"result": user["expected_match"]}, (username, idp)
        linked = demo_store.record_for_hashed_pid(body["hashedPid"])
        if user["expected_match"] == "match":
            assert linked == user["expected_record_id"], (username, idp)
        else:
            assert linked is None, (username, idp)
        if "cycle3_nino" in user:
            body = make_match_body(user, idp=idp, cycle3={"NationalInsuranceNumber": user["cycle3_nino"]})
            answer = client.post("/local-matching/match", json=body).get_json()
            assert answer == {"result": user["expected_cycle3_match"]}, (username, idp)
            if user["expected_cycle3_match"] == "match":
                assert demo_store.record_for_hashed_pid(body["hashedPid"]) == user["expected_record_id"]


def test_twins_match_only_their_own_records(users, demo_store, make_match_body, matcher_client) -> None:
    client = matcher_client
    twins = [u for u in users if u["scenario"] == "twins"]
    assert len(twins) == 2
    for twin in twins:
        body = make_match_body(twin)
        assert client.post("/local-matching/match", json=body).get_json() == {"result": "match"}
        assert demo_store.record_for_hashed_pid(body["hashedPid"]) == twin["expected_record_id"]
    assert twins[0]["expected_record_id"] != twins[1]["expected_record_id"]
