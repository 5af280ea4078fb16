"""LocalMatcherClient against real HTTP servers: our local matcher, and servers that misbehave."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask, Response
from werkzeug.serving import make_server

from matching_service.local_matcher import LocalMatcherClient, LocalMatcherError, create_local_matcher_app
from matching_service.local_matching_contract import parse_match_request


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def test_match_and_create_user_over_http(demo_store, users_by_name, make_match_body, make_hashed_pid) -> None:
    with serving(create_local_matcher_app(demo_store)) as url:
        client = LocalMatcherClient(url + "/local-matching/", timeout=5)
        assert client.match(make_match_body(users_by_name["alice"])) == "match"
        assert client.match(make_match_body(users_by_name["david"])) == "no-match"
        # the parsed dataclass form is sent through the same contract
        assert client.match(parse_match_request(make_match_body(users_by_name["tom"]))) == "match"
        hashed_pid = make_hashed_pid("stub-idp-two", "nora")
        assert client.create_user(hashed_pid, "LEVEL_2", {"FIRST_NAME": "Nora"}) == "success"
        assert client.create_user(hashed_pid, "LEVEL_2") == "failure"


def test_contract_violation_is_an_error(demo_store) -> None:
    with serving(create_local_matcher_app(demo_store)) as url:
        with pytest.raises(LocalMatcherError, match="HTTP 400"):
            LocalMatcherClient(url + "/local-matching").match({"matchId": "x"})


def test_timeout_is_an_error() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts connections, never answers
    try:
        client = LocalMatcherClient(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=0.3)
        with pytest.raises(LocalMatcherError, match="timed out"):
            client.match({"matchId": "x"})
    finally:
        listener.close()


def test_unreachable_is_an_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(LocalMatcherError, match="unreachable"):
        LocalMatcherClient(f"http://127.0.0.1:{port}", timeout=1).match({"matchId": "x"})


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
            LocalMatcherClient(url + "/local-matching", timeout=5).match({"matchId": "x"})


def test_create_user_answer_must_be_success_or_failure() -> None:
    app = Flask(__name__)

    @app.post("/local-matching/create-user")
    def create_user() -> Response:
        return Response(b'{"result": "match"}', mimetype="application/json")

    with serving(app) as url:
        with pytest.raises(LocalMatcherError, match="valid result"):
            LocalMatcherClient(url + "/local-matching").create_user("a" * 64, "LEVEL_2")
