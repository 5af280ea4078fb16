from __future__ import annotations

from datetime import timedelta

import pytest
from lxml import etree
from saml_support import HUB, HUB_ACS, IDP, MS, RP, RP_ACS

from federation import xmlsecurity
from federation.loa import LevelOfAssurance
from federation.saml import SamlValidationError
from federation.saml import constants as c
from federation.saml.assertion import Attribute, build_assertion, split_idp_assertions
from federation.saml.response import (
    Status,
    build_response,
    decrypt_assertion,
    encrypt_assertion,
    parse_response,
    reencrypt_assertion,
)

HUB_REQUEST = "_hub-to-idp-1"


def _assertion(keys, now, *, credential=None, issuer=IDP, **kwargs):
    return build_assertion(
        issuer=issuer,
        name_id="pid-123",
        audience=HUB,
        recipient=HUB_ACS,
        in_response_to=HUB_REQUEST,
        credential=credential or keys.idp.signing,
        now=now,
        **kwargs,
    )


def _idp_response(keys, now, assertions, *, status=Status(c.STATUS_SUCCESS), credential=None, **kwargs):
    args = dict(
        issuer=IDP,
        in_response_to=HUB_REQUEST,
        status=status,
        credential=credential or keys.idp.signing,
        now=now,
        destination=HUB_ACS,
        assertions=assertions,
    )
    args.update(kwargs)
    return xmlsecurity.to_bytes(build_response(**args))


def _parse(keys, now, data, **overrides):
    args = dict(
        certificates_for_issuer=keys.certificates_for,
        expected_destination=HUB_ACS,
        expected_in_response_to=HUB_REQUEST,
        expected_audience=HUB,
        decryption_credentials=[keys.hub.encryption],
        now=now,
    )
    args.update(overrides)
    return parse_response(data, **args)


def _reason(call) -> str:
    with pytest.raises(SamlValidationError) as info:
        call()
    return info.value.reason


def _two_assertions(keys, now):
    authn = _assertion(
        keys, now, level_of_assurance=LevelOfAssurance.LEVEL_2, attributes=(Attribute(c.TXN_IPADDRESS, ("192.0.2.1",)),)
    )
    mds = _assertion(keys, now, attributes=(Attribute(c.MDS_SURNAME, ()),))
    return authn, mds


def test_idp_success_round_trip(keys, now):
    authn, mds = _two_assertions(keys, now)
    signed_bytes = [xmlsecurity.to_bytes(authn), xmlsecurity.to_bytes(mds)]
    encrypted = [encrypt_assertion(a, keys.hub.encryption_cert) for a in (authn, mds)]
    result = _parse(keys, now, _idp_response(keys, now, encrypted))
    assert result.issuer == IDP and result.status.is_success and result.in_response_to == HUB_REQUEST
    assert [r.plaintext for r in result.assertions] == signed_bytes  # exactly what the IDP signed
    pair = split_idp_assertions([r.data for r in result.assertions], response_issuer=result.issuer)
    assert pair.authn.level_of_assurance is LevelOfAssurance.LEVEL_2
    assert len(result.encrypted_assertions) == 2


def test_hub_relays_idp_assertion_unchanged_to_matching_service(keys, now):
    authn, _ = _two_assertions(keys, now)
    result = _parse(keys, now, _idp_response(keys, now, [encrypt_assertion(authn, keys.hub.encryption_cert)]))
    plaintext = result.assertions[0].plaintext
    relayed = reencrypt_assertion(plaintext, keys.ms.encryption_cert)
    data = relayed.find(f"{{{xmlsecurity.XENC}}}EncryptedData")
    assert xmlsecurity.decrypt(data, [keys.ms.encryption]) == plaintext
    with pytest.raises(xmlsecurity.DecryptionError):
        xmlsecurity.decrypt(data, [keys.hub.encryption])


@pytest.mark.parametrize("key_transport", list(xmlsecurity.KeyTransport))
def test_encrypted_with_the_recipients_key_transport(keys, now, key_transport):
    authn, _ = _two_assertions(keys, now)
    plaintext = xmlsecurity.to_bytes(authn)
    for wrapper in (
        encrypt_assertion(authn, keys.hub.encryption_cert, key_transport=key_transport),
        reencrypt_assertion(plaintext, keys.hub.encryption_cert, key_transport=key_transport),
    ):
        method = wrapper.find("xenc:EncryptedData/ds:KeyInfo/xenc:EncryptedKey/xenc:EncryptionMethod", xmlsecurity.NS)
        expected = {"rsa-oaep": xmlsecurity.RSA_OAEP_11, "rsa-oaep-mgf1p": xmlsecurity.RSA_OAEP_MGF1P}[key_transport]
        assert method.get("Algorithm") == expected
        result = _parse(keys, now, _idp_response(keys, now, [wrapper]))
        assert result.assertions[0].plaintext == plaintext


def test_assertion_signed_by_another_key_refused(keys, now):
    forged = _assertion(keys, now, credential=keys.other.signing, level_of_assurance=LevelOfAssurance.LEVEL_2)
    data = _idp_response(keys, now, [encrypt_assertion(forged, keys.hub.encryption_cert)])
    assert _reason(lambda: _parse(keys, now, data)) == "signature-invalid"


def test_response_signed_by_another_key_refused(keys, now):
    data = _idp_response(keys, now, [], status=Status(c.STATUS_RESPONDER), credential=keys.other.signing)
    assert _reason(lambda: _parse(keys, now, data)) == "signature-invalid"


def test_unsigned_response_refused(keys, now):
    element = xmlsecurity.parse_xml(_idp_response(keys, now, [], status=Status(c.STATUS_RESPONDER)))
    element.remove(element.find(f"{{{xmlsecurity.DS}}}Signature"))
    assert _reason(lambda: _parse(keys, now, xmlsecurity.to_bytes(element))) == "signature-missing"


def test_assertion_encrypted_for_someone_else_refused(keys, now):
    authn, _ = _two_assertions(keys, now)
    data = _idp_response(keys, now, [encrypt_assertion(authn, keys.ms.encryption_cert)])
    assert _reason(lambda: _parse(keys, now, data)) == "decryption-failed"


def test_unencrypted_assertion_refused_by_default(keys, now):
    authn, _ = _two_assertions(keys, now)
    data = _idp_response(keys, now, [authn])
    assert _reason(lambda: _parse(keys, now, data)) == "unencrypted-assertion"
    result = _parse(keys, now, data, allow_unencrypted_assertions=True)
    assert result.assertions[0].data.level_of_assurance is LevelOfAssurance.LEVEL_2


def test_wrong_destination_in_response_to_and_stale(keys, now):
    data = _idp_response(keys, now, [], status=Status(c.STATUS_RESPONDER))
    assert _reason(lambda: _parse(keys, now, data, expected_destination="https://x.test")) == "wrong-destination"
    assert _reason(lambda: _parse(keys, now, data, expected_in_response_to="_other")) == "wrong-in-response-to"
    later = now + timedelta(minutes=10)
    assert _reason(lambda: _parse(keys, later, data)) == "issue-instant-stale"


def test_unknown_issuer(keys, now):
    data = _idp_response(keys, now, [], status=Status(c.STATUS_RESPONDER), issuer="https://rogue.test")
    assert _reason(lambda: _parse(keys, now, data)) == "unknown-issuer"


def test_failure_statuses_round_trip(keys, now):
    cases = [
        Status(c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT, c.STATUS_DETAIL_AUTHN_CANCEL),
        Status(c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT, c.STATUS_DETAIL_LOA_PENDING),
        Status(c.STATUS_RESPONDER, c.STATUS_AUTHN_FAILED, c.STATUS_DETAIL_UPLIFT_FAILED),
        Status(c.STATUS_REQUESTER, c.STATUS_REQUEST_DENIED, None, "denied"),
        Status(c.STATUS_RESPONDER, c.STATUS_NO_MATCH),
    ]
    for status in cases:
        assert _parse(keys, now, _idp_response(keys, now, [], status=status)).status == status


def test_assertions_in_failure_response_refused(keys, now):
    authn, _ = _two_assertions(keys, now)
    element = xmlsecurity.parse_xml(_idp_response(keys, now, [], status=Status(c.STATUS_RESPONDER)))
    element.remove(element.find(f"{{{xmlsecurity.DS}}}Signature"))
    element.append(encrypt_assertion(authn, keys.hub.encryption_cert))
    xmlsecurity.sign(element, keys.idp.signing)
    assert _reason(lambda: _parse(keys, now, xmlsecurity.to_bytes(element))) == "unexpected-assertions"


def test_bad_top_level_status_refused(keys, now):
    data = _idp_response(keys, now, [], status=Status("urn:example:great"))
    assert _reason(lambda: _parse(keys, now, data)) == "bad-status"


def test_hub_to_rp_with_matching_service_assertion(keys, now):
    """The MS's assertion (encrypted for the RP) rides through the hub untouched and the RP reads it."""
    ms_assertion = build_assertion(
        issuer=MS,
        name_id="hashed-pid",
        audience=RP,
        recipient=RP_ACS,
        in_response_to="_rp-request",
        credential=keys.ms.signing,
        now=now,
        level_of_assurance=LevelOfAssurance.LEVEL_2,
    )
    encrypted = encrypt_assertion(ms_assertion, keys.rp.encryption_cert)
    hub_view = parse_response(
        xmlsecurity.to_bytes(
            build_response(
                issuer=MS,
                in_response_to="_query",
                status=Status(c.STATUS_SUCCESS, c.STATUS_MATCH),
                credential=keys.ms.signing,
                now=now,
                assertions=[encrypted],
            )
        ),
        certificates_for_issuer=keys.certificates_for,
        expected_destination=None,
        expected_in_response_to="_query",
        expected_audience=HUB,
        now=now,
    )
    assert hub_view.status.sub_code == c.STATUS_MATCH and hub_view.assertions == ()
    to_rp = build_response(
        issuer=HUB,
        in_response_to="_rp-request",
        status=Status(c.STATUS_SUCCESS),
        credential=keys.hub.signing,
        now=now,
        destination=RP_ACS,
        assertions=[xmlsecurity.parse_xml(b) for b in hub_view.encrypted_assertions],
    )
    rp_view = parse_response(
        xmlsecurity.to_bytes(to_rp),
        certificates_for_issuer=keys.certificates_for,
        expected_destination=RP_ACS,
        expected_in_response_to="_rp-request",
        expected_audience=RP,
        decryption_credentials=[keys.rp.encryption],
        now=now,
    )
    (received,) = rp_view.assertions
    assert received.data.issuer == MS and received.data.name_id == "hashed-pid"
    assert received.data.level_of_assurance is LevelOfAssurance.LEVEL_2


def test_build_refuses_assertions_with_failure_status(keys, now):
    authn, _ = _two_assertions(keys, now)
    with pytest.raises(ValueError):
        build_response(
            issuer=IDP,
            in_response_to="_x",
            status=Status(c.STATUS_RESPONDER),
            credential=keys.idp.signing,
            now=now,
            assertions=[authn],
        )
    with pytest.raises(ValueError):
        build_response(
            issuer=IDP,
            in_response_to="_x",
            status=Status(c.STATUS_SUCCESS),
            credential=keys.idp.signing,
            now=now,
            assertions=[etree.Element("Other")],
        )


def test_a_refused_algorithm_named_by_the_sender_reaches_the_log_escaped(keys, now, caplog):
    """The refusal's detail quotes the sender's Algorithm URI: it must not be able to forge a log line."""
    authn, _ = _two_assertions(keys, now)
    encrypted = encrypt_assertion(authn, keys.hub.encryption_cert)
    method = encrypted.find(f"{{{xmlsecurity.XENC}}}EncryptedData/{{{xmlsecurity.XENC}}}EncryptionMethod")
    method.set("Algorithm", "urn:x\n2026-01-01 hub INFO forged: assertion accepted")
    with caplog.at_level("WARNING", logger="federation.saml.response"):
        assert _reason(lambda: decrypt_assertion(encrypted, [keys.hub.encryption])) == "decryption-failed"
    ours = [r.getMessage() for r in caplog.records if r.name == "federation.saml.response"]
    assert len(ours) == 1, "one line: the sender's text did not start another"  # (other threads may log too)
    assert "encrypted assertion refused: content-encryption-not-allowed:'urn:x\\n2026-01-01 hub" in ours[0]
    assert "\n" not in ours[0]
