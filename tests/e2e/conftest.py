"""The whole federation as real HTTP servers on free local ports, one per test session."""

from __future__ import annotations

import pytest

from tests.support.browser_client import BrowserClient
from tests.support.federation_under_test import RECORDS, running_federation  # noqa: F401  (RECORDS re-exported)


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("federation-var")


@pytest.fixture(scope="session")
def federation(keys_dir, var_dir):
    with running_federation(var_dir, keys_dir) as running:
        yield running


@pytest.fixture
def browser():
    client = BrowserClient()
    yield client
    client.http.close()
