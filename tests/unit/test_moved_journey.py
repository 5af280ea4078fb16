"""The hub's signed "this journey moved to this browser" statement: what a service accepts, and what not.

Signed with the real development keys (the hub's SAML signing key, and another party's to forge with), read
with the hub's certificates as a service gets them from the federation metadata.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from federation.credentials import load_certificate, load_signing_credential
from federation.jose import JwtError
from federation.moved_journey import (
    MOVED_JOURNEY_PATH,
    STATEMENT_LIFETIME,
    MovedJourney,
    check_url,
    issue_statement,
    read_statement,
)

HUB, SERVICE = "https://hub.federation.test", "https://test-rp.federation.test"
NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
SKEW = timedelta(seconds=30)


@pytest.fixture(scope="module")
def keys(keys_dir):
    hub = load_signing_credential(keys_dir / "hub-signing.key", keys_dir / "hub-signing.crt")
    other = load_signing_credential(keys_dir / "stub-idp-one-signing.key", keys_dir / "stub-idp-one-signing.crt")
    return hub, other, (load_certificate(keys_dir / "hub-signing.crt"),)


def statement(credential, *, moved: bool = True, service: str = SERVICE, issuer: str = HUB, at=NOW) -> str:
    return issue_statement(
        credential, hub_entity_id=issuer, service=service, request_id="_req-1", nonce="n" * 43, moved=moved, now=at
    )


def read(token: str, certificates, at=NOW) -> MovedJourney:
    return read_statement(token, certificates, hub_entity_id=HUB, service=SERVICE, now=at, leeway=SKEW)


@pytest.mark.parametrize("moved", [True, False])
def test_a_statement_the_hub_signed_for_this_service_reads_back(keys, moved):
    hub, _, certificates = keys
    assert read(statement(hub, moved=moved), certificates) == MovedJourney("_req-1", "n" * 43, moved)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda hub, other: statement(other), "jwt-"),  # signed by someone else
        (lambda hub, other: statement(hub, service="https://other.federation.test"), "jwt-claim-"),
        (lambda hub, other: statement(hub, issuer="https://not-the-hub.test"), "jwt-claim-"),
        (lambda hub, other: statement(hub, at=NOW - STATEMENT_LIFETIME - timedelta(minutes=1)), "jwt-claim-"),
        (lambda hub, other: statement(hub)[:-4] + "AAAA", "jwt-"),  # altered
        (lambda hub, other: "not.a.token", "jwt-"),
    ],
    ids=["other-key", "other-service", "other-issuer", "expired", "altered", "garbage"],
)
def test_anything_else_is_refused(keys, make, reason):
    hub, other, certificates = keys
    with pytest.raises(JwtError) as refused:
        read(make(hub, other), certificates)
    assert refused.value.reason.startswith(reason)


def test_the_question_goes_to_the_hubs_path_with_the_services_request_and_nonce():
    url = check_url(HUB + "/", SERVICE, "_req-1", "abc")
    assert url.startswith(HUB + MOVED_JOURNEY_PATH + "?")
    assert "service=https%3A%2F%2Ftest-rp.federation.test" in url and "request=_req-1" in url and "nonce=abc" in url
