"""The operator's signals and reports against the real federation: journeys run, then the numbers.

Reports are read before and after the journeys of this test and compared, because the session's other
end-to-end tests write to the same audit log. The reports (page, CSV, console) must hold no test user's
name, date of birth or postcode.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
import requests
import yaml

from tests.e2e.journey import IDP_ENTITY, IDP_TWO, at_idp_headless, choose, sign_in, start_at_service

pytestmark = pytest.mark.e2e

RP = "https://test-rp.federation.test"
IDP = IDP_ENTITY["stub-idp-two"]
USERS = Path(__file__).resolve().parents[2] / "stub_idps" / "data" / "users.yaml"


def csv_rows(federation, kind: str) -> list[dict]:
    today = datetime.now(UTC).date().isoformat()
    answer = requests.get(
        federation.url("hub_operator") + "/reports.csv", params={"kind": kind, "from": today, "to": today}, timeout=30
    )
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv"), answer.text
    return list(csv.DictReader(io.StringIO(answer.text)))


def row(rows: list[dict], **match: str) -> dict:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    return found[0] if found else {}


def n(values: dict, key: str) -> int:
    return int(values.get(key) or 0)


def snapshot(federation) -> dict:
    return {
        "stages": row(csv_rows(federation, "stages"), service=RP, company=IDP),
        "unchosen": row(csv_rows(federation, "stages"), service=RP, company=""),
        "companies": row(csv_rows(federation, "companies"), service=RP, company=IDP),
        "billing": row(csv_rows(federation, "billing"), service=RP, company=IDP, level="LEVEL_2"),
        "fraud": row(csv_rows(federation, "fraud"), company=IDP, indicator="FI01"),
        "matching": row(csv_rows(federation, "matching"), service=RP),
    }


def personal_values() -> set[str]:
    from tests.e2e.test_zz_no_personal_data import _personal_values

    users = yaml.safe_load(USERS.read_text())["users"]
    return set().union(*(_personal_values(u) for u in users))


@pytest.fixture(scope="module")
def journeys(federation):
    """Two sign-ins, a cancel and a fraud answer at Stub IDP Two, and a journey that stops before choosing."""
    from tests.support.browser_client import BrowserClient

    before = snapshot(federation)
    for username in ("alice", "sian"):
        browser = BrowserClient()
        sign_in(browser, federation, username, IDP_TWO)
    for outcome in ("cancel", "fraud-FI01"):
        browser = BrowserClient()
        page = choose(browser, start_at_service(browser, federation), IDP_TWO)
        at_idp_headless(browser, page, "alice", outcome)
    start_at_service(BrowserClient(), federation)
    return before, snapshot(federation)


def delta(before: dict, after: dict, report: str, key: str) -> int:
    return n(after[report], key) - n(before[report], key)


def test_the_reports_count_the_journeys_just_run(journeys):
    before, after = journeys
    stages = {
        key: delta(before, after, "stages", key)
        for key in (
            "started",
            "company_chosen",
            "company_answered",
            "identity_proved",
            "matched",
            "returned_to_service",
        )
    }
    assert stages == {
        "started": 4,
        "company_chosen": 4,
        "company_answered": 4,
        "identity_proved": 2,
        "matched": 2,
        "returned_to_service": 2,
    }
    assert delta(before, after, "unchosen", "started") == 1
    assert [delta(before, after, "companies", k) for k in ("chosen", "proved", "cancelled", "fraud")] == [4, 2, 1, 1]
    assert delta(before, after, "billing", "verifications") == 2
    assert delta(before, after, "fraud", "events") == 1
    assert delta(before, after, "matching", "cycle01_match") == 2


def test_the_reports_page_shows_every_report_and_the_chart(federation, journeys):
    page = requests.get(federation.url("hub_operator") + "/reports", timeout=30)
    assert page.status_code == 200
    assert "<svg" in page.text and "Returned to service" in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'") and "<script" not in page.text
    for title in ("Success by company", "Matching outcomes by cycle", "Satisfaction", "Billing", "Fraud events"):
        assert title in page.text
    assert requests.get(federation.urls["HUB_URL"] + "/reports", timeout=10).status_code == 404  # not for citizens


@pytest.mark.parametrize(
    ("query", "message"),
    [({"kind": "everything"}, "kind must be one of"), ({"kind": "stages", "from": "yesterday"}, "YYYY-MM-DD")],
)
def test_a_wrong_report_query_is_told_what_is_wrong(federation, query, message):
    answer = requests.get(federation.url("hub_operator") + "/reports.csv", params=query, timeout=10)
    assert answer.status_code == 400 and message in answer.text


def test_no_test_users_details_in_any_report(federation, var_dir, journeys):
    secrets = personal_values()
    assert len(secrets) > 30
    operator = federation.url("hub_operator")
    texts = {"page": requests.get(operator + "/reports", timeout=30).text}
    for kind in ("stages", "companies", "matching", "satisfaction", "billing", "fraud"):
        texts[kind] = requests.get(operator + "/reports.csv", params={"kind": kind}, timeout=30).text
    console = subprocess.run(
        [sys.executable, "-m", "hub.reports", "--audit", str(var_dir / "audit.jsonl"), "--feedback",
         str(var_dir / "feedback.jsonl")],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    texts["console"] = console.stdout
    assert "Billing" in console.stdout and IDP in console.stdout
    found = [(where, value) for where, text in texts.items() for value in secrets if value in text]
    assert not found, found[:10]


def sample(body: str, name: str, **labels: str) -> float | None:
    """The value of the sample `name` whose labels include `labels` (summed over the others)."""
    total, seen = 0.0, False
    for line in body.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
            seen = True
    return total if seen else None


def test_the_operator_metrics_carry_every_signal(federation, journeys):
    hub = federation.urls["HUB_URL"]
    requests.get(hub + "/SAML2/metadata/federation", timeout=10)
    requests.post(hub + "/SAML2/SSO", data={"SAMLRequest": "not base64 at all"}, timeout=10)  # a refusal
    ms = federation.urls["MS_URL"] + "/matching-service/POST"
    assert requests.post(ms, data=b"<not-soap/>", headers={"Content-Type": "text/xml"}, timeout=10).status_code >= 400
    body = requests.get(federation.url("hub_operator") + "/metrics", timeout=30).text
    assert sample(body, "http_request_duration_seconds_count", service="hub", route="/SAML2/SSO", method="POST") >= 1
    assert sample(body, "http_request_duration_seconds_count", service="matching_service") >= 2
    assert sample(body, "http_request_duration_seconds_bucket", service="hub", route="/journey/result", le="+Inf") >= 1
    assert sample(body, "hub_matching_service_seconds_count", outcome="RecordMatched") >= 2
    assert sample(body, "hub_idp_round_trip_seconds_count", idp=IDP) >= 4
    assert sample(body, "federation_refusals_total", service="hub", what="authn_request") >= 1
    assert sample(body, "federation_refusals_total", service="matching_service", what="attribute_query") >= 1
    assert sample(body, "hub_problem_pages_total", problem="fraud", status="200") >= 1
    assert sample(body, "hub_problem_pages_total", problem="cancelled") >= 1
    assert sample(body, "hub_problem_pages_total", problem="bad_request", status="400") >= 1
    expiry = sample(body, "hub_certificate_expiry_days", entity="metadata")
    assert expiry is not None and expiry > 0
    assert sample(body, "hub_certificate_expiry_days", entity=IDP) > 0
    age = sample(body, "hub_metadata_age_seconds")
    assert age is not None and 0 <= age < 24 * 3600
    for party in ("stub_idps", "relying_party_example", "matching_service"):  # each has loaded the metadata
        party_age = sample(body, "federation_metadata_age_seconds", service=party)
        assert party_age is not None and 0 <= party_age < 24 * 3600, party
    assert "/journey/" not in "".join(line for line in body.splitlines() if "route=" in line and "?" in line)


def test_a_request_id_joins_the_hub_the_matching_service_and_its_local_matcher(federation, journeys):
    mine = "operator-test-0123456789"
    ms = requests.get(federation.urls["MS_URL"] + "/healthcheck", headers={"X-Request-ID": mine}, timeout=10)
    assert ms.headers["X-Request-ID"] == mine  # a back-channel service keeps its caller's
    hub = requests.get(federation.urls["HUB_URL"] + "/healthcheck", headers={"X-Request-ID": mine}, timeout=10)
    assert re.fullmatch(r"[0-9a-f]{32}", hub.headers["X-Request-ID"])  # the hub, with no trusted proxy, makes its own
    ms_log = federation.log_path("matching_service").read_text(errors="replace")
    hub_log = federation.log_path("hub").read_text(errors="replace")
    queried = re.findall(r"\[([0-9a-f]{32})\]: request POST \S+ 200", ms_log)
    assert queried, ms_log[-2000:]
    assert all(f"[{rid}]" in hub_log for rid in queried)  # the hub's step that asked, under the same ID
    # the demo's local matcher is built into the matching service: its decision is logged under that ID too
    # (a separate matcher keeps its caller's ID: tests/unit/signals)
    assert any(re.search(rf"\[{rid}\]: .*local match", ms_log) for rid in queried), ms_log[-2000:]


def test_healthz_says_ok_when_redis_and_the_matching_service_answer(federation):
    answer = requests.get(federation.url("hub_operator") + "/healthz", timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ok" and body["checks"]["store"] == "not-shared"
    assert body["checks"]["matching_service:https://test-rp-ms.federation.test"] == "ok"


def test_healthz_says_degraded_with_503_when_redis_is_down(federation):
    from federation.launcher import free_port

    down = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    url = federation.start_extra("hub_operator", name="operator-no-redis", extra_env={"REDIS_URL": down})
    try:
        answer = requests.get(url + "/healthz", timeout=30)
        assert answer.status_code == 503
        assert answer.json()["status"] == "degraded" and answer.json()["checks"]["store"] == "unavailable"
        assert requests.get(url + "/metrics", timeout=30).status_code == 200  # no journeys gauge, no failure
    finally:
        federation.stop("operator-no-redis")


def test_journeys_in_progress_counts_the_hubs_sessions_in_redis(federation):
    redis_url = "redis://127.0.0.1:6379/0"
    prefix = f"signals-test-{free_suffix()}:"
    client = redis.Redis.from_url(redis_url)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    for number in range(3):
        client.set(f"{prefix}session:{number}", b"x", ex=60)
    client.set(f"{prefix}entry:idp-sent:x", b"x", ex=60)  # not a session
    env = {"REDIS_URL": redis_url, "HUB_REDIS_PREFIX": prefix, "LOG_FORMAT": "json"}
    url = federation.start_extra("hub_operator", name="operator-redis", extra_env=env)
    try:
        answer = requests.get(url + "/metrics", timeout=30)
        assert sample(answer.text, "hub_journeys_in_progress") == 3
        lines = federation.log_path("operator-redis").read_text().splitlines()
        logged = [json.loads(line) for line in lines if line.startswith("{")]
        ours = [line for line in logged if line["request_id"] == answer.headers["X-Request-ID"]]
        assert ours and ours[0]["service"] == "hub_operator" and "GET /metrics 200" in ours[0]["message"]
    finally:
        federation.stop("operator-redis")
        client.delete(*client.keys(prefix + "*"))


def free_suffix() -> str:
    import secrets

    return secrets.token_hex(4)
