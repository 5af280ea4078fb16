"""The built-in local matcher called in process (`local_matching_url: builtin:`): the same answers, checks and
log lines as our matcher behind its HTTP listener, and failures that are LocalMatcherErrors, never a crash."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import pytest

from matching_service.local_matcher_app import create_local_matcher_app
from matching_service.local_matcher_client import LocalMatcherClient, LocalMatcherError
from matching_service.local_matcher_inprocess import InProcessLocalMatcher
from matching_service.local_matching_contract import parse_match_request
from matching_service.records import RecordStore
from tests.support.serving import serving
from tests.unit.matching.conftest import DEMO_RECORDS

TOKEN = "inprocess-tests-local-matching-token-" + "y" * 20


def test_match_and_create_user_in_process(demo_store, users_by_name, make_match_body, make_hashed_pid) -> None:
    matcher = InProcessLocalMatcher(demo_store)
    alice = make_match_body(users_by_name["alice"])
    assert matcher.match(alice) == "match"
    assert demo_store.record_for_hashed_pid(alice["hashedPid"]) is not None  # linked: cycle 0 next time
    assert matcher.match(make_match_body(users_by_name["david"])) == "no-match"
    assert matcher.match(parse_match_request(make_match_body(users_by_name["tom"]))) == "match"
    hashed_pid = make_hashed_pid("stub-idp-two", "nora")
    assert matcher.create_user(hashed_pid, "LEVEL_2", {"FIRST_NAME": "Nora"}) == "success"
    assert matcher.create_user(hashed_pid, "LEVEL_2") == "failure"


def _fresh_demo_store() -> RecordStore:
    store = RecordStore(":memory:")
    store.import_csv(DEMO_RECORDS)
    return store


def test_every_test_user_gets_the_answer_the_listener_gives(users, make_match_body) -> None:
    """Two fresh copies of the demo records, one behind the HTTP listener and one in process: every stub IDP
    user (cycle 1, then cycle 0, then with a cycle 3 NINO) is answered alike, and each store links alike."""
    over_http, in_process = _fresh_demo_store(), _fresh_demo_store()
    matcher = InProcessLocalMatcher(in_process)
    bodies: list[dict[str, Any]] = []
    for user in users:
        bodies += [make_match_body(user), make_match_body(user)]
        bodies.append(make_match_body(user, idp="stub-idp-three", cycle3={"nino": "QQ123456C"}))
    with serving(create_local_matcher_app(over_http, token=TOKEN)) as url:
        client = LocalMatcherClient(url + "/local-matching", token=TOKEN)
        answers = [(client.match(body), matcher.match(body)) for body in bodies]
    assert all(http == local for http, local in answers), answers
    assert {http for http, _ in answers} == {"match", "no-match"}  # both answers were exercised
    for body in bodies:
        pid = body["hashedPid"]
        assert over_http.record_for_hashed_pid(pid) == in_process.record_for_hashed_pid(pid)


def test_a_request_breaking_the_contract_is_refused_naming_the_field_not_the_value(
    demo_store, users_by_name, make_match_body
) -> None:
    body = make_match_body(users_by_name["alice"])
    body["matchingDataset"]["surnames"][0]["value"] = "Smith" * 200  # over the contract's 500 characters
    with pytest.raises(LocalMatcherError, match=r"refused the request \(/match\).*surnames\[0\]\.value") as caught:
        InProcessLocalMatcher(demo_store).match(body)
    assert "Smith" not in str(caught.value)
    with pytest.raises(LocalMatcherError, match="hashedPid"):
        InProcessLocalMatcher(demo_store).create_user("not-a-hashed-pid", "LEVEL_2")
    with pytest.raises(LocalMatcherError, match="levelOfAssurance"):
        InProcessLocalMatcher(demo_store).create_user("a" * 64, "LEVEL_9")


def test_what_json_cannot_carry_is_refused_as_over_http(demo_store) -> None:
    with pytest.raises(LocalMatcherError, match="not JSON"):
        InProcessLocalMatcher(demo_store).create_user("a" * 64, "LEVEL_2", {"DATE_OF_BIRTH": date(1980, 1, 1)})
    assert not demo_store.has_created_user("a" * 64)


class _BrokenStore:
    """A records database that fails as one does when it is down, with a message quoting a value."""

    def __getattr__(self, name: str) -> Any:
        def fail(*_args: Any, **_kwargs: Any) -> Any:
            raise ConnectionError("lost the connection while reading Alice Smith's record")

        return fail


def test_a_failing_records_database_is_a_local_matcher_error_logged_by_type_only(
    users_by_name, make_match_body, caplog
) -> None:
    matcher = InProcessLocalMatcher(_BrokenStore())  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO), pytest.raises(LocalMatcherError, match=r"failed \(/match\): ConnectionError"):
        matcher.match(make_match_body(users_by_name["alice"]))
    with caplog.at_level(logging.INFO), pytest.raises(LocalMatcherError, match="ConnectionError"):
        matcher.create_user("b" * 64, "LEVEL_2")
    assert "local matcher failed: ConnectionError" in caplog.text
    assert "Alice" not in caplog.text and "Smith" not in caplog.text


def test_the_log_lines_are_the_listeners_and_carry_no_personal_data(
    demo_store, users_by_name, make_match_body, caplog
) -> None:
    body = make_match_body(users_by_name["alice"])
    body["matchId"] = "_q1\nforged line"
    with caplog.at_level(logging.INFO):
        assert InProcessLocalMatcher(demo_store).match(body) == "match"
    (record,) = [r for r in caplog.records if r.getMessage().startswith("local match ")]
    assert record.name == "matching_service.local_matcher_app"  # the name the listener's lines have
    assert record.getMessage() == "local match '_q1\\nforged line': cycle 1, match"
    for value in ("Alice", body["hashedPid"], body["matchingDataset"]["dateOfBirth"]["value"]):
        assert value not in caplog.text
