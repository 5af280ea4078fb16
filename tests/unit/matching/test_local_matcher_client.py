"""LocalMatcherClient against real HTTP servers: our local matcher (behind its token), and servers that misbehave."""

from __future__ import annotations

import socket

import pytest
from flask import Flask, Response, redirect, request

from matching_service.local_matcher_app import create_local_matcher_app
from matching_service.local_matcher_client import LocalMatcherClient, LocalMatcherError
from matching_service.local_matching_contract import parse_match_request
from tests.support.serving import serving

TOKEN = "client-tests-local-matching-token-" + "x" * 20


def test_match_and_create_user_over_http(demo_store, users_by_name, make_match_body, make_hashed_pid) -> None:
    with serving(create_local_matcher_app(demo_store, token=TOKEN)) as url:
        client = LocalMatcherClient(url + "/local-matching/", token=TOKEN, timeout=5)
        assert client.match(make_match_body(users_by_name["alice"])) == "match"
        assert client.match(make_match_body(users_by_name["david"])) == "no-match"
        # the parsed dataclass form is sent through the same contract
        assert client.match(parse_match_request(make_match_body(users_by_name["tom"]))) == "match"
        hashed_pid = make_hashed_pid("stub-idp-two", "nora")
        assert client.create_user(hashed_pid, "LEVEL_2", {"FIRST_NAME": "Nora"}) == "success"
        assert client.create_user(hashed_pid, "LEVEL_2") == "failure"


def test_contract_violation_is_an_error(demo_store) -> None:
    with serving(create_local_matcher_app(demo_store, token=TOKEN)) as url:
        with pytest.raises(LocalMatcherError, match="HTTP 400"):
            LocalMatcherClient(url + "/local-matching", token=TOKEN).match({"matchId": "x"})


def test_a_token_the_matcher_does_not_hold_is_an_error_naming_the_setting(
    demo_store, users_by_name, make_match_body
) -> None:
    with serving(create_local_matcher_app(demo_store, token=TOKEN)) as url:
        client = LocalMatcherClient(url + "/local-matching", token="another-" + TOKEN)
        with pytest.raises(LocalMatcherError, match="refused our credential.*LOCAL_MATCHING_TOKEN"):
            client.match(make_match_body(users_by_name["alice"]))
        with pytest.raises(LocalMatcherError, match="HTTP 401"):
            client.create_user("a" * 64, "LEVEL_2")
    assert demo_store.record_for_hashed_pid(make_match_body(users_by_name["alice"])["hashedPid"]) is None


def test_the_client_sends_its_token_as_a_bearer_credential_and_follows_no_redirect() -> None:
    seen: list[str | None] = []
    app = Flask(__name__)

    @app.post("/local-matching/match")
    def match() -> Response:
        seen.append(request.headers.get("Authorization"))
        return redirect("/elsewhere", code=307)

    @app.post("/elsewhere")
    def elsewhere() -> Response:
        seen.append("followed")
        return Response(b'{"result": "match"}', mimetype="application/json")

    with serving(app) as url:
        with pytest.raises(LocalMatcherError, match="HTTP 307"):
            LocalMatcherClient(url + "/local-matching", token=TOKEN).match({"matchId": "x"})
    assert seen == [f"Bearer {TOKEN}"]


def test_timeout_is_an_error() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts connections, never answers
    try:
        client = LocalMatcherClient(f"http://127.0.0.1:{listener.getsockname()[1]}", token=TOKEN, timeout=0.3)
        with pytest.raises(LocalMatcherError, match="timed out"):
            client.match({"matchId": "x"})
    finally:
        listener.close()


def test_unreachable_is_an_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(LocalMatcherError, match="unreachable"):
        LocalMatcherClient(f"http://127.0.0.1:{port}", token=TOKEN, timeout=1).match({"matchId": "x"})


@pytest.mark.parametrize(
    ("status", "body", "problem"),
    [
        (200, b"<html>hello</html>", "not JSON"),
        (200, b'{"result": "maybe"}', "valid result"),
        (200, b'["match"]', "valid result"),
        (200, b'{"result": "' + b"m" * 20000 + b'"}', "too large"),
        (502, b"bad gateway", "HTTP 502"),
    ],
)
def test_garbage_answers_are_errors(status: int, body: bytes, problem: str) -> None:
    app = Flask(__name__)

    @app.post("/local-matching/match")
    def match() -> Response:
        return Response(body, status=status, mimetype="application/json")

    with serving(app) as url:
        with pytest.raises(LocalMatcherError, match=problem):
            LocalMatcherClient(url + "/local-matching", token=TOKEN, timeout=5).match({"matchId": "x"})


def test_create_user_answer_must_be_success_or_failure() -> None:
    app = Flask(__name__)

    @app.post("/local-matching/create-user")
    def create_user() -> Response:
        return Response(b'{"result": "match"}', mimetype="application/json")

    with serving(app) as url:
        with pytest.raises(LocalMatcherError, match="valid result"):
            LocalMatcherClient(url + "/local-matching", token=TOKEN).create_user("a" * 64, "LEVEL_2")


def test_plain_http_to_another_host_is_warned_about(caplog) -> None:
    with caplog.at_level("WARNING", logger="matching_service.local_matcher_client"):
        LocalMatcherClient("http://127.0.0.1:8084/local-matching", token=TOKEN)
        assert caplog.text == ""
        LocalMatcherClient("http://matcher.department.internal/local-matching", token=TOKEN)
    assert "plain http" in caplog.text and TOKEN not in caplog.text
