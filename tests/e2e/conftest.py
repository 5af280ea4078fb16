"""The whole federation as real HTTP servers on free local ports, one per test session."""

from __future__ import annotations

import secrets

import pytest

from federation.launcher import start_federation
from matching_service.cli import main as matching_service_cli
from tests.support.browser_client import BrowserClient

RECORDS = "matching_service/demo/records.csv"


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("federation-var")


@pytest.fixture(scope="session")
def federation(keys_dir, var_dir):
    matching_service_cli(["import", RECORDS, "--database", str(var_dir / "matching-service.sqlite3")])
    running = start_federation(
        keys_dir=keys_dir,
        var_dir=var_dir,
        extra_env={
            "STUB_IDP_HEADLESS": "1",
            "HUB_SESSION_KEY": secrets.token_hex(32),
            "HUB_SECRET": secrets.token_hex(32),
        },
    )
    yield running
    running.stop_all()


@pytest.fixture
def browser():
    client = BrowserClient()
    yield client
    client.http.close()
