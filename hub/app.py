"""The hub's Flask app factory.

Failures of the shared store (Redis) are an outage, not a bug: the citizen gets the "service unavailable,
try again" page (503) and the process keeps serving, so it recovers by itself when Redis answers again.
The page's "Try again" never replays a journey step from a link: a GET is fetched again; a SAML message
(the service's AuthnRequest, the IDP's Response) is posted again by a button with the same fields, which
the hub takes as a retry of the same message; any other POST leads back to its step's page (a GET), or to
the journey's page when the step has none. Every 5xx is one log line with the method, the route and an
error ID the page shows (`federation.server_errors`).
The health check stays 200 while the store is down, reporting `"status": "degraded"`: restarting the
process cannot bring Redis back, and a load balancer that dropped every hub would show the citizen a bare
error instead of our page. Monitoring should alert on "degraded", or watch the operator's listener's
`/healthz` (`hub.health`), which answers 503 when Redis or a matching service is down.
"""

from __future__ import annotations

import logging
from pathlib import Path

import yaml
from flask import Flask, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from federation import server_errors
from federation.config import expiring_certificates
from federation.observability import count_refusals
from federation.runtime import Runtime
from federation.web import problems, register_web
from federation.web.service_pages import LANGUAGE_COOKIE, CookieUse, FeedbackLog, ServicePages
from hub import audit, metrics, probes, remembered
from hub.services import HubServices, build_services
from hub.session_timing import session_timing
from hub.store.base import StoreUnavailable
from hub.views import company, handoff, idp_response, journey, metadata, oidc, sso
from hub.views.pages import problem_page
from hub.web_session import COOKIE_NAME, csrf_token, current_session

log = logging.getLogger("hub")

MAX_FORM_BYTES = 1024 * 1024

# The hub's own page texts beside the shared catalogue (federation/web/messages_*.yaml), in English and Welsh.
HUB_MESSAGES = yaml.safe_load((Path(__file__).resolve().parent / "messages.yaml").read_text(encoding="utf-8"))


# The "remembered company" (coming back later) and "continue on another device" cookies.
EXTRA_COOKIES = (
    CookieUse(remembered.COOKIE_NAME, "pages.cookies.hub_company_purpose", "pages.cookies.hub_company_expiry"),
    CookieUse(handoff.CLAIM_COOKIE, "pages.cookies.hub_handoff_purpose", "pages.cookies.hub_handoff_expiry"),
    CookieUse(
        handoff.DEVICE_COOKIE, "pages.cookies.hub_moved_journey_purpose", "pages.cookies.hub_moved_journey_expiry"
    ),
)


def create_app(runtime: Runtime, *, services=None) -> Flask:
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=MAX_FORM_BYTES, MAX_FORM_MEMORY_SIZE=MAX_FORM_BYTES)
    hub = services or build_services(runtime)
    app.extensions["hub"] = hub
    audit.configure_audit(runtime.setting("AUDIT_LOG") or runtime.var_dir / "audit.jsonl")
    count_refusals("hub")  # every "... refused: <reason>" log line is also counted (federation_refusals_total)
    for entity, cert in expiring_certificates(runtime.config):
        log.warning("certificate of %s expires on %s", entity, cert.not_after.date().isoformat())
    # an OIDC client's redirect URIs are here too: the return step's form redirects to them
    origins = {idp.sso_url for idp in runtime.config.identity_providers} | {
        acs.url for rp in runtime.config.relying_parties for acs in rp.assertion_consumer_services
    }
    register_web(
        app,
        service_name={"en": "Prove your identity", "cy": "Profi pwy ydych chi"},
        form_action_origins=sorted(origins),
        service_url="/",
        pages=ServicePages(
            operator=runtime.config.operator,
            cookies=(
                CookieUse(COOKIE_NAME, "pages.cookies.hub_session_purpose", "pages.cookies.session_end"),
                *EXTRA_COOKIES,
                LANGUAGE_COOKIE,
            ),
            feedback=FeedbackLog(runtime.var_dir / "feedback.jsonl", app="hub"),
            kind="hub",
            service_in_use=_service_of_journey,
        ),
        messages=HUB_MESSAGES,
    )
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: session_timing(hub.now()))
    for blueprint in (sso.bp, journey.bp, idp_response.bp, metadata.bp, oidc.bp, company.bp, handoff.bp):
        app.register_blueprint(blueprint)

    _install_rate_limit(app, hub)

    @app.get("/healthcheck")
    def healthcheck():
        ping = getattr(hub.store, "ping", None)
        if ping is not None:
            try:
                ping()
            except StoreUnavailable:
                return jsonify(status="degraded", store="unavailable")
        return jsonify(status="ok")

    @app.get("/")
    def index():
        # only a journey that still exists: a cookie naming an ended one would lead back to "no session" here
        journey = url_for("journey.result") if current_session() is not None else None
        return render_template("index.html", journey_url=journey)

    @app.errorhandler(400)
    def bad_request(_error):
        return problem_page(problems.BAD_REQUEST)

    @app.errorhandler(404)
    def not_found(_error):
        return problem_page(problems.PAGE_NOT_FOUND, next_url=url_for("journey.result"))

    @app.errorhandler(405)
    def method_not_allowed(_error):
        return problem_page(problems.BAD_REQUEST, status=405)

    @app.errorhandler(413)
    def too_large(_error):
        log.warning("request refused: too-large")
        return problem_page(problems.BAD_REQUEST, status=413)

    @app.errorhandler(StoreUnavailable)
    def store_unavailable(error):
        log.error("store unavailable: %s", error)
        response = problem_page(problems.SERVICE_UNAVAILABLE, **_retry_offer(app))
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(Exception)
    def unexpected(error):
        log.exception("unexpected error: %s", type(error).__name__)
        return problem_page(problems.GENERIC, status=500)

    server_errors.install(app, log)
    # last, once the app is built: this process's probes of the companies and matching services (hub.probes)
    interval = probes.interval_setting(runtime.setting("HUB_PROBE_INTERVAL_SECONDS"))
    app.extensions["hub_prober"] = probes.start_prober(hub, interval)
    return app


# The SAML messages a browser posts to the hub: on an outage, posted again by the page's button.
_SAML_FIELDS = {"/SAML2/SSO": ("SAMLRequest", "RelayState"), "/SAML2/SSO/Response/POST": ("SAMLResponse", "RelayState")}


def _service_of_journey() -> str | None:
    """The service whose journey this browser is on, for satisfaction per service; None with no journey."""
    try:
        session = current_session()
    except StoreUnavailable:
        return None
    return session.rp_entity_id if session is not None else None


def _retry_offer(app: Flask) -> dict:
    """How the outage page lets the citizen try again without replaying a step (see the module docstring)."""
    if request.method == "GET":
        return {"next_url": request.full_path if request.query_string else request.path}
    fields = _SAML_FIELDS.get(request.path)
    if fields is not None:
        sent = [(name, request.form[name]) for name in fields if name in request.form]
        return {"retry_form": (request.path, sent)} if sent else {"next_url": url_for("journey.result")}
    try:
        app.url_map.bind("").match(request.path, method="GET")
    except HTTPException:
        return {"next_url": url_for("journey.result")}
    return {"next_url": request.path}


def _install_rate_limit(app: Flask, hub: HubServices) -> None:
    """Refuse a client's requests to the limited endpoints beyond the limit with 429 and Retry-After."""
    limiter = hub.rate_limiter
    if limiter is None:
        return

    @app.before_request
    def rate_limit():
        req = request._get_current_object()  # one context look-up for the hook, not one per attribute
        if not limiter.applies(req.endpoint, req.method):
            return None
        client = req.remote_addr or "unknown"
        decision = limiter.check(client, req.endpoint)
        if decision.allowed:
            return None
        log.warning("rate limited: %s (client %s)", req.endpoint, limiter.client_hash(client))
        metrics.RATE_LIMITED.labels(endpoint=req.endpoint or "unknown").inc()
        retry = req.path if req.method == "GET" else None
        response = problem_page(problems.TOO_MANY_REQUESTS, next_url=retry or url_for("index"))
        response.headers["Retry-After"] = str(decision.retry_after_seconds)
        return response
