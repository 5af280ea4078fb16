"""Two matching-service processes share one replay cache in Redis (`MATCHING_SERVICE_REDIS_URL`): a query
one of them answered, replayed to the other, is refused there (the same query resent gets the same answer).

Both processes run with the same config and environment (as behind a load balancer at MS_URL), their
local matcher shared; the hub-signed queries are built as the hub builds them, from the development PKI.
"""

from __future__ import annotations

import pytest

from federation.config import load_federation_config
from federation.demo import DEMO_CONFIG
from federation.saml import constants as c
from tests.faults.faults_support import SHARED_REDIS_URL, log_text, running_federation
from tests.unit.matching_service_saml.ms_saml_support import Harness, users

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def federation(shared_redis_prefix, keys_dir, tmp_path_factory):
    env = {"MATCHING_SERVICE_REDIS_URL": SHARED_REDIS_URL, "MATCHING_SERVICE_REDIS_PREFIX": shared_redis_prefix}
    with running_federation(tmp_path_factory.mktemp("two-ms"), keys_dir, **env) as running:
        running.start_extra("matching_service", name="ms-2")
        yield running


def harness(federation, keys_dir, process: str) -> Harness:
    """Queries addressed to the matching service's public URL, posted to one process directly."""
    config = load_federation_config(DEMO_CONFIG, keys_dir=keys_dir, variables=federation.urls)
    return Harness(url=federation.url(process), config=config, keys_dir=keys_dir, app=None)


def test_a_query_replayed_to_the_other_process_is_refused(federation, keys_dir):
    """Another message under an answered query ID is refused by the other process; the very same query
    (the hub's retry, which a balancer may send to the other process) gets the first process's answer."""
    one, two = harness(federation, keys_dir, "matching_service"), harness(federation, keys_dir, "ms-2")
    assert one.url != two.url
    alice, nora = users()["alice"], users()["nora"]
    for first, other, name in ((one, two, "ms-2"), (two, one, "matching_service")):
        query_id, _, body = first.query(alice)
        answer = first.ask(body)
        assert first.read_reply(answer, query_id).status.sub_code == c.STATUS_MATCH
        retried = other.ask(body)
        assert retried.status_code == 200 and retried.content == answer.content
        assert f"attribute query '{query_id}': a retry, answered as before" in log_text(federation, name)
        _, _, forged = first.query(nora, query_id=query_id)
        replayed = other.read_reply(other.ask(forged), query_id)
        assert replayed.status.code == c.STATUS_REQUESTER and replayed.status.message == "replayed-query"
        assert replayed.encrypted_assertions == ()
        assert "attribute query refused: replayed-query" in log_text(federation, name)


def test_each_process_answers_a_query_of_its_own(federation, keys_dir):
    for process in ("matching_service", "ms-2"):
        ms = harness(federation, keys_dir, process)
        query_id, _, body = ms.query(users()["alice"])
        assert ms.read_reply(ms.ask(body), query_id).status.sub_code == c.STATUS_MATCH
