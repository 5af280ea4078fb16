"""Every 5xx of a service is one log line naming the method, the route and the error ID its page shows."""

from __future__ import annotations

import logging
import re

from flask import Flask

from federation import server_errors
from federation.observability import install as install_request_ids


def _app() -> Flask:
    app = Flask(__name__)

    @app.get("/steps/<name>")
    def step(name: str):
        if name == "boom":
            raise RuntimeError("a message that may quote personal data")
        return f"error id {server_errors.error_id()}", 503 if name == "down" else 200

    @app.errorhandler(RuntimeError)
    def unexpected(_error):
        return f"generic page, error id {server_errors.error_id()}", 500

    server_errors.install(app, logging.getLogger("test.server_errors"))
    return app


def test_a_5xx_is_one_line_with_method_route_and_the_id_on_the_page(caplog):
    client = _app().test_client()
    with caplog.at_level(logging.ERROR, logger="test.server_errors"):
        answer = client.get("/steps/boom?name=Alice+Smith")
    assert answer.status_code == 500
    shown = answer.get_data(as_text=True).rsplit(" ", 1)[-1]
    assert re.fullmatch(r"[0-9a-f]{16}", shown) and answer.headers["X-Error-ID"] == shown
    assert [r.getMessage() for r in caplog.records] == [f"server error 500: GET /steps/<name> (error ID {shown})"]
    assert "Alice" not in caplog.text and "boom" not in caplog.text, "the rule, never the path or query as sent"


def test_a_well_formed_request_id_is_the_error_id_and_a_malformed_one_is_not(caplog):
    client = _app().test_client()
    with caplog.at_level(logging.ERROR, logger="test.server_errors"):
        joined = client.get("/steps/down", headers={"X-Request-ID": "balancer-0123abcd"})
        forged = client.get("/steps/down", headers={"X-Request-ID": "x FORGED log line"})
    assert joined.headers["X-Error-ID"] == "balancer-0123abcd"
    assert re.fullmatch(r"[0-9a-f]{16}", forged.headers["X-Error-ID"])
    assert "FORGED" not in caplog.text


def test_no_line_and_no_id_below_500(caplog):
    client = _app().test_client()
    with caplog.at_level(logging.ERROR, logger="test.server_errors"):
        answer = client.get("/steps/fine")
        missing = client.get("/nowhere")
    assert answer.status_code == 200 and "X-Error-ID" not in answer.headers
    assert missing.status_code == 404 and caplog.records == []


def test_the_request_id_of_the_logs_is_the_error_id(caplog):
    """Under `federation.serve` every log line carries the request ID: the page's error ID is that one."""
    app = _app()
    install_request_ids(app, "test", trust_request_id=False)
    with caplog.at_level(logging.ERROR, logger="test.server_errors"):
        answer = app.test_client().get("/steps/down", headers={"X-Request-ID": "untrusted-0123abcd"})
    assert answer.headers["X-Error-ID"] == answer.headers["X-Request-ID"] != "untrusted-0123abcd"
    assert answer.get_data(as_text=True).endswith(answer.headers["X-Request-ID"])
