"""The light driver's HTTP/1.1 connection against a real server on loopback: bodies by length, by chunks and
to the end of the connection, the headers it reads, keep-alive reuse, and a kept-alive connection the
server closed being opened again."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.bench.light_http import Connection, ProtocolError

BODY = b"<html>" + b"x" * 200_000 + b"</html>"  # more than one recv


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: set[int] = set()  # the client ports seen: one per connection

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        Handler.connections.add(self.client_address[1])
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(BODY), 70_000):
                chunk = BODY[start : start + 70_000]
                self.wfile.write(f"{len(chunk):x};ext=1\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\nTrailer: yes\r\n\r\n")
        elif self.path == "/to-the-end":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(BODY)
            self.close_connection = True
        elif self.path == "/redirect":
            self.send_response(303)
            self.send_header("Location", "/next?a=1")
            self.send_header("Set-Cookie", "one=1; Path=/; HttpOnly")
            self.send_header("Set-Cookie", "two=2; Path=/; SameSite=None")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:  # /length, and /bye: the server closes the connection after answering, without saying so
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY)
            self.close_connection = self.path == "/bye"

    def do_POST(self) -> None:
        received = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(received)))
        self.end_headers()
        self.wfile.write(received)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[:2]
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def connection(server) -> Iterator[Connection]:
    Handler.connections.clear()
    client = Connection(*server, timeout=10)
    yield client
    client.close()


def test_bodies_by_length_by_chunks_and_to_the_end(connection):
    for path in ("/length", "/chunked", "/to-the-end"):
        answer = connection.exchange("GET", path, "")
        assert (answer.status, answer.body) == (200, BODY), path


def test_keep_alive_uses_one_connection(connection):
    for _ in range(3):
        assert connection.exchange("GET", "/length", "").body == BODY
    assert len(Handler.connections) == 1


def test_a_connection_the_server_closed_is_opened_again(connection):
    assert connection.exchange("GET", "/bye", "").body == BODY
    assert connection.exchange("GET", "/length", "").body == BODY
    assert len(Handler.connections) == 2


def test_a_post_body_and_the_headers_the_driver_reads(connection):
    echoed = connection.exchange("POST", "/echo", "Content-Type: text/plain\r\n", b"a=1&b=%2B")
    assert echoed.body == b"a=1&b=%2B"
    redirect = connection.exchange("GET", "/redirect", "")
    assert redirect.status == 303 and redirect.body == b""
    assert redirect.header("location") == "/next?a=1"
    assert redirect.header_values("set-cookie") == ["one=1; Path=/; HttpOnly", "two=2; Path=/; SameSite=None"]


def test_no_header_injection(connection):
    with pytest.raises(ValueError, match="malformed"):
        connection.exchange("GET", "/a b", "")
    with pytest.raises(ValueError, match="malformed"):
        connection.exchange("GET", "/", "Cookie: a=1\nX-Evil: 1\r\n")


def test_a_server_that_answers_nothing_is_an_error():
    listener = socket.create_server(("127.0.0.1", 0))

    def hang_up() -> None:
        accepted, _ = listener.accept()
        accepted.recv(65536)
        accepted.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    client = Connection(*listener.getsockname()[:2], timeout=10)
    try:
        with pytest.raises(ProtocolError, match="without answering"):
            client.exchange("GET", "/", "")
    finally:
        client.close()
        listener.close()
        thread.join(5)
