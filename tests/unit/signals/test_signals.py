"""The signals' parts on their own: the audit sink after rotation, refusal counting, request IDs and JSON
logs, route latency labels, the health check, certificate expiry and metadata age."""

from __future__ import annotations

import io
import json
import logging
import os
from datetime import UTC, datetime, timedelta

import pytest
import requests
from flask import Flask
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily

from federation import logging_setup
from federation.launcher import free_port
from federation.observability import count_refusals, install
from hub import audit, health, operator_signals
from hub.store.base import StoreUnavailable


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# ------------------------------------------------------------------------------------------ audit sink


def test_the_audit_file_is_reopened_after_logrotate_moves_it(tmp_path):
    path = tmp_path / "audit.jsonl"
    audit.configure_audit(path)
    try:
        audit.emit("session_started", session_id="s1", rp_entity_id="https://rp")
        os.rename(path, tmp_path / "audit.jsonl.1")  # logrotate's default: move, then create
        audit.emit("session_started", session_id="s2", rp_entity_id="https://rp")
        audit.emit("session_started", session_id="s3", rp_entity_id="https://rp")
    finally:
        audit.configure_audit(None)
    rotated = (tmp_path / "audit.jsonl.1").read_text().splitlines()
    current = path.read_text().splitlines()
    assert [json.loads(line)["session_ref"] for line in rotated] == [audit.session_ref("s1")]
    assert [json.loads(line)["session_ref"] for line in current] == [audit.session_ref(s) for s in ("s2", "s3")]


def test_reopen_audit_on_request(tmp_path):
    path = tmp_path / "audit.jsonl"
    audit.configure_audit(path)
    try:
        audit.emit("session_started", session_id="s1")
        path.unlink()
        audit.reopen_audit()
        audit.emit("session_started", session_id="s2")
    finally:
        audit.configure_audit(None)
    assert len(path.read_text().splitlines()) == 1


def test_audit_lines_stay_out_of_the_services_own_log(caplog):
    stream = io.StringIO()
    audit.configure_audit(stream)
    try:
        with caplog.at_level(logging.INFO):
            audit.emit("session_started", session_id="s1")
    finally:
        audit.configure_audit(None)
    assert stream.getvalue().count("\n") == 1 and "session_started" not in caplog.text


# ------------------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("message", "args", "what", "reason"),
    [
        ("authn request refused: %s", ("signature-invalid:Reference 'x\\n'",), "authn_request", "signature-invalid"),
        ("idp answer refused: invalid-transition:%s", ("x",), "idp_answer", "invalid-transition"),
        ("token request refused: %s", ("invalid_grant",), "token_request", "invalid_grant"),
        ("authorization request refused: %s (%s)", ("invalid_request", "'bad'"), "authorization_request",
         "invalid_request"),
    ],
)  # fmt: skip
def test_every_logged_refusal_is_counted_by_its_reason_code(message, args, what, reason):
    count_refusals("hub")
    before = value("federation_refusals_total", service="hub", what=what, reason=reason)
    logging.getLogger("hub.test").warning(message, *args)
    assert value("federation_refusals_total", service="hub", what=what, reason=reason) == before + 1


def test_other_services_refusals_are_counted_under_their_name():
    count_refusals("stub_idps")
    try:
        before = value(
            "federation_refusals_total", service="stub_idps", what="authn_request", reason="signature-invalid"
        )
        logging.getLogger("stub_idps.app").warning(
            "%s refused an AuthnRequest: %s", "stub-idp-one", "signature-invalid:x"
        )
        after = value(
            "federation_refusals_total", service="stub_idps", what="authn_request", reason="signature-invalid"
        )
        assert after == before + 1
    finally:
        count_refusals("hub")


def test_a_senders_value_never_becomes_a_label():
    count_refusals("hub")
    before = {
        (s.labels["what"], s.labels["reason"])
        for m in REGISTRY.collect()
        for s in m.samples
        if m.name == "federation_refusals"
    }
    logging.getLogger("hub.test").warning("idp response refused: %s", "'quoted sender value'")
    logging.getLogger("hub.test").warning("back-channel logout to %s refused: http-500", "https://client/x")
    after = {
        (s.labels["what"], s.labels["reason"])
        for m in REGISTRY.collect()
        for s in m.samples
        if m.name == "federation_refusals"
    }
    assert after == before  # fmt: skip


# ------------------------------------------------------------------------------------------ request IDs and logs


def test_json_log_lines_carry_the_request_id_and_the_service():
    stream = io.StringIO()
    logging_setup.configure_logging("hub", {"LOG_FORMAT": "json"}, stream=stream)
    try:
        token = logging_setup.set_request_id("abcdef0123456789")
        try:
            logging.getLogger("hub.x").info("step %s", "done")
        finally:
            logging_setup.reset_request_id(token)
        logging.getLogger("hub.x").info("outside")
    finally:
        logging.getLogger().handlers.clear()
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["request_id"] == "abcdef0123456789" and first["service"] == "hub" and first["message"] == "step done"
    assert second["request_id"] == "-" and first["level"] == "INFO" and first["time"].endswith("Z")


def test_text_is_the_default_and_a_wrong_format_is_named():
    stream = io.StringIO()
    logging_setup.configure_logging("stub_idps", {}, stream=stream)
    try:
        logging.getLogger("x").warning("plain")
    finally:
        logging.getLogger().handlers.clear()
    assert " stub_idps WARNING x [-]: plain" in stream.getvalue()
    with pytest.raises(ValueError, match="LOG_FORMAT must be 'text' or 'json', not 'xml'"):
        logging_setup.configure_logging("hub", {"LOG_FORMAT": "xml"})


@pytest.mark.parametrize("received", ["short", "a" * 65, "abc def ghi", "abcdefgh\nFORGED", "ab'cdefghij"])
def test_a_malformed_request_id_is_never_kept(received):
    assert not logging_setup.well_formed(received)


def small_app(*, trust: bool) -> Flask:
    app = Flask("small")

    @app.get("/things/<name>")
    def thing(name: str):
        return {"request_id": logging_setup.current_request_id(), "outgoing": logging_setup.outgoing_headers()}

    @app.before_request
    def refuse_early():
        from flask import request

        return ("no", 429) if request.path == "/things/limited" else None

    install(app, "small-" + str(trust), trust_request_id=trust)
    return app


def test_routes_are_labelled_by_pattern_and_the_request_id_is_answered():
    client = small_app(trust=False).test_client()
    answer = client.get("/things/secret-value", headers={"X-Request-ID": "from-a-client-123"})
    assert answer.json["request_id"] == answer.headers["X-Request-ID"] != "from-a-client-123"
    assert answer.json["outgoing"] == {"X-Request-ID": answer.headers["X-Request-ID"]}
    labels = {"service": "small-False", "route": "/things/<name>", "method": "GET", "status": "200"}
    assert value("http_request_duration_seconds_count", **labels) == 1
    client.get("/no/such/path")
    assert (
        value(
            "http_request_duration_seconds_count", service="small-False", route="unmatched", method="GET", status="404"
        )
        == 1
    )
    client.get("/things/limited")  # answered by an earlier before-request function: still timed
    assert value("http_request_duration_seconds_count", **{**labels, "status": "429"}) == 1
    names = {s.labels.get("route") for m in REGISTRY.collect() for s in m.samples}
    assert "/things/secret-value" not in names  # fmt: skip


def test_a_trusted_callers_request_id_is_kept():
    client = small_app(trust=True).test_client()
    answer = client.get("/things/x", headers={"X-Request-ID": "from-the-hub-1234"})
    assert answer.json["request_id"] == "from-the-hub-1234" == answer.headers["X-Request-ID"]
    assert logging_setup.current_request_id() == "-"  # reset after the request


# ------------------------------------------------------------------------------------------ health


class _Config:
    def __init__(self, urls):
        self.matching_services = [
            type("MS", (), {"entity_id": f"ms{i}", "attribute_query_url": u}) for i, u in enumerate(urls)
        ]


def test_health_is_degraded_with_503_when_the_store_or_a_matching_service_is_down():
    def down():
        raise StoreUnavailable("ping", "connection refused")

    nowhere = f"http://127.0.0.1:{free_port()}/matching-service/POST"
    found = health.check(_Config([nowhere]), down, requests.Session())
    assert found.http_status == 503
    assert found.as_json() == {
        "status": "degraded",
        "checks": {"store": "unavailable", "matching_service:ms0": "unavailable"},
    }
    fine = health.check(_Config([]), lambda: None, requests.Session())
    assert (fine.http_status, fine.as_json()) == (200, {"status": "ok", "checks": {"store": "ok"}})


# ------------------------------------------------------------------------------------------ certificates, metadata


def test_certificate_expiry_in_days_for_every_entity(keys_dir, tmp_path):
    from federation.runtime import load_runtime

    runtime = load_runtime({"FEDERATION_KEYS_DIR": str(keys_dir), "VAR_DIR": str(tmp_path)})
    now = datetime.now(UTC)
    (family,) = operator_signals.CertificateExpiry(runtime.config, now=lambda: now).collect()
    entities = {s.labels["entity"] for s in family.samples}
    assert {runtime.config.hub.entity_id, "metadata"} <= entities
    assert {idp.entity_id for idp in runtime.config.identity_providers} <= entities
    assert {rp.entity_id for rp in runtime.config.relying_parties if rp.signing_certificates} <= entities
    assert all(0 < s.value < 20 * 365 for s in family.samples)
    later = now + timedelta(days=40 * 365)
    (expired,) = operator_signals.CertificateExpiry(runtime.config, now=lambda: later).collect()
    assert all(s.value < 0 for s in expired.samples)


def test_metadata_age_from_the_newest_signing():
    signed = GaugeMetricFamily("hub_metadata_signed_timestamp_seconds", "", labels=("pid",))
    signed.add_metric(("1",), 1000.0)
    signed.add_metric(("2",), 1600.0)
    age = operator_signals.metadata_age([signed], now=1700.0)
    assert age.name == "hub_metadata_age_seconds" and age.samples[0].value == 100.0
    assert operator_signals.metadata_age([], now=1700.0) is None


def test_every_signal_and_report_is_in_the_operations_guide():
    from pathlib import Path

    from hub.reports import KINDS

    guide = (Path(__file__).resolve().parents[3] / "docs" / "operations.md").read_text(encoding="utf-8")
    import federation.observability  # noqa: F401  (its metrics registered)

    ours = {m.name for m in REGISTRY.collect() if m.name.startswith(("hub_", "http_request_duration", "federation_"))}
    ours |= {"hub_certificate_expiry_days", "hub_metadata_age_seconds", "hub_journeys_in_progress"}
    ours |= {"federation_metadata_age_seconds"}
    documented = {name for name in ours if f"`{name}`" in guide or f"`{name}_total`" in guide}
    assert documented == ours
    assert all(f"| `{kind}` |" in guide for kind in KINDS)


def test_a_partys_metadata_refreshes_are_signals():
    from federation.observability import watch_metadata_refreshes

    watch_metadata_refreshes("party-under-test")
    log = logging.getLogger("federation.metadata")
    log.info("federation metadata loaded: %d identity providers", 3)
    refreshed = value("federation_metadata_refreshed_timestamp_seconds", service="party-under-test")
    assert refreshed > 1.7e9
    log.error("federation metadata refresh refused (%s): %s; keeping the last good copy", "expired", "x")
    log.error("federation metadata refresh failed: %s; keeping the last good copy", "ConnectionError")
    assert value("federation_metadata_refresh_failures_total", service="party-under-test", reason="expired") == 1
    assert (
        value("federation_metadata_refresh_failures_total", service="party-under-test", reason="ConnectionError") == 1
    )
    age = operator_signals.party_metadata_age(list(REGISTRY.collect()), now=refreshed + 5)
    assert [(s.labels, s.value) for s in age.samples if s.labels["service"] == "party-under-test"] == [
        ({"service": "party-under-test"}, 5.0)
    ]


def test_an_audit_line_that_cannot_be_written_fails_loudly():
    class Broken(io.StringIO):
        def write(self, text):
            raise OSError("disk full")

    audit.configure_audit(Broken())
    try:
        with pytest.raises(OSError, match="disk full"):
            audit.emit("session_started", session_id="s1")
    finally:
        audit.configure_audit(None)


def test_a_metadata_load_during_the_apps_creation_is_counted(monkeypatch):
    """A party's first metadata load starts inside create_app (in the background, and may finish at once):
    the watcher is in place before, or that load would never show in the signals."""
    import sys
    import types

    from flask import Flask

    from federation import serve

    def create_app(runtime):
        logging.getLogger("federation.metadata").info("federation metadata loaded: %d identity providers", 3)
        return Flask("early-loader")

    monkeypatch.setitem(serve.SERVICES, "early-loader", "early_loader_module")
    monkeypatch.setitem(sys.modules, "early_loader_module", types.SimpleNamespace(create_app=create_app))
    serve.build_app("early-loader", types.SimpleNamespace(setting=lambda name: None))
    assert value("federation_metadata_refreshed_timestamp_seconds", service="early-loader") > 1.7e9
