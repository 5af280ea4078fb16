from __future__ import annotations

import base64
import zlib
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
from lxml import etree
from saml_support import HUB_SSO, RP, RP_ACS

from federation import xmlsecurity
from federation.loa import LevelOfAssurance
from federation.saml import SamlValidationError
from federation.saml.authn_request import (
    build_authn_request,
    parse_authn_request,
    parse_redirect_authn_request,
)
from federation.saml.bindings import encode_redirect
from federation.saml.constants import SAML_NS, SAMLP_NS, q

L1, L2 = LevelOfAssurance.LEVEL_1, LevelOfAssurance.LEVEL_2


def _build(keys, now, **overrides):
    args = dict(
        issuer=RP,
        destination=HUB_SSO,
        credential=keys.rp.signing,
        now=now,
        levels=(L1, L2),
        comparison="minimum",
        force_authn=True,
        acs_index=1,
    )
    args.update(overrides)
    return build_authn_request(**args)


def _parse(keys, now, message, **overrides):
    args = dict(certificates_for_issuer=keys.certificates_for, expected_destination=HUB_SSO, now=now)
    args.update(overrides)
    return parse_authn_request(message, **args)


def _reason(call) -> str:
    with pytest.raises(SamlValidationError) as info:
        call()
    return info.value.reason


def test_round_trip(keys, now):
    element = _build(keys, now, request_id="_req1")
    data = _parse(keys, now, xmlsecurity.to_bytes(element))
    assert data.id == "_req1"
    assert data.issuer == RP
    assert data.destination == HUB_SSO
    assert data.requested_loas == (L1, L2)
    assert data.comparison == "minimum"
    assert data.force_authn is True
    assert data.acs_index == 1 and data.acs_url is None
    assert data.issue_instant == now


def test_name_id_policy_is_persistent_allow_create(keys, now):
    element = _build(keys, now)
    policy = element.find(q(SAMLP_NS, "NameIDPolicy"))
    assert policy.get("Format") == "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    assert policy.get("AllowCreate") == "true"


def test_exact_comparison_and_acs_url(keys, now):
    element = _build(keys, now, comparison="exact", acs_index=None, acs_url=RP_ACS, force_authn=False)
    data = _parse(keys, now, xmlsecurity.to_bytes(element))
    assert data.comparison == "exact" and data.acs_url == RP_ACS and data.acs_index is None
    assert data.force_authn is False


def test_unknown_issuer(keys, now):
    element = _build(keys, now, issuer="https://stranger.test")
    assert _reason(lambda: _parse(keys, now, xmlsecurity.to_bytes(element))) == "unknown-issuer"


def test_signed_by_another_key(keys, now):
    element = _build(keys, now, credential=keys.other.signing)
    assert _reason(lambda: _parse(keys, now, xmlsecurity.to_bytes(element))) == "signature-invalid"


def test_unsigned(keys, now):
    element = _build(keys, now, sign=False)
    assert _reason(lambda: _parse(keys, now, xmlsecurity.to_bytes(element))) == "signature-missing"


def test_tampered_after_signing(keys, now):
    data = xmlsecurity.to_bytes(_build(keys, now)).replace(b'Comparison="minimum"', b'Comparison="exact"')
    assert _reason(lambda: _parse(keys, now, data)) == "signature-invalid"


def test_wrong_destination(keys, now):
    element = _build(keys, now, destination="https://elsewhere.test/SSO")
    assert _reason(lambda: _parse(keys, now, xmlsecurity.to_bytes(element))) == "wrong-destination"


def test_stale_and_future_issue_instant(keys, now):
    old = _build(keys, now - timedelta(minutes=6))
    assert _reason(lambda: _parse(keys, now, xmlsecurity.to_bytes(old))) == "issue-instant-stale"
    future = _build(keys, now + timedelta(minutes=1))
    assert _reason(lambda: _parse(keys, now, xmlsecurity.to_bytes(future))) == "issue-instant-in-future"
    within_skew = _build(keys, now + timedelta(seconds=20))
    assert _parse(keys, now, xmlsecurity.to_bytes(within_skew)).issuer == RP


def test_wrong_version_and_message_type(keys, now):
    element = _build(keys, now, sign=False)
    element.set("Version", "1.1")
    assert _reason(lambda: _parse(keys, now, xmlsecurity.to_bytes(element))) == "bad-version"
    other = etree.Element(q(SAMLP_NS, "LogoutRequest"), Version="2.0", ID="_x", IssueInstant="2020-01-01T00:00:00Z")
    assert _reason(lambda: _parse(keys, now, xmlsecurity.to_bytes(other))) == "wrong-message-type"


def test_unknown_loa_refused(keys, now):
    element = _build(keys, now, sign=False)
    ref = element.find(f"{q(SAMLP_NS, 'RequestedAuthnContext')}/{q(SAML_NS, 'AuthnContextClassRef')}")
    ref.text = "urn:example:level9"
    xmlsecurity.sign(element, keys.rp.signing)
    assert _reason(lambda: _parse(keys, now, xmlsecurity.to_bytes(element))) == "unknown-loa"


def test_bad_comparison_refused(keys, now):
    element = _build(keys, now, sign=False)
    element.find(q(SAMLP_NS, "RequestedAuthnContext")).set("Comparison", "better")
    xmlsecurity.sign(element, keys.rp.signing)
    assert _reason(lambda: _parse(keys, now, xmlsecurity.to_bytes(element))) == "bad-comparison"


def test_acs_index_and_url_together_refused(keys, now):
    element = _build(keys, now, sign=False)
    element.set("AssertionConsumerServiceURL", RP_ACS)
    xmlsecurity.sign(element, keys.rp.signing)
    assert _reason(lambda: _parse(keys, now, xmlsecurity.to_bytes(element))) == "bad-acs"


def test_doctype_refused(keys, now):
    data = b'<!DOCTYPE x [<!ENTITY a "b">]>' + xmlsecurity.to_bytes(_build(keys, now))
    assert _reason(lambda: _parse(keys, now, data)) == "doctype"


def test_oversize_refused(keys, now):
    data = xmlsecurity.to_bytes(_build(keys, now))
    assert _reason(lambda: _parse(keys, now, data, max_bytes=len(data) - 1)) == "too-large"


# --- HTTP-Redirect ----------------------------------------------------------------------------------------


def _redirect_query(keys, now, credential=None, relay_state="state-1", **overrides) -> str:
    element = _build(keys, now, sign=False, **overrides)
    url = encode_redirect(
        HUB_SSO, xmlsecurity.to_bytes(element), credential=credential or keys.rp.signing, relay_state=relay_state
    )
    return urlsplit(url).query


def test_redirect_round_trip_rsa(keys, now):
    result = parse_redirect_authn_request(
        _redirect_query(keys, now), certificates_for_issuer=keys.certificates_for, expected_destination=HUB_SSO, now=now
    )
    assert result.relay_state == "state-1"
    assert result.request.issuer == RP and result.request.requested_loas == (L1, L2)


def test_redirect_round_trip_ecdsa(keys, now):
    query = _redirect_query(keys, now, credential=keys.rp_ec)
    assert "ecdsa-sha256" in query
    result = parse_redirect_authn_request(
        query,
        certificates_for_issuer=lambda issuer: [keys.rp.signing_cert, keys.rp_ec.certificate] if issuer == RP else [],
        expected_destination=HUB_SSO,
        now=now,
    )
    assert result.request.issuer == RP


def _parse_redirect(keys, now, query):
    return parse_redirect_authn_request(
        query, certificates_for_issuer=keys.certificates_for, expected_destination=HUB_SSO, now=now
    )


def test_redirect_signed_by_another_key(keys, now):
    query = _redirect_query(keys, now, credential=keys.other.signing)
    assert _reason(lambda: _parse_redirect(keys, now, query)) == "signature-invalid"


def test_redirect_relay_state_tampered(keys, now):
    query = _redirect_query(keys, now).replace("RelayState=state-1", "RelayState=state-2")
    assert _reason(lambda: _parse_redirect(keys, now, query)) == "signature-invalid"


def test_redirect_unsigned(keys, now):
    query = "&".join(p for p in _redirect_query(keys, now).split("&") if not p.startswith(("Signature=", "SigAlg=")))
    assert _reason(lambda: _parse_redirect(keys, now, query)) == "signature-missing"


def test_redirect_sha1_sigalg_refused(keys, now):
    query = _redirect_query(keys, now)
    sha1 = quote("http://www.w3.org/2000/09/xmldsig#rsa-sha1", safe="")
    query = query.replace(quote("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", safe=""), sha1)
    assert _reason(lambda: _parse_redirect(keys, now, query)) == "signature-algorithm-not-allowed"


def test_redirect_refuses_embedded_xml_signature(keys, now):
    element = _build(keys, now)  # XML-signed
    url = encode_redirect(HUB_SSO, xmlsecurity.to_bytes(element), credential=keys.rp.signing)
    assert _reason(lambda: _parse_redirect(keys, now, urlsplit(url).query)) == "signature-in-redirect"


def test_redirect_duplicate_parameter(keys, now):
    query = _redirect_query(keys, now) + "&RelayState=again"
    assert _reason(lambda: _parse_redirect(keys, now, query)) == "duplicate-parameter"


def test_redirect_zip_bomb_refused(keys, now):
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = bomb.compress(b"<a>" + b" " * (4 * 1024 * 1024) + b"</a>") + bomb.flush()
    assert len(deflated) < 10_000
    query = "SAMLRequest=" + quote(base64.b64encode(deflated).decode(), safe="")
    assert _reason(lambda: _parse_redirect(keys, now, query)) == "too-large"


def test_redirect_invalid_base64_and_bad_deflate(keys, now):
    assert _reason(lambda: _parse_redirect(keys, now, "SAMLRequest=%%%not-base64")) == "invalid-base64"
    garbage = quote(base64.b64encode(b"\xff\xfe\xfd not deflate").decode(), safe="")
    assert _reason(lambda: _parse_redirect(keys, now, "SAMLRequest=" + garbage)) == "bad-deflate"
