"""The hub's operator listener: what only the operator's network may reach (demo port 8090).

    GET /metrics        Prometheus text: every hub process's counts and histograms (`hub.metrics`), plus
                        certificate expiry, metadata age and journeys in progress (`hub.operator_signals`)
    GET /healthcheck    {"status": "ok"}: the process is alive
    GET /healthz        {"status": "ok" | "degraded", "checks": {...}}; 503 when degraded (`hub.health`)
    GET /certificates   every certificate of the federation with its expiry, those within 30 days marked
                        (and a warning at the top of every page while there are any)
    GET /status         each company and matching service: its last probe, its age, its circuit breaker
    GET /reports        the service managers' reports from the audit log (`hub.reports`), with a chart
    GET /reports.csv    one report as CSV: ?kind=stages|companies|matching|satisfaction|billing|fraud
                        (&from=YYYY-MM-DD&to=YYYY-MM-DD, both optional, days in UTC, both included)

It runs as its own process (`python -m federation.serve hub_operator --port 8090`) bound to an internal
address, so nothing here is ever served on the citizens' listener; the hub's own app answers 404 there.
The audit log is read from `AUDIT_LOG` (default `var/audit.jsonl`, and the copies logrotate left beside
it) and feedback from `var/feedback*.jsonl`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import requests
from flask import Flask, Response, jsonify, render_template, request

from federation.redis_client import redis_client, redis_settings
from federation.runtime import Runtime
from hub import health, metrics, operator_signals
from hub.certificate_expiry import WARN_WITHIN, certificate_dates
from hub.reports import KINDS, Period, log_files, read_events, read_feedback, report, stage_totals
from hub.reports.events import UnchangedFilesCache
from hub.reports.render import funnel_svg, to_csv
from hub.store.redis import RedisStore


def _store(runtime: Runtime) -> RedisStore | None:
    settings = redis_settings(runtime.setting)
    if not settings.configured:
        return None
    return RedisStore.from_client(redis_client(settings), key_prefix=runtime.setting("HUB_REDIS_PREFIX") or "hub:")


def _period(args) -> Period | str:
    """The period the query names, or the message that says what is wrong with it."""
    days = {}
    for name in ("from", "to"):
        text = args.get(name, "").strip()
        if text:
            try:
                days[name] = date.fromisoformat(text)
            except ValueError:
                return f"'{name}' must be a date as YYYY-MM-DD"
    if "from" in days and "to" in days and days["to"] < days["from"]:
        return "'to' is before 'from'"
    return Period(days.get("from"), days.get("to"))


def create_app(runtime: Runtime) -> Flask:
    app = Flask(__name__)
    app.extensions["hub_operator"] = runtime
    store = _store(runtime)
    http = requests.Session()
    audit_log = Path(runtime.setting("AUDIT_LOG") or runtime.var_dir / "audit.jsonl")
    collectors = [operator_signals.CertificateExpiry(runtime.config)]
    if store is not None:
        collectors.append(operator_signals.JourneysInProgress(store.client, store.key_prefix))

    @app.after_request
    def locked_down(response: Response) -> Response:
        """The pages are read by people on the operator's network: no script, nothing from elsewhere."""
        response.headers.setdefault("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    readings = UnchangedFilesCache()

    def read():
        audit_files = log_files(audit_log.parent, audit_log.name.removesuffix(".jsonl"))
        feedback_files = log_files(runtime.var_dir, "feedback")
        return readings.get(
            [*audit_files, *feedback_files], lambda: (read_events(audit_files), read_feedback(feedback_files))
        )

    @app.context_processor
    def expiry_warning() -> dict[str, int]:
        now = datetime.now(UTC)
        return {"certificates_expiring": sum(d.expires_soon(now) for d in certificate_dates(runtime.config))}

    @app.get("/certificates")
    def certificates() -> str:
        return render_template(
            "operator/certificates.html",
            dates=certificate_dates(runtime.config),
            now=datetime.now(UTC),
            warn_days=WARN_WITHIN.days,
        )

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        body, content_type = metrics.exposition(
            collectors,
            derived=(operator_signals.metadata_age, operator_signals.party_metadata_age, operator_signals.probe_age),
        )
        return Response(body, content_type=content_type)

    @app.get("/status")
    def status() -> str:
        return render_template(
            "operator/status.html", rows=operator_signals.entity_statuses(metrics.process_families())
        )

    @app.get("/healthcheck")
    def healthcheck() -> Response:
        return jsonify(status="ok")

    @app.get("/healthz")
    def healthz() -> Response:
        found = health.check(runtime.config, store.ping if store is not None else None, http)
        return jsonify(found.as_json()), found.http_status

    @app.get("/reports")
    def reports() -> Response | tuple:
        period = _period(request.args)
        if isinstance(period, str):
            return render_template("operator/reports.html", error=period, tables=[], chart="", args=request.args), 400
        events, feedback = read()
        tables = [report(kind, events, feedback, period) for kind in KINDS]
        chart = funnel_svg(stage_totals(tables[0]))
        return render_template("operator/reports.html", error=None, tables=tables, chart=chart, args=request.args)

    @app.get("/reports.csv")
    def reports_csv() -> Response | tuple:
        kind, period = request.args.get("kind", ""), _period(request.args)
        if kind not in KINDS:
            return Response(f"kind must be one of: {', '.join(KINDS)}\n", status=400, mimetype="text/plain")
        if isinstance(period, str):
            return Response(period + "\n", status=400, mimetype="text/plain")
        events, feedback = read()
        name = f"{kind}-{period.start or 'start'}-{period.end or 'now'}.csv"
        return Response(
            to_csv(report(kind, events, feedback, period)),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return app
