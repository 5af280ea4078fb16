"""The matching service's answer to the hub's health check, and the hub's probe reading it: a real signed
AttributeQuery about nobody, answered with a signed `healthy` Response, over a real HTTP server."""

from __future__ import annotations

import dataclasses

import pytest
import requests
from ms_saml_support import Harness

from federation.runtime import Runtime
from federation.saml import constants as c
from federation.saml import soap
from federation.saml.attribute_query import build_health_check_query
from federation.saml.ids import now_utc
from hub.engines.matching import MatchingServiceUnavailable, check_health
from hub.services import build_services


def _health_query(ms: Harness, credential) -> tuple[str, bytes]:
    query = build_health_check_query(
        issuer=ms.config.hub.entity_id,
        destination=ms.ms.attribute_query_url,
        matching_service_entity_id=ms.ms.entity_id,
        credential=credential,
        now=now_utc(),
    )
    return query.get("ID"), soap.wrap(query)


def test_the_hubs_health_check_is_answered_healthy_and_signed(ms: Harness):
    query_id, body = _health_query(ms, ms.keys("hub").signing)
    reply = ms.read_reply(ms.ask(body), query_id)  # the matching service's signature, checked
    assert (reply.status.code, reply.status.sub_code) == (c.STATUS_SUCCESS, c.STATUS_HEALTHY)
    assert reply.encrypted_assertions == ()


def test_a_health_check_not_signed_by_the_hub_is_refused(ms: Harness):
    _, body = _health_query(ms, ms.keys("stub-idp-two").signing)
    answer = ms.ask(body)
    assert answer.status_code == 500 and b"signature" in answer.content


def test_the_hubs_probe_reads_the_answer(ms: Harness, tmp_path):
    hub = build_services(Runtime(ms.config, ms.keys_dir, tmp_path, environ={}))
    assert ms.ms.attribute_query_url.startswith(ms.url)
    with requests.Session() as http:
        check_health(hub, ms.ms, http, timeout=5)  # healthy: no exception
        elsewhere = dataclasses.replace(ms.ms, entity_id="https://not-this-ms.example")
        with pytest.raises(MatchingServiceUnavailable, match="bad-response"):
            check_health(hub, elsewhere, http, timeout=5)  # signed, but not by the entity probed
