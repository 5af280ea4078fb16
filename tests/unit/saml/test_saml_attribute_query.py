from __future__ import annotations

from datetime import date, timedelta

import pytest
from saml_support import HUB, HUB_ACS, IDP, MS, MS_URL, RP, RP_ACS

from federation import xmlsecurity
from federation.loa import LevelOfAssurance
from federation.saml import SamlValidationError, soap
from federation.saml import constants as c
from federation.saml.assertion import (
    Attribute,
    MatchingDataset,
    MdsValue,
    build_assertion,
    mds_attributes,
    parse_assertion,
)
from federation.saml.attribute_query import build_attribute_query, parse_attribute_query
from federation.saml.hashed_pid import hashed_pid
from federation.saml.response import Status, build_response, encrypt_assertion, parse_response, reencrypt_assertion

DATASET = MatchingDataset(surnames=(MdsValue("Surname", verified=True),), date_of_birth=MdsValue(date(1970, 1, 2)))


def _idp_plaintexts(keys, now) -> list[bytes]:
    common = dict(
        issuer=IDP,
        name_id="pid-1",
        audience=HUB,
        recipient=HUB_ACS,
        in_response_to="_hub-req",
        credential=keys.idp.signing,
        now=now,
    )
    authn = build_assertion(level_of_assurance=LevelOfAssurance.LEVEL_2, **common)
    mds = build_assertion(attributes=mds_attributes(DATASET), **common)
    return [xmlsecurity.to_bytes(authn), xmlsecurity.to_bytes(mds)]


def _query(keys, now, *, credential=None, cycle3=None, requested=(), plaintexts=None, **overrides):
    plaintexts = plaintexts or _idp_plaintexts(keys, now)
    args = dict(
        issuer=HUB,
        destination=MS_URL,
        name_id="pid-1",
        sp_name_qualifier=RP,
        rp_acs_url=RP_ACS,
        rp_request_id="_rp-req",
        not_on_or_after=now + timedelta(minutes=5),
        encrypted_assertions=[reencrypt_assertion(p, keys.ms.encryption_cert) for p in plaintexts],
        credential=credential or keys.hub.signing,
        now=now,
        cycle3_assertion=cycle3,
        requested_attributes=requested,
        query_id="_query-1",
    )
    args.update(overrides)
    return build_attribute_query(**args)


def _parse(keys, now, data, **overrides):
    args = dict(
        certificates_for_issuer=keys.certificates_for,
        expected_destination=MS_URL,
        decryption_credentials=[keys.ms.encryption],
        now=now,
    )
    args.update(overrides)
    return parse_attribute_query(data, **args)


def _reason(call) -> str:
    with pytest.raises(SamlValidationError) as info:
        call()
    return info.value.reason


def test_full_matching_round_trip(keys, now):
    """Hub query over SOAP -> MS verifies hub and IDP signatures -> MS reply -> hub reads the status."""
    plaintexts = _idp_plaintexts(keys, now)
    envelope = soap.wrap(_query(keys, now, requested=("FIRST_NAME", "SURNAME"), plaintexts=plaintexts))
    query = _parse(keys, now, envelope)
    assert query.issuer == HUB and query.name_id == "pid-1" and query.sp_name_qualifier == RP
    assert query.rp_acs_url == RP_ACS and query.rp_request_id == "_rp-req"
    assert query.requested_attributes == ("FIRST_NAME", "SURNAME")
    assert [a.plaintext for a in query.assertions] == plaintexts  # the IDP's bytes, untouched by the hub
    idp_data = [
        parse_assertion(
            a.element,
            certificates_for_issuer=keys.certificates_for,
            expected_audience=HUB,
            expected_recipient=HUB_ACS,
            expected_in_response_to=None,
            now=now,
        )
        for a in query.assertions
    ]
    assert idp_data[1].matching_dataset == DATASET
    pid = hashed_pid(IDP, MS, idp_data[0].name_id)
    ms_assertion = build_assertion(
        issuer=MS,
        name_id=pid,
        audience=query.sp_name_qualifier,
        recipient=query.rp_acs_url,
        in_response_to=query.rp_request_id,
        credential=keys.ms.signing,
        now=now,
        level_of_assurance=idp_data[0].level_of_assurance,
    )
    reply = soap.wrap(
        build_response(
            issuer=MS,
            in_response_to=query.id,
            status=Status(c.STATUS_SUCCESS, c.STATUS_MATCH),
            credential=keys.ms.signing,
            now=now,
            assertions=[encrypt_assertion(ms_assertion, keys.rp.encryption_cert)],
        )
    )
    hub_view = parse_response(
        soap.unwrap(reply),
        certificates_for_issuer=keys.certificates_for,
        expected_destination=None,
        expected_in_response_to="_query-1",
        expected_audience=HUB,
        now=now,
    )
    assert hub_view.status == Status(c.STATUS_SUCCESS, c.STATUS_MATCH)
    assert len(hub_view.encrypted_assertions) == 1


def test_cycle3_assertion_carried(keys, now):
    cycle3 = build_assertion(
        issuer=HUB,
        name_id="pid-1",
        audience=MS,
        recipient=MS_URL,
        in_response_to="_query-1",
        credential=keys.hub.signing,
        now=now,
        attributes=(Attribute("NI_NUMBER", ("AB123456C",)),),
    )
    query = _parse(keys, now, soap.wrap(_query(keys, now, cycle3=encrypt_assertion(cycle3, keys.ms.encryption_cert))))
    assert len(query.assertions) == 3
    data = parse_assertion(
        query.assertions[2].element,
        certificates_for_issuer=keys.certificates_for,
        expected_audience=MS,
        expected_recipient=MS_URL,
        expected_in_response_to=query.id,
        now=now,
    )
    assert data.issuer == HUB and data.single_text("NI_NUMBER") == "AB123456C"


def test_query_signed_by_another_key_refused(keys, now):
    envelope = soap.wrap(_query(keys, now, credential=keys.other.signing))
    assert _reason(lambda: _parse(keys, now, envelope)) == "signature-invalid"


def test_query_from_unknown_issuer_refused(keys, now):
    envelope = soap.wrap(_query(keys, now, issuer="https://fake-hub.test"))
    assert _reason(lambda: _parse(keys, now, envelope)) == "unknown-issuer"


def test_query_wrong_destination_and_stale(keys, now):
    envelope = soap.wrap(_query(keys, now))
    assert _reason(lambda: _parse(keys, now, envelope, expected_destination="https://x.test")) == "wrong-destination"
    assert _reason(lambda: _parse(keys, now + timedelta(minutes=10), envelope)) == "issue-instant-stale"


def test_query_assertions_not_for_us_refused(keys, now):
    envelope = soap.wrap(_query(keys, now))
    assert _reason(lambda: _parse(keys, now, envelope, decryption_credentials=[keys.rp.encryption])) == (
        "decryption-failed"
    )


def test_build_refuses_plain_assertions(keys, now):
    plain = xmlsecurity.parse_xml(_idp_plaintexts(keys, now)[0])
    with pytest.raises(ValueError):
        _query(keys, now, encrypted_assertions=[plain])


def test_soap_two_queries_refused(keys, now):
    envelope = xmlsecurity.parse_xml(soap.wrap(_query(keys, now)))
    body = envelope[0]
    body.append(_query(keys, now, query_id="_query-2"))
    assert _reason(lambda: soap.unwrap(xmlsecurity.to_bytes(envelope))) == "soap-body"


def test_soap_strictness():
    ns = c.SOAP11_NS
    assert _reason(lambda: soap.unwrap(b"<a/>")) == "soap-envelope"
    empty = f'<s:Envelope xmlns:s="{ns}"><s:Body/></s:Envelope>'.encode()
    assert _reason(lambda: soap.unwrap(empty)) == "soap-body"
    two_bodies = f'<s:Envelope xmlns:s="{ns}"><s:Body><a/></s:Body><s:Body><b/></s:Body></s:Envelope>'.encode()
    assert _reason(lambda: soap.unwrap(two_bodies)) == "soap-envelope"
    must = (
        f'<s:Envelope xmlns:s="{ns}"><s:Header><h s:mustUnderstand="1"/></s:Header><s:Body><a/></s:Body></s:Envelope>'
    ).encode()
    assert _reason(lambda: soap.unwrap(must)) == "soap-must-understand"
    ok = f'<s:Envelope xmlns:s="{ns}"><s:Header><h/></s:Header><s:Body><a/></s:Body></s:Envelope>'.encode()
    assert soap.unwrap(ok).tag == "a"


def test_soap_fault_is_well_formed():
    fault = xmlsecurity.parse_xml(soap.fault("refused"))
    assert fault.find(f"{{{c.SOAP11_NS}}}Body/{{{c.SOAP11_NS}}}Fault/faultstring").text == "refused"
