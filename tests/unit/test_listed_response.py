"""A response whose body is in memory reaches the WSGI server as a list (granian sends a list in one call);
the same status, headers and bytes as before, and anything streamed or with work to do on close as before."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask, Response, redirect, send_file, stream_with_context

from federation.listed_response import hand_over_lists


def make_app(listed: bool) -> Flask:
    app = Flask(__name__)
    app.add_url_rule("/page", "page", lambda: "<p>café</p>")
    app.add_url_rule("/json", "json", lambda: {"status": "ok"})
    app.add_url_rule("/bytes", "bytes", lambda: (b"\x00\x01", 201, {"X-Mine": "1"}))
    app.add_url_rule("/redirect", "redirect", lambda: redirect("/page"))
    app.add_url_rule("/empty", "empty", lambda: ("", 204))
    app.add_url_rule("/stream", "stream", lambda: Response(stream_with_context(iter(["a", "b"]))))
    app.add_url_rule("/file", "file", lambda: send_file(io.BytesIO(b"file body"), mimetype="text/plain"))
    app.add_url_rule("/static-file", "static_file", lambda: send_file(Path(__file__), mimetype="text/plain"))
    if listed:
        hand_over_lists(app)
    return app


def call(app: Flask, path: str, method: str = "GET"):
    started = []
    environ = {
        "REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_NAME": "hub.test", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "hub.test",
        "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO(),
    }  # fmt: skip
    body = app.wsgi_app(environ, lambda status, headers, exc_info=None: started.append((status, headers)))
    try:
        data = b"".join(body)
    finally:
        if hasattr(body, "close"):
            body.close()
    return body, started[0], data


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path", ["/page", "/json", "/bytes", "/redirect", "/empty"])
def test_a_body_in_memory_is_a_list_with_the_same_status_headers_and_bytes(path, method):
    body, started, data = call(make_app(listed=True), path, method)
    _, plain_started, plain_data = call(make_app(listed=False), path, method)
    assert type(body) is list
    assert started == plain_started and data == plain_data
    if method == "HEAD":
        assert data == b""


@pytest.mark.parametrize("path", ["/stream", "/file", "/static-file", "/nowhere"])
def test_a_stream_a_file_or_an_unhandled_http_error_goes_the_usual_way(path):
    body, started, data = call(make_app(listed=True), path)
    _, plain_started, plain_data = call(make_app(listed=False), path)
    assert type(body) is not list
    assert started == plain_started and data == plain_data


def test_a_response_with_work_on_close_goes_the_usual_way():
    app = make_app(listed=True)
    closed = []

    @app.get("/closing")
    def closing():
        response = app.response_class("body")
        response.call_on_close(lambda: closed.append(True))
        return response

    body, _, data = call(app, "/closing")
    assert type(body) is not list and data == b"body" and closed == [True]


def test_the_response_class_stays_a_flask_response():
    app = make_app(listed=True)
    assert issubclass(app.response_class, Response)
    with app.test_request_context():
        assert isinstance(app.make_response("x"), Response)
