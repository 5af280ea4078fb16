"""A certificate near its end shows in the operator's metrics and on the operator's pages, with a warning.

The short-lived certificate is a real one the test has the development PKI issue (a company's next signing
key, valid for ten days), in a copy of the keys; the operator's listener is the real Flask app.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from federation.runtime import load_runtime
from hub.certificate_expiry import certificate_dates
from hub.operator_app import create_app
from keys.rotate import issue_next, promote

IDP = "https://stub-idp-one.federation.test"


@pytest.fixture
def runtime(tmp_path: Path, keys_dir: Path):
    keys = tmp_path / "keys"
    shutil.copytree(keys_dir, keys)
    return load_runtime({"FEDERATION_KEYS_DIR": str(keys), "VAR_DIR": str(tmp_path / "var")})


def _sample(body: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in body.splitlines():
        if line.startswith("hub_certificate_expiry_days{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no hub_certificate_expiry_days{{{wanted}}}")


def test_a_certificate_ten_days_from_its_end_is_in_the_metrics_and_marked_on_the_page(runtime) -> None:
    client = create_app(runtime).test_client()
    page = client.get("/certificates").get_data(as_text=True)
    assert "expires soon" not in page and 'role="alert"' not in page
    assert "No events" in client.get("/reports").get_data(as_text=True)  # the reports page still renders

    issue_next(runtime.keys_dir, "stub-idp-one", not_after=datetime.now(UTC) + timedelta(days=10))

    metrics = client.get("/metrics").get_data(as_text=True)
    days = _sample(metrics, entity=IDP, use="signing", certificate="stub-idp-one-signing-next.crt")
    assert 9.9 < days <= 10
    assert _sample(metrics, entity=IDP, use="signing", certificate="stub-idp-one-signing.crt") > 300
    assert _sample(metrics, entity="metadata", use="trust-anchor", certificate="root-ca.crt") > 3000
    page = client.get("/certificates").get_data(as_text=True)
    assert 'role="alert"' in page and "1 certificate" in page
    row = next(line for line in page.split("<tr") if "stub-idp-one-signing-next.crt" in line)
    assert 'class="soon"' in row and "(expires soon)" in row and IDP in row
    assert 'role="alert"' in client.get("/reports").get_data(as_text=True)  # the warning is on every page


def test_the_dates_follow_a_promotion_without_a_restart(runtime) -> None:
    hub = runtime.config.hub.entity_id
    before = {d.file: d.not_after for d in certificate_dates(runtime.config) if d.entity == hub}
    issue_next(runtime.keys_dir, "hub", not_after=datetime.now(UTC) + timedelta(days=20))
    promote(runtime.keys_dir, "hub")
    after = {d.file: d.not_after for d in certificate_dates(runtime.config) if d.entity == hub}
    assert after["hub-signing.crt"] < datetime.now(UTC) + timedelta(days=21)
    assert after["hub-signing-next.crt"] == before["hub-signing.crt"]
    uses = {(d.use, d.file) for d in certificate_dates(runtime.config)}
    assert {("encryption", "hub-encryption.crt"), ("oidc-signing", "hub-oidc-signing.crt")} <= uses
    assert ("metadata-signing", "metadata-signing.crt") in uses
