"""A freshly started federation with the hub under several worker processes: no deadlock at start-up.

It used to stall: the hub's workers, all waiting on the matching service, while the matching service, on
that same request, fetched the federation metadata from the hub. Now every party loads the metadata as it
starts (one attempt, then a background thread with retries) and refreshes it in the background: no request
ever fetches it, or waits for it (a query that comes before it is loaded gets a 503 at once).

Here the hub (three worker processes, sessions in the shared Redis) and the matching service are stopped
and started together, the matching service first, so that its first attempt finds no hub. The first journey
afterwards completes, and every metadata fetch any party logged was made by its start-up or its background
thread, never by a thread answering a request.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.journey import IDP_TWO, expected_hashed_pid, sign_in
from tests.faults.faults_support import SHARED_REDIS_URL, log_text
from tests.support.federation_under_test import running_federation

pytestmark = pytest.mark.e2e

PARTIES = ("matching_service", "stub_idps", "relying_party_example")
WORKERS = 3
# federation.metadata logs every fetch with the thread that made it, in brackets at the end of the line
METADATA_FETCH = re.compile(r"federation metadata (?:loaded|refresh failed|refresh refused).*\((?P<thread>[^()]+)\)$")
NOT_ON_A_REQUEST = {"MainThread", "metadata-refresh"}


@pytest.fixture(scope="module")
def federation(shared_redis_prefix, keys_dir, tmp_path_factory):
    env = {"REDIS_URL": SHARED_REDIS_URL, "HUB_REDIS_PREFIX": shared_redis_prefix}
    with running_federation(tmp_path_factory.mktemp("startup"), keys_dir, **env) as running:
        yield running


def test_hub_workers_and_matching_service_started_together_answer_the_first_journey(federation, browser):
    federation.stop("hub")
    federation.stop("matching_service")
    since = {name: len(log_text(federation, name)) for name in ("hub", *PARTIES)}

    federation.start("matching_service", wait=False)  # its first attempt finds no hub
    federation.start("hub", extra_env={"SERVE_WORKERS": str(WORKERS), "SERVE_THREADS": "4"}, wait=False)
    federation.wait_healthy("hub")
    federation.wait_healthy("matching_service")  # alive, with the metadata loaded

    page = sign_in(browser, federation, "alice", IDP_TWO)
    assert page.url.endswith("/signed-in"), page.heading
    assert expected_hashed_pid("stub-idp-two", "alice") in page.text  # matched by the matching service

    hub_log = log_text(federation, "hub")[since["hub"] :]
    assert f"({WORKERS} x 4 threads)" in hub_log and f"Started worker-{WORKERS}" in hub_log, hub_log[-2000:]
    ms_log = log_text(federation, "matching_service")[since["matching_service"] :]
    fetches = [match["thread"] for line in ms_log.splitlines() if (match := METADATA_FETCH.search(line))]
    assert fetches and fetches[0] == "MainThread", ms_log[-2000:]  # tried as it started: no hub yet
    assert "federation metadata loaded" in ms_log
    for name in PARTIES:
        for line in log_text(federation, name).splitlines():
            match = METADATA_FETCH.search(line)
            assert match is None or match["thread"] in NOT_ON_A_REQUEST, (name, line)
