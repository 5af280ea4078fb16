from __future__ import annotations

import base64
import zlib
from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
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


PASSWORD_PROTECTED_TRANSPORT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


def _with_classes(keys, now, *uris: str, comparison: str = "exact") -> bytes:
    """A request whose RequestedAuthnContext names `uris`, as python3-saml and other SP stacks send it."""
    element = _build(keys, now, sign=False)
    requested = element.find(q(SAMLP_NS, "RequestedAuthnContext"))
    requested.set("Comparison", comparison)
    for ref in list(requested):
        requested.remove(ref)
    for uri in uris:
        etree.SubElement(requested, q(SAML_NS, "AuthnContextClassRef")).text = uri
    return xmlsecurity.to_bytes(xmlsecurity.sign(element, keys.rp.signing))


def test_classes_the_federation_does_not_define_are_ignored_and_logged(keys, now, caplog):
    """python3-saml's default request: the service's configured levels apply, no error page."""
    caplog.set_level("INFO", logger="federation.saml.authn_request")
    data = _parse(keys, now, _with_classes(keys, now, PASSWORD_PROTECTED_TRANSPORT))
    assert data.requested_loas == () and data.comparison is None
    assert data.ignored_authn_contexts == (PASSWORD_PROTECTED_TRANSPORT,)
    logged = [r for r in caplog.records if "ignored RequestedAuthnContext" in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelname == "INFO"
    assert f"'{PASSWORD_PROTECTED_TRANSPORT}'" in logged[0].getMessage()
    assert "the configured levels apply" in logged[0].getMessage()


def test_known_levels_beside_unknown_classes_are_kept(keys, now):
    data = _parse(keys, now, _with_classes(keys, now, "urn:example:level9", L2.uri, comparison="minimum"))
    assert data.requested_loas == (L2,) and data.comparison == "minimum"
    assert data.ignored_authn_contexts == ("urn:example:level9",)


def test_an_ignored_class_is_escaped_in_the_log(keys, now, caplog):
    caplog.set_level("INFO", logger="federation.saml.authn_request")
    _parse(keys, now, _with_classes(keys, now, "urn:x\nFORGED line"))
    message = next(r.getMessage() for r in caplog.records if "ignored" in r.getMessage())
    assert "\n" not in message  # no raw newline: the sender cannot start a log line of its own
    assert "'urn:x\\nFORGED line'" in message


def test_an_empty_requested_authn_context_is_refused(keys, now):
    assert _reason(lambda: _parse(keys, now, _with_classes(keys, now))) == "bad-requested-authn-context"


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


# --- Redirect-binding signature algorithms: the POST binding's list, signed here independently --------------

DSIG_MORE = "http://www.w3.org/2001/04/xmldsig-more#"
_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


def _signed_query(keys, now, sig_alg: str, sign) -> str:
    """A Redirect query signed by `sign(octets)` outside our binding code, as another SAML stack would."""
    request = xmlsecurity.to_bytes(_build(keys, now, sign=False))
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = deflater.compress(request) + deflater.flush()
    query = f"SAMLRequest={quote(base64.b64encode(deflated).decode(), safe='')}&RelayState=s-1"
    query += f"&SigAlg={quote(sig_alg, safe='')}"
    return query + f"&Signature={quote(base64.b64encode(sign(query.encode())).decode(), safe='')}"


def _rsa_signer(key, digest):
    return lambda octets: key.sign(octets, padding.PKCS1v15(), digest())


def _ecdsa_signer(key, digest):
    def sign(octets: bytes) -> bytes:
        size = (key.curve.key_size + 7) // 8
        r, s = decode_dss_signature(key.sign(octets, ec.ECDSA(digest())))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")  # XML-DSig's r || s

    return sign


def _rp_certificates(keys):
    return lambda issuer: [keys.rp.signing_cert, keys.rp_ec.certificate] if issuer == RP else []


@pytest.mark.parametrize("digest", sorted(_HASHES))
def test_redirect_accepts_rsa_with_every_sha2_digest(keys, now, digest):
    query = _signed_query(
        keys, now, f"{DSIG_MORE}rsa-{digest}", _rsa_signer(keys.rp.signing.private_key, _HASHES[digest])
    )
    result = parse_redirect_authn_request(
        query, certificates_for_issuer=keys.certificates_for, expected_destination=HUB_SSO, now=now
    )
    assert result.request.issuer == RP and result.relay_state == "s-1"


@pytest.mark.parametrize("digest", sorted(_HASHES))
def test_redirect_accepts_ecdsa_p256_with_every_sha2_digest(keys, now, digest):
    assert keys.rp_ec.private_key.curve.name == "secp256r1"
    sign = _ecdsa_signer(keys.rp_ec.private_key, _HASHES[digest])
    query = _signed_query(keys, now, f"{DSIG_MORE}ecdsa-{digest}", sign)
    result = parse_redirect_authn_request(
        query, certificates_for_issuer=_rp_certificates(keys), expected_destination=HUB_SSO, now=now
    )
    assert result.request.issuer == RP


@pytest.mark.parametrize(
    "sig_alg",
    [f"{DSIG_MORE}rsa-sha384", f"{DSIG_MORE}rsa-sha512", f"{DSIG_MORE}ecdsa-sha384", f"{DSIG_MORE}ecdsa-sha512"],
)
def test_encode_redirect_signs_with_the_algorithm_asked_for(keys, now, sig_alg):
    credential = keys.rp_ec if "ecdsa" in sig_alg else keys.rp.signing
    request = xmlsecurity.to_bytes(_build(keys, now, sign=False))
    query = urlsplit(encode_redirect(HUB_SSO, request, credential=credential, sig_alg=sig_alg)).query
    assert f"SigAlg={quote(sig_alg, safe='')}" in query
    parse_redirect_authn_request(
        query, certificates_for_issuer=_rp_certificates(keys), expected_destination=HUB_SSO, now=now
    )


@pytest.mark.parametrize(
    ("sig_alg", "digest"),
    [
        ("http://www.w3.org/2000/09/xmldsig#rsa-sha1", hashes.SHA1),
        (f"{DSIG_MORE}rsa-md5", hashes.MD5),
        ("http://www.w3.org/2000/09/xmldsig#dsa-sha1", hashes.SHA1),
        ("http://www.w3.org/2001/04/xmldsig-more#hmac-sha256", hashes.SHA256),
        ("http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1", hashes.SHA256),
    ],
)
def test_redirect_refuses_sha1_and_anything_else_naming_the_algorithm(keys, now, sig_alg, digest):
    query = _signed_query(keys, now, sig_alg, _rsa_signer(keys.rp.signing.private_key, digest))
    with pytest.raises(SamlValidationError) as refused:
        _parse_redirect(keys, now, query)
    assert refused.value.reason == "signature-algorithm-not-allowed"
    assert refused.value.refusal == f"signature-algorithm-not-allowed:{sig_alg}"


def test_redirect_refuses_ecdsa_sha1(keys, now):
    sign = _ecdsa_signer(keys.rp_ec.private_key, hashes.SHA1)
    query = _signed_query(keys, now, f"{DSIG_MORE}ecdsa-sha1", sign)
    with pytest.raises(SamlValidationError) as refused:
        parse_redirect_authn_request(
            query, certificates_for_issuer=_rp_certificates(keys), expected_destination=HUB_SSO, now=now
        )
    assert refused.value.refusal == f"signature-algorithm-not-allowed:{DSIG_MORE}ecdsa-sha1"


def test_redirect_digest_must_be_the_one_sigalg_names(keys, now):
    """An RSA-SHA256 signature presented as RSA-SHA512 (or an ECDSA one with an RSA-only issuer) never verifies."""
    mislabelled = _signed_query(
        keys, now, f"{DSIG_MORE}rsa-sha512", _rsa_signer(keys.rp.signing.private_key, hashes.SHA256)
    )
    assert _reason(lambda: _parse_redirect(keys, now, mislabelled)) == "signature-invalid"
    ecdsa = _signed_query(keys, now, f"{DSIG_MORE}ecdsa-sha256", _ecdsa_signer(keys.rp_ec.private_key, hashes.SHA256))
    assert _reason(lambda: _parse_redirect(keys, now, ecdsa)) == "signature-invalid"  # keys.certificates_for: RSA only


def test_redirect_algorithms_are_the_post_bindings(keys):
    from federation.saml.bindings import ALLOWED_SIG_ALGS

    assert ALLOWED_SIG_ALGS == xmlsecurity.ALLOWED_SIGNATURE_METHODS


def test_a_refused_sigalg_with_markup_is_escaped(keys, now):
    query = _signed_query(keys, now, "x y\nforged", _rsa_signer(keys.rp.signing.private_key, hashes.SHA256))
    with pytest.raises(SamlValidationError) as refused:
        _parse_redirect(keys, now, query)
    assert refused.value.refusal == "signature-algorithm-not-allowed:'x y\\nforged'"
