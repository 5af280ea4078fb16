"""The local matcher's JSON contract through Flask's test client, over the demo records."""

from __future__ import annotations

import json
import logging

import pytest
from flask.testing import FlaskClient

from matching_service.local_matcher_app import create_local_matcher_app
from matching_service.records import RecordStore


@pytest.fixture
def client(matcher_client: FlaskClient) -> FlaskClient:
    return matcher_client


def post(client: FlaskClient, path: str, body: object):
    return client.post(f"/local-matching/{path}", json=body)


def test_match_links_and_second_call_is_cycle0(client, demo_store, users_by_name, make_match_body, caplog) -> None:
    caplog.set_level(logging.INFO, logger="matching_service.local_matcher_app")
    body = make_match_body(users_by_name["alice"])
    response = post(client, "match", body)
    assert response.status_code == 200
    assert response.get_json() == {"result": "match"}
    assert demo_store.record_for_hashed_pid(body["hashedPid"]) == "D-1001"

    # Second visit: the dataset no longer fits any record (say the IDP's data changed), the link still does.
    body["matchingDataset"]["addresses"] = []
    body["matchId"] = "second-visit"
    assert post(client, "match", body).get_json() == {"result": "match"}
    assert "'second-visit': cycle 0, match" in caplog.text
    # Logs carry match IDs and results only.
    for personal in ("Alice", "Evans", "1985-03-14", "BS7", body["hashedPid"]):
        assert personal not in caplog.text


def test_no_match_links_nothing(client, demo_store, users_by_name, make_match_body) -> None:
    body = make_match_body(users_by_name["nora"])
    assert post(client, "match", body).get_json() == {"result": "no-match"}
    assert demo_store.record_for_hashed_pid(body["hashedPid"]) is None


def test_ambiguous_records_are_no_match(client, users_by_name, make_match_body) -> None:
    assert post(client, "match", make_match_body(users_by_name["david"])).get_json() == {"result": "no-match"}


def test_cycle3_nino_matches_and_links(client, demo_store, users_by_name, make_match_body) -> None:
    peter = users_by_name["peter"]
    assert post(client, "match", make_match_body(peter)).get_json() == {"result": "no-match"}
    body = make_match_body(peter, cycle3={"NationalInsuranceNumber": peter["cycle3_nino"]})
    assert post(client, "match", body).get_json() == {"result": "match"}
    assert demo_store.record_for_hashed_pid(body["hashedPid"]) == "D-1017"


def test_cycle3_without_a_nino_attribute_is_no_match(client, users_by_name, make_match_body) -> None:
    body = make_match_body(users_by_name["peter"], cycle3={"drivers_licence": "MORGA753116SM9IJ"})
    assert post(client, "match", body).get_json() == {"result": "no-match"}


def test_cycle3_wrong_nino_is_no_match(client, users_by_name, make_match_body) -> None:
    body = make_match_body(users_by_name["peter"], cycle3={"nino": "QQ100013C"})  # John Smith's
    assert post(client, "match", body).get_json() == {"result": "no-match"}


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"", b"[1, 2", b'{"matchId": NaN}', b'{"a": 1, "a": 2}', b"\xff\xfe"],
)
def test_malformed_json_is_400_json(client, raw: bytes) -> None:
    response = client.post("/local-matching/match", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.is_json and response.get_json()["error"] == "malformed-json"
    assert b"Traceback" not in response.data


def test_wrong_content_type_is_415(client, users_by_name, make_match_body) -> None:
    body = json.dumps(make_match_body(users_by_name["alice"]))
    response = client.post("/local-matching/match", data=body, content_type="text/plain")
    assert response.status_code == 415 and response.is_json


def test_oversized_body_is_413(client) -> None:
    response = client.post("/local-matching/match", data=b"[" + b"1," * 40000 + b"1]", content_type="application/json")
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda b: b.pop("hashedPid"), "hashedPid"),
        (lambda b: b.update(hashedPid="not-hex"), "hashedPid"),
        (lambda b: b.update(levelOfAssurance="LEVEL_9"), "levelOfAssurance"),
        (lambda b: b.update(unexpected=1), "unexpected"),
        (lambda b: b["matchingDataset"]["firstName"].update(verified="yes"), "matchingDataset.firstName.verified"),
        (lambda b: b["matchingDataset"]["dateOfBirth"].update(value="14/03/1985"), "matchingDataset.dateOfBirth.value"),
        (
            lambda b: b["matchingDataset"]["addresses"][0].update(postcode="BS7 8QT"),
            "matchingDataset.addresses[0].postcode",
        ),
        (lambda b: b["matchingDataset"].update(surnames={"value": "x"}), "matchingDataset.surnames"),
        (lambda b: b.update(cycle3Dataset={"attributes": {"nino": 5}}), "cycle3Dataset.attributes.nino"),
    ],
)
def test_contract_violations_are_400_naming_the_field(client, users_by_name, make_match_body, mutate, path) -> None:
    body = make_match_body(users_by_name["alice"])
    mutate(body)
    response = post(client, "match", body)
    assert response.status_code == 400
    error = response.get_json()
    assert error["error"] == "invalid-request"
    assert error["message"].startswith(path)
    assert "14/03/1985" not in error["message"]  # values are never echoed


def test_timestamp_dates_are_accepted(client, users_by_name, make_match_body) -> None:
    body = make_match_body(users_by_name["alice"])
    body["matchingDataset"]["dateOfBirth"]["value"] = "1985-03-14T00:00:00.000Z"
    assert post(client, "match", body).get_json() == {"result": "match"}


def test_wrong_method_is_405(client) -> None:
    assert client.get("/local-matching/match").status_code == 405


class BrokenStore(RecordStore):
    """A store whose database has gone away mid-request."""

    def candidates_by_date_of_birth(self, date_of_birth):
        raise RuntimeError("database is locked: SELECT ... Alice Evans")


def test_a_failing_store_is_a_500_json_without_details(
    users_by_name, make_match_body, local_matching_token, caplog
) -> None:
    client = create_local_matcher_app(BrokenStore(":memory:"), token=local_matching_token).test_client()
    headers = {"Authorization": f"Bearer {local_matching_token}"}
    response = client.post("/local-matching/match", json=make_match_body(users_by_name["alice"]), headers=headers)
    assert response.status_code == 500
    assert response.get_json()["error"] == "internal-error"
    assert b"Alice" not in response.data and b"Traceback" not in response.data
    assert "RuntimeError" in caplog.text and "Alice" not in caplog.text


def test_create_user(client, demo_store, users_by_name, make_match_body, make_hashed_pid) -> None:
    hashed_pid = make_hashed_pid("stub-idp-one", "nora")
    body = {"hashedPid": hashed_pid, "levelOfAssurance": "LEVEL_2", "FIRST_NAME": "Nora", "SURNAME": "Quinn"}
    assert post(client, "create-user", body).get_json() == {"result": "success"}
    assert demo_store.created_user_attributes(hashed_pid) == {"FIRST_NAME": "Nora", "SURNAME": "Quinn"}
    assert post(client, "create-user", body).get_json() == {"result": "failure"}  # already exists
    # the created account is found by cycle 0 from now on
    assert post(client, "match", make_match_body(users_by_name["nora"])).get_json() == {"result": "match"}


def test_create_user_validation(client) -> None:
    assert post(client, "create-user", {"levelOfAssurance": "LEVEL_2"}).status_code == 400
    assert post(client, "create-user", {"hashedPid": "a" * 64, "levelOfAssurance": "HIGH"}).status_code == 400
    assert post(client, "create-user", ["a"]).status_code == 400
