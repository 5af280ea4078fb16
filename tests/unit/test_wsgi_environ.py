"""What the apps see under granian: chunked bodies with their length, no process environment in a request."""

from __future__ import annotations

import io

from flask import Flask, jsonify, request
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response

from federation.wsgi_environ import ServerNeutralEnviron


def app_reading_bodies() -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 1000

    @app.post("/")
    def read():
        return jsonify(length=len(request.get_data(cache=False)))

    @app.get("/environ")
    def environ():
        return jsonify(sorted(request.environ))

    app.wsgi_app = ServerNeutralEnviron(app.wsgi_app, max_chunked_body=5000)
    return app


def post_chunked(app: Flask, size: int) -> Response:
    """As granian passes a chunked body: no CONTENT_LENGTH, an input stream read to its end."""
    environ = EnvironBuilder(method="POST", path="/").get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": io.BytesIO(b"x" * size), "HTTP_TRANSFER_ENCODING": "chunked"})
    return Response.from_app(app.wsgi_app, environ)


def test_a_chunked_body_within_the_app_limit_is_read_whole():
    assert post_chunked(app_reading_bodies(), 800).get_data() == b'{"length":800}\n'


def test_a_chunked_body_over_the_app_limit_is_refused_as_too_large_not_cut_short():
    assert post_chunked(app_reading_bodies(), 1200).status_code == 413


def test_a_chunked_body_over_the_server_limit_is_refused_before_the_app():
    assert post_chunked(app_reading_bodies(), 9000).status_code == 413


def test_the_process_environment_is_not_in_a_request(monkeypatch):
    monkeypatch.setenv("HUB_SESSION_KEY", "0" * 64)
    monkeypatch.setenv("HTTP_X_SPOOFED", "from-the-environment")
    app = app_reading_bodies()
    granian_like = {"HUB_SESSION_KEY": "0" * 64, "HTTP_X_SPOOFED": "from-the-environment"}
    seen = app.test_client().get("/environ", environ_overrides=granian_like).get_json()
    assert "HUB_SESSION_KEY" not in seen and "HTTP_X_SPOOFED" not in seen
    assert "REQUEST_METHOD" in seen and "PATH_INFO" in seen
