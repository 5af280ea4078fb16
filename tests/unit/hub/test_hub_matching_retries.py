"""The hub's back channel to a matching service retries what did not reach an answer, and nothing else.

A real HTTP server on a free port plays the matching service's front (a restarting process, a balancer
answering 502/503); the client under test is the hub's own `MatchingServiceClient`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from federation.launcher import free_port
from hub.engines.matching import MatchingServiceClient, MatchingServiceUnavailable


class Script:
    """Answers each POST with the next (status, delay) of the script, then the last one forever."""

    def __init__(self, *steps: tuple[int, float]) -> None:
        self.steps = list(steps)
        self.bodies: list[bytes] = []

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.bodies.append(request.get_data())
        status, delay = self.steps[min(len(self.bodies), len(self.steps)) - 1]
        time.sleep(delay)
        return Response(b"<answer/>", status=status)(environ, start_response)


@pytest.fixture
def serve() -> Iterator:
    servers = []

    def start(app) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/matching-service/POST"

    yield start
    for server in servers:
        server.shutdown()


def _client(**options) -> MatchingServiceClient:
    return MatchingServiceClient(timeout=options.pop("timeout", 2.0), **options)


def test_502_and_503_are_retried_with_the_same_bytes_until_an_answer(serve):
    script = Script((502, 0), (503, 0), (200, 0))
    reply = _client(first_backoff=0.01).post(serve(script), b"<query ID='_q1'/>")
    assert reply.status_code == 200 and reply.content == b"<answer/>"
    assert script.bodies == [b"<query ID='_q1'/>"] * 3, "the very same query each time"


def test_a_refused_connection_is_retried_within_the_budget_then_given_up(serve):
    url = f"http://127.0.0.1:{free_port()}/matching-service/POST"  # nothing listens there
    pauses: list[float] = []
    client = _client(retry_budget=1.0, first_backoff=0.1, sleep=lambda s: (pauses.append(s), time.sleep(s)))
    started = time.monotonic()
    with pytest.raises(MatchingServiceUnavailable) as refused:
        client.post(url, b"<q/>")
    assert refused.value.reason.startswith("connection-failed:ConnectionError:after-")
    assert pauses[:3] == [0.1, 0.2, 0.4], "backoff doubles"
    assert len(pauses) == 4 and 0.1 <= pauses[3] < 0.8, "the last pause ends at the budget, not beyond it"
    assert 0.9 <= time.monotonic() - started < 2.0, "the whole budget is used, no more"


def test_a_process_that_comes_back_within_the_budget_answers(serve):
    port = free_port()
    url = f"http://127.0.0.1:{port}/matching-service/POST"
    script = Script((200, 0))

    def come_back() -> None:
        time.sleep(0.4)
        server = make_server("127.0.0.1", port, script, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        come_back.server = server

    threading.Thread(target=come_back).start()
    try:
        assert _client(first_backoff=0.05).post(url, b"<q/>").status_code == 200
        assert script.bodies == [b"<q/>"]
    finally:
        time.sleep(0.1)
        getattr(come_back, "server", None) and come_back.server.shutdown()


@pytest.mark.parametrize("status", [200, 400, 500])
def test_a_definitive_answer_is_never_retried(serve, status):
    script = Script((status, 0))
    assert _client(first_backoff=0.01).post(serve(script), b"<q/>").status_code == status
    assert len(script.bodies) == 1


def test_a_timeout_waiting_for_the_answer_is_not_retried(serve):
    script = Script((200, 1.5))
    with pytest.raises(MatchingServiceUnavailable) as refused:
        _client(timeout=0.5, first_backoff=0.01).post(serve(script), b"<q/>")
    assert refused.value.reason == "timeout"
    time.sleep(1.2)
    assert len(script.bodies) == 1, "the query may be under way: never sent twice"


def test_a_redirect_is_an_answer_not_followed(serve):
    def redirect(environ, start_response):
        script.bodies.append(b"")
        return Response(b"", status=302, headers={"Location": "/elsewhere"})(environ, start_response)

    script = Script((200, 0))
    reply = _client(first_backoff=0.01).post(serve(redirect), b"<q/>")
    assert reply.status_code == 302 and len(script.bodies) == 1


def test_a_connection_closed_before_any_answer_is_retried_with_the_same_bytes():
    listener = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def close_first_then_answer() -> None:
        for answer in (None, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\n<answer/>"):
            connection, _ = listener.accept()
            with connection:
                request = b""
                while not request.endswith(b"<q/>"):  # the whole request has arrived
                    request += connection.recv(65536)
                received.append(request)
                if answer is not None:
                    connection.sendall(answer)

    threading.Thread(target=close_first_then_answer, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/matching-service/POST"
    try:
        reply = _client(first_backoff=0.01).post(url, b"<q/>")
    finally:
        listener.close()
    assert reply.status_code == 200 and reply.content == b"<answer/>"
    assert len(received) == 2, "sent again once the first connection closed without an answer"
