"""The hub's operator listener: what only the operator's network may reach (demo port 8090).

    GET /metrics        Prometheus text: the journey events of every hub process (see `hub.metrics`)
    GET /healthcheck    {"status": "ok"}

It runs as its own process (`python -m federation.serve hub_operator --port 8090`) bound to an internal
address, so nothing here is ever served on the citizens' listener; the hub's own app answers 404 there.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify

from federation.runtime import Runtime
from hub import metrics


def create_app(runtime: Runtime) -> Flask:
    app = Flask(__name__)
    app.extensions["hub_operator"] = runtime

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type)

    @app.get("/healthcheck")
    def healthcheck() -> Response:
        return jsonify(status="ok")

    return app
