"""The matching service's SAML endpoints over real HTTP, with real keys, calling its own local matcher by URL."""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
from datetime import date

import pytest
from ms_saml_support import IDP_NAME, pid_for, running_matching_service

from federation import xmlsecurity
from federation.credentials import load_signing_credential
from federation.loa import LevelOfAssurance
from federation.saml import constants as c
from federation.saml import soap
from federation.saml.assertion import Address, MdsValue
from federation.saml.hashed_pid import hashed_pid
from tests.support.self_signed import write_self_signed


def _fault_reason(http) -> str:
    envelope = xmlsecurity.parse_xml(http.content)
    return envelope.findtext(f"{{{c.SOAP11_NS}}}Body/{{{c.SOAP11_NS}}}Fault/faultstring")


def _expected_hashed_pid(ms, username: str, idp: str = IDP_NAME) -> str:
    return hashed_pid(ms.idp(idp).entity_id, ms.ms.entity_id, pid_for(username, idp))


# --- matching ---------------------------------------------------------------------------------------------


def test_match_returns_an_assertion_for_the_rp(ms, test_users):
    query_id, rp_request_id, body = ms.query(test_users["alice"])
    reply = ms.read_reply(ms.ask(body), query_id)
    assert reply.status.code == c.STATUS_SUCCESS and reply.status.sub_code == c.STATUS_MATCH
    assert reply.issuer == ms.ms.entity_id and reply.destination is None
    assertion = ms.rp_reads(reply, rp_request_id)  # audience, recipient, InResponseTo, MS signature checked
    assert assertion.issuer == ms.ms.entity_id
    assert assertion.name_id == _expected_hashed_pid(ms, "alice")
    assert assertion.level_of_assurance is LevelOfAssurance.LEVEL_2
    assert assertion.matching_dataset is None  # a match discloses no personal data to the RP


def test_second_query_matches_at_cycle_0_by_hashed_pid(ms, test_users):
    alice = test_users["alice"]
    query_id, _, body = ms.query(alice)
    assert ms.read_reply(ms.ask(body), query_id).status.sub_code == c.STATUS_MATCH
    # Same PID, a dataset that fits no record: only the earlier link (cycle 0) can match it.
    changed = {**alice, "matching_dataset": test_users["nora"]["matching_dataset"]}
    query_id, rp_request_id, body = ms.query(changed)
    reply = ms.read_reply(ms.ask(body), query_id)
    assert reply.status.sub_code == c.STATUS_MATCH
    assert ms.rp_reads(reply, rp_request_id).name_id == _expected_hashed_pid(ms, "alice")


@pytest.mark.parametrize("username", ["nora", "david"])  # unknown; the ambiguous pair of records
def test_no_match(ms, test_users, username):
    query_id, _, body = ms.query(test_users[username])
    reply = ms.read_reply(ms.ask(body), query_id)
    assert reply.status.code == c.STATUS_RESPONDER and reply.status.sub_code == c.STATUS_NO_MATCH
    assert reply.encrypted_assertions == ()


def test_cycle3_attribute_matches_with_the_hubs_cycle3_assertion(ms, test_users):
    peter = test_users["peter"]
    query_id, _, body = ms.query(peter)
    assert ms.read_reply(ms.ask(body), query_id).status.sub_code == c.STATUS_NO_MATCH
    query_id, _, body = ms.query(peter, cycle3="QQ 99 99 99 A")
    assert ms.read_reply(ms.ask(body), query_id).status.sub_code == c.STATUS_NO_MATCH
    query_id, rp_request_id, body = ms.query(peter, cycle3=peter["cycle3_nino"])
    reply = ms.read_reply(ms.ask(body), query_id)
    assert reply.status.sub_code == c.STATUS_MATCH
    assert ms.rp_reads(reply, rp_request_id).name_id == _expected_hashed_pid(ms, "peter")


# --- refusals ---------------------------------------------------------------------------------------------


def test_query_with_an_invalid_hub_signature_is_refused(ms, test_users, caplog):
    _, _, body = ms.query(test_users["alice"], hub_credential=ms.keys("stub-idp-one").signing)
    with caplog.at_level(logging.WARNING):
        http = ms.ask(body)
    assert http.status_code == 500 and _fault_reason(http) == "signature-invalid"
    assert "attribute query refused: signature-invalid" in caplog.text


def test_query_tampered_after_signing_is_refused(ms, test_users):
    _, _, body = ms.query(test_users["alice"])
    tampered = body.replace(ms.rp.entity_id.encode(), b"https://evil.federation.test")
    assert _fault_reason(ms.ask(tampered)) == "signature-invalid"


def test_idp_assertion_signed_by_a_non_federation_key_is_refused(ms, test_users, tmp_path, caplog):
    outsider = load_signing_credential(*write_self_signed(tmp_path, "outsider"))
    for credential in (outsider, ms.keys("stub-idp-one").signing):  # unknown key; another IDP's key
        plaintexts = ms.idp_assertions(test_users["alice"], signing_credential=credential)
        query_id, _, body = ms.query(test_users["alice"], plaintexts=plaintexts)
        with caplog.at_level(logging.WARNING):
            reply = ms.read_reply(ms.ask(body), query_id)
        assert reply.status.code == c.STATUS_REQUESTER and reply.status.message == "signature-invalid"
        assert reply.encrypted_assertions == ()
    assert "attribute query refused: signature-invalid" in caplog.text


def test_two_attribute_queries_in_one_soap_body_are_refused(ms, test_users):
    _, _, first = ms.query(test_users["alice"])
    _, _, second = ms.query(test_users["alice"])
    envelope = xmlsecurity.parse_xml(first)
    envelope[0].append(soap.unwrap(second))
    http = ms.ask(xmlsecurity.to_bytes(envelope))
    assert http.status_code == 500 and _fault_reason(http) == "soap-body"


def test_the_hubs_retry_of_the_same_query_gets_the_same_answer(ms, test_users):
    """The hub resends a query whose answer it never got, byte for byte: the answer is the first one."""
    query_id, _, body = ms.query(test_users["alice"])
    first = ms.ask(body)
    assert ms.read_reply(first, query_id).status.sub_code == c.STATUS_MATCH
    again = ms.ask(body)
    assert again.status_code == 200 and again.content == first.content, "the very answer, not a new decision"
    assert ms.read_reply(again, query_id).status.sub_code == c.STATUS_MATCH


def test_another_query_reusing_an_answered_id_is_refused(ms, test_users):
    query_id, _, body = ms.query(test_users["alice"])
    assert ms.read_reply(ms.ask(body), query_id).status.sub_code == c.STATUS_MATCH
    _, _, other = ms.query(test_users["nora"], query_id=query_id)  # hub-signed, but another message
    replay = ms.read_reply(ms.ask(other), query_id)
    assert replay.status.code == c.STATUS_REQUESTER and replay.status.message == "replayed-query"
    assert replay.encrypted_assertions == ()


def test_query_for_another_endpoint_is_refused(ms, test_users):
    _, _, body = ms.query(test_users["alice"], account_creation=True)  # Destination: account creation
    assert _fault_reason(ms.ask(body)) == "wrong-destination"


def test_query_nameid_must_be_the_idp_assertions_nameid(ms, test_users):
    query_id, _, body = ms.query(test_users["alice"], name_id=pid_for("nora"))
    reply = ms.read_reply(ms.ask(body), query_id)
    assert reply.status.code == c.STATUS_REQUESTER and reply.status.message == "name-id-mismatch"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"audience": "https://test-rp.federation.test"}, "wrong-audience"),  # written for someone else
        ({"recipient": "https://elsewhere.test/SAML2/SSO/Response/POST"}, "wrong-recipient"),
        ({"hub_request_id": None}, "missing-in-response-to"),
        ({"level": LevelOfAssurance.LEVEL_1}, "loa-below-relying-party-minimum"),
    ],
)
def test_idp_assertions_are_checked_as_the_hub_received_them(ms, test_users, overrides, reason):
    """Properly IDP-signed assertions, but not the ones an IDP gives the hub for this RP."""
    plaintexts = ms.idp_assertions(test_users["alice"], **overrides)
    query_id, _, body = ms.query(test_users["alice"], plaintexts=plaintexts)
    reply = ms.read_reply(ms.ask(body), query_id)
    assert reply.status.code == c.STATUS_REQUESTER and reply.status.message == reason


def test_idp_assertions_from_two_idps_are_refused(ms, test_users):
    alice = test_users["alice"]
    mixed = [ms.idp_assertions(alice)[0], ms.idp_assertions(alice, idp="stub-idp-three")[1]]
    query_id, _, body = ms.query(alice, plaintexts=mixed)
    assert ms.read_reply(ms.ask(body), query_id).status.message == "issuer-mismatch"


def test_garbage_is_a_fault_not_a_stack_trace(ms):
    for garbage in (b"<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>", b"not xml at all", b"<x/>"):
        http = ms.ask(garbage)
        assert http.status_code == 500 and _fault_reason(http)
        assert "Traceback" not in http.text


def test_local_matcher_down_is_a_responder_error(keys_dir, tmp_path, test_users, caplog):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/local-matching"

    def point_at_dead_matcher(config):
        moved = dataclasses.replace(config.matching_services[0], local_matching_url=dead)
        return dataclasses.replace(config, matching_services=(moved,))

    with running_matching_service(keys_dir, tmp_path, config_transform=point_at_dead_matcher) as ms:
        query_id, _, body = ms.query(test_users["alice"])
        with caplog.at_level(logging.ERROR):
            reply = ms.read_reply(ms.ask(body), query_id)
    assert reply.status.code == c.STATUS_RESPONDER and reply.status.sub_code is None
    assert "local matcher unreachable" in caplog.text


def test_metadata_loads_in_the_background_when_the_hub_comes_up_never_while_answering(keys_dir, tmp_path, test_users):
    """A query before the metadata is loaded is refused at once: answering never waits for a fetch from the
    hub, whose workers may all be waiting on this answer."""
    from ms_saml_support import signed_federation_metadata

    hub_up = threading.Event()
    metadata_holder: dict[str, bytes] = {}
    fetched_in: list[str] = []

    def hub_not_up_yet(url: str, timeout: float) -> bytes:
        fetched_in.append(threading.current_thread().name)
        if not hub_up.is_set():
            raise ConnectionError("hub not up")
        return metadata_holder["document"]

    with running_matching_service(keys_dir, tmp_path, metadata_fetch=hub_not_up_yet) as ms:
        metadata_holder["document"] = signed_federation_metadata(ms.config, keys_dir)
        _, _, body = ms.query(test_users["alice"])
        http = ms.ask(body)
        assert http.status_code == 503 and _fault_reason(http) == "metadata-unavailable"
        health = ms.app.test_client()
        assert health.get("/healthcheck").get_json()["metadata"] == "loading"
        hub_up.set()
        deadline = time.monotonic() + 10
        while health.get("/healthcheck").get_json()["metadata"] != "ready" and time.monotonic() < deadline:
            time.sleep(0.05)
        query_id, _, body = ms.query(test_users["alice"])
        assert ms.read_reply(ms.ask(body), query_id).status.sub_code == c.STATUS_MATCH
    assert fetched_in[0] == "MainThread"  # the attempt made while the service starts
    assert set(fetched_in[1:]) == {"metadata-refresh"}  # then only the background thread, never a request


def test_logs_hold_no_personal_data(ms, test_users, caplog):
    alice = test_users["alice"]
    with caplog.at_level(logging.DEBUG):
        for user in (alice, test_users["nora"]):
            ms.ask(ms.query(user)[2])
        ms.ask(ms.query(test_users["nora"], account_creation=True, requested=("FIRST_NAME", "SURNAME"))[2])
    assert "cycle 0/1 match" in caplog.text
    for secret in ("Alice", "Evans", "1985-03-14", "BS7", "Orchard", "Nora", "Quinn", "PL1"):
        assert secret not in caplog.text
    for username in ("alice", "nora"):
        assert pid_for(username) not in caplog.text
        assert _expected_hashed_pid(ms, username) not in caplog.text


# --- account creation -------------------------------------------------------------------------------------

REQUESTED = ("FIRST_NAME", "FIRST_NAME_VERIFIED", "SURNAME", "DATE_OF_BIRTH", "CURRENT_ADDRESS", "ADDRESS_HISTORY")


def test_account_creation_returns_the_requested_attributes(ms, test_users):
    nora = test_users["nora"]
    query_id, rp_request_id, body = ms.query(nora, account_creation=True, requested=REQUESTED)
    reply = ms.read_reply(ms.ask(body, account_creation=True), query_id)
    assert reply.status.code == c.STATUS_SUCCESS and reply.status.sub_code == c.STATUS_CREATED
    assertion = ms.rp_reads(reply, rp_request_id)
    assert assertion.name_id == _expected_hashed_pid(ms, "nora")
    assert assertion.level_of_assurance is LevelOfAssurance.LEVEL_2
    assert [a.name for a in assertion.attributes] == list(REQUESTED)
    assert assertion.values("FIRST_NAME") == (MdsValue("Nora", True),)
    assert assertion.values("FIRST_NAME_VERIFIED") == (True,)
    assert assertion.values("SURNAME") == (MdsValue("Quinn", True, date(1995, 4, 18)),)
    assert assertion.values("DATE_OF_BIRTH") == (MdsValue(date(1995, 4, 18), True),)
    address = Address(("6 Harbour View", "Plymouth"), "PL1 2AA", verified=True, from_date=date(2020, 1, 15))
    assert assertion.values("CURRENT_ADDRESS") == (address,)
    assert assertion.values("ADDRESS_HISTORY") == (address,)

    # the account now exists: the same citizen matches at cycle 0
    query_id, _, body = ms.query(nora)
    assert ms.read_reply(ms.ask(body), query_id).status.sub_code == c.STATUS_MATCH


def test_a_retried_account_creation_query_creates_one_account_and_answers_created(ms, test_users):
    nora = test_users["nora"]
    query_id, rp_request_id, body = ms.query(nora, account_creation=True, requested=REQUESTED)
    first = ms.ask(body, account_creation=True)
    again = ms.ask(body, account_creation=True)
    assert again.content == first.content
    reply = ms.read_reply(again, query_id)
    assert reply.status.sub_code == c.STATUS_CREATED
    assert ms.rp_reads(reply, rp_request_id).name_id == _expected_hashed_pid(ms, "nora")


def test_account_creation_twice_is_a_create_failure(ms, test_users):
    nora = test_users["nora"]
    query_id, _, body = ms.query(nora, account_creation=True, requested=REQUESTED)
    assert ms.read_reply(ms.ask(body, account_creation=True), query_id).status.sub_code == c.STATUS_CREATED
    query_id, _, body = ms.query(nora, account_creation=True, requested=REQUESTED)
    reply = ms.read_reply(ms.ask(body, account_creation=True), query_id)
    assert reply.status.code == c.STATUS_RESPONDER and reply.status.sub_code == c.STATUS_CREATE_FAILURE
    assert reply.encrypted_assertions == ()


def test_account_creation_with_cycle3_returns_it(ms, test_users):
    nora = test_users["nora"]
    query_id, rp_request_id, body = ms.query(
        nora, account_creation=True, requested=("SURNAME", "CYCLE_3", "MIDDLE_NAME"), cycle3="QQ 12 34 56 A"
    )
    assertion = ms.rp_reads(ms.read_reply(ms.ask(body, account_creation=True), query_id), rp_request_id)
    # MIDDLE_NAME: the IDP asserted none, so it is absent rather than empty
    assert [a.name for a in assertion.attributes] == ["SURNAME", "CYCLE_3"]
    assert assertion.single_text("CYCLE_3") == "QQ 12 34 56 A"


def test_account_creation_refuses_unknown_attributes(ms, test_users):
    query_id, _, body = ms.query(test_users["nora"], account_creation=True, requested=("NATIONALITY",))
    reply = ms.read_reply(ms.ask(body, account_creation=True), query_id)
    assert reply.status.code == c.STATUS_REQUESTER and reply.status.message == "unknown-requested-attribute"


def test_the_query_id_reaches_the_log_escaped(ms, test_users, caplog):
    """A signed ID cannot hold a newline, but it can hold a Unicode line separator some log viewers break on."""
    query_id = "_probe\u2028FORGED-attribute-query-_x-cycle-0-match"  # an xs:ID: no spaces
    with caplog.at_level(logging.INFO):
        _, _, body = ms.query(test_users["nora"], query_id=query_id)
        assert ms.read_reply(ms.ask(body), query_id).status.sub_code == c.STATUS_NO_MATCH
    assert "attribute query '_probe\\u2028FORGED-attribute-query-_x-cycle-0-match': cycle 0/1 no-match" in caplog.text
    assert "\u2028" not in caplog.text
