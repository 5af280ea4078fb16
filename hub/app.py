"""The hub's Flask app factory."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template

from federation.config import expiring_certificates
from federation.runtime import Runtime
from federation.web import problems, register_web
from hub import audit
from hub.services import build_services
from hub.views import idp_response, journey, metadata, sso
from hub.views.pages import problem_page
from hub.web_session import csrf_token

log = logging.getLogger("hub")

MAX_FORM_BYTES = 1024 * 1024


def create_app(runtime: Runtime, *, services=None) -> Flask:
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=MAX_FORM_BYTES, MAX_FORM_MEMORY_SIZE=MAX_FORM_BYTES)
    hub = services or build_services(runtime)
    app.extensions["hub"] = hub
    audit.configure_audit(runtime.setting("AUDIT_LOG") or runtime.var_dir / "audit.jsonl")
    for entity, cert in expiring_certificates(runtime.config):
        log.warning("certificate of %s expires on %s", entity, cert.not_after.date().isoformat())
    origins = {idp.sso_url for idp in runtime.config.identity_providers} | {
        acs.url for rp in runtime.config.relying_parties for acs in rp.assertion_consumer_services
    }
    register_web(
        app,
        service_name={"en": "Prove your identity", "cy": "Profi pwy ydych chi"},
        form_action_origins=sorted(origins),
        service_url="/",
    )
    app.jinja_env.globals["csrf_token"] = csrf_token
    for blueprint in (sso.bp, journey.bp, idp_response.bp, metadata.bp):
        app.register_blueprint(blueprint)

    @app.get("/healthcheck")
    def healthcheck():
        return jsonify(status="ok")

    @app.get("/")
    def index():
        return render_template("index.html")

    @app.errorhandler(400)
    def bad_request(_error):
        return problem_page(problems.BAD_REQUEST)

    @app.errorhandler(404)
    def not_found(_error):
        return problem_page(problems.GENERIC, status=404)

    @app.errorhandler(405)
    def method_not_allowed(_error):
        return problem_page(problems.BAD_REQUEST, status=405)

    @app.errorhandler(413)
    def too_large(_error):
        log.warning("request refused: too-large")
        return problem_page(problems.BAD_REQUEST, status=413)

    @app.errorhandler(Exception)
    def unexpected(error):
        log.exception("unexpected error: %s", type(error).__name__)
        return problem_page(problems.GENERIC, status=500)

    return app
