"""`request.cookies` read from the environ's Cookie header directly: the same cookies, in the same class,
as Werkzeug's own walk over the environ gives."""

from __future__ import annotations

import pytest
from flask import Flask, Request, request

from federation.request_cookies import direct_cookies, read_cookies_directly

ENVIRON = {
    "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/", "QUERY_STRING": "", "SERVER_NAME": "hub.test",
    "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "hub.test", "wsgi.url_scheme": "http",
    "HTTP_ACCEPT": "*/*", "HTTP_COOKIE_JAR": "not=the header", "CONTENT_TYPE": "text/plain",
}  # fmt: skip


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "hub_session=abc",
        "hub_session=abc; lang=cy; lang=en",
        'quoted="a \\"b\\" c"; plain=1',
        "  spaced = value ; broken; =x; ok=2",
        "café=thé",
    ],
)
def test_the_same_cookies_as_werkzeugs_walk(header):
    environ = dict(ENVIRON) if header is None else {**ENVIRON, "HTTP_COOKIE": header}
    theirs, ours = Request(dict(environ)).cookies, direct_cookies(Request)(dict(environ)).cookies
    assert type(ours) is type(theirs)
    assert list(ours.items(multi=True)) == list(theirs.items(multi=True))


def test_an_app_reads_its_cookies_directly():
    app = Flask(__name__)
    read_cookies_directly(app)
    app.add_url_rule("/", "index", lambda: ",".join(f"{k}={v}" for k, v in request.cookies.items(multi=True)))
    client = app.test_client()
    client.set_cookie("a", "1")
    client.set_cookie("b", "2")
    assert client.get("/").get_data(as_text=True) == "a=1,b=2"
    assert issubclass(app.request_class, Request)
