"""The XML security core: safe parsing, strict signature verification, algorithm-checked decryption."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lxml import etree

from federation import xmlsecurity as xs
from federation.credentials import load_decryption_credential, load_signing_credential
from tests.support.self_signed import write_self_signed

ASSERTION = (
    b'<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0"'
    b' IssueInstant="2026-11-22T10:00:00Z"><saml:Issuer>https://idp.test</saml:Issuer>'
    b"<saml:Subject><saml:NameID>pid-123</saml:NameID></saml:Subject></saml:Assertion>"
)


@pytest.fixture(scope="module")
def creds(tmp_path_factory):
    d = tmp_path_factory.mktemp("xmlsec-keys")
    out = {}
    for name in ("idp", "attacker", "hub", "hub-secondary"):
        k, c = write_self_signed(d, name, rsa.generate_private_key(public_exponent=65537, key_size=2048))
        out[name] = (load_signing_credential(k, c), load_decryption_credential(k, c))
    k, c = write_self_signed(d, "ec", ec.generate_private_key(ec.SECP256R1()))
    out["ec"] = (load_signing_credential(k, c), None)
    return out


def signed_assertion(cred) -> bytes:
    return xs.to_bytes(xs.sign(xs.parse_xml(ASSERTION), cred))


# --- parsing ---


def test_parse_refuses_doctype_before_parsing():
    doc = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'
    with pytest.raises(xs.UnsafeXmlError) as err:
        xs.parse_xml(doc)
    assert err.value.reason == "doctype"


def test_parse_refuses_billion_laughs():
    doc = b'<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><l>&b;</l>'
    with pytest.raises(xs.UnsafeXmlError):
        xs.parse_xml(doc)


def test_parse_refuses_oversized_and_malformed_and_utf16():
    with pytest.raises(xs.UnsafeXmlError) as err:
        xs.parse_xml(b"<a>" + b"x" * 2000 + b"</a>", max_bytes=1000)
    assert err.value.reason == "too-large"
    with pytest.raises(xs.UnsafeXmlError) as err:
        xs.parse_xml(b"<a><b></a>")
    assert err.value.reason == "not-well-formed"
    with pytest.raises(xs.UnsafeXmlError) as err:
        xs.parse_xml("<a/>".encode("utf-16"))
    assert err.value.reason == "bad-encoding"


def test_parse_drops_comments_so_text_is_whole():
    root = xs.parse_xml(b"<a><n>user@idp<!-- injected -->.evil.test</n></a>")
    assert root.findtext("n") == "user@idp.evil.test"


def test_parse_refuses_deep_nesting():
    with pytest.raises(xs.UnsafeXmlError):
        xs.parse_xml(b"<a>" * 5000 + b"</a>" * 5000)


# --- signatures ---


def test_sign_then_verify_returns_the_signed_element(creds):
    idp = creds["idp"][0]
    root = xs.parse_xml(signed_assertion(idp))
    assert xs.verify(root, [idp.certificate]) is root
    # Signature sits right after Issuer, as the SAML schema requires.
    assert [c.tag.split("}")[1] for c in root][:2] == ["Issuer", "Signature"]


def test_ecdsa_signature(creds):
    ec_cred = creds["ec"][0]
    root = xs.parse_xml(signed_assertion(ec_cred))
    assert xs.verify(root, [ec_cred.certificate]) is root


def test_rotation_any_listed_certificate_verifies(creds):
    idp, attacker = creds["idp"][0], creds["attacker"][0]
    root = xs.parse_xml(signed_assertion(idp))
    assert xs.verify(root, [attacker.certificate, idp.certificate]) is root


def _refused(data: bytes, certs, reason: str):
    with pytest.raises(xs.SignatureError) as err:
        xs.verify(xs.parse_xml(data), certs)
    assert err.value.reason == reason, err.value


def test_wrong_key_and_keyinfo_ignored(creds):
    # Signed by the attacker, whose certificate is in KeyInfo: KeyInfo is never trusted.
    _refused(signed_assertion(creds["attacker"][0]), [creds["idp"][0].certificate], "signature-invalid")


def test_tampered_content_refused(creds):
    data = signed_assertion(creds["idp"][0]).replace(b"pid-123", b"pid-999")
    _refused(data, [creds["idp"][0].certificate], "signature-invalid")


def test_unsigned_and_empty_signature_value(creds):
    _refused(ASSERTION, [creds["idp"][0].certificate], "signature-missing")
    root = xs.parse_xml(signed_assertion(creds["idp"][0]))
    root.find(f".//{{{xs.DS}}}SignatureValue").text = ""
    _refused(xs.to_bytes(root), [creds["idp"][0].certificate], "signature-empty")


def test_reference_to_another_element_refused(creds):
    root = xs.parse_xml(signed_assertion(creds["idp"][0]))
    root.set("ID", "_other")
    _refused(xs.to_bytes(root), [creds["idp"][0].certificate], "reference-mismatch")


def test_duplicate_id_refused(creds):
    signed = signed_assertion(creds["idp"][0])
    wrapper = b'<w xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">' + signed + signed + b"</w>"
    root = xs.parse_xml(wrapper)
    with pytest.raises(xs.SignatureError) as err:
        xs.verify(root[0], [creds["idp"][0].certificate])
    assert err.value.reason == "duplicate-id"


def test_algorithm_and_transform_allow_lists(creds):
    signed = signed_assertion(creds["idp"][0])
    cert = [creds["idp"][0].certificate]
    cases = {
        b"http://www.w3.org/2001/04/xmlenc#sha256": (
            b"http://www.w3.org/2000/09/xmldsig#sha1",
            "digest-algorithm-not-allowed",
        ),
        b"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": (
            b"http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "signature-algorithm-not-allowed",
        ),
    }
    for old, (new, reason) in cases.items():
        _refused(signed.replace(old, new), cert, reason)
    _refused(
        signed.replace(
            b"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", b"http://www.w3.org/2000/09/xmldsig#hmac-sha1"
        ),
        cert,
        "signature-algorithm-not-allowed",
    )
    xslt = b'<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"/>'
    xpath = b'<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"/>'
    for extra in (xslt, xpath):
        _refused(signed.replace(b"<ds:Transforms>", b"<ds:Transforms>" + extra), cert, "transform-not-allowed")


def test_two_signatures_refused(creds):
    root = xs.parse_xml(signed_assertion(creds["idp"][0]))
    sig = root.find(f"{{{xs.DS}}}Signature")
    root.append(xs.parse_xml(xs.to_bytes(sig)))
    _refused(xs.to_bytes(root), [creds["idp"][0].certificate], "signature-multiple")


def _ds(local: str) -> str:
    return f"{{{xs.DS}}}{local}"


def _twice(root, path: str) -> None:
    """A second copy of the element at `path` (ds: prefixed, from the signature) right after it."""
    node = root.find(path, xs.NS)
    node.addnext(xs.parse_xml(xs.to_bytes(node)))


def _child(root, path: str, tag: str) -> None:
    etree.SubElement(root.find(path, xs.NS), tag).text = "x"


# Each malformed signature: how it is made from a genuine one, the refusal and its detail. The shape check
# reads each level of the signature in one pass; these pin that it still refuses all of them, as before.
MALFORMED = {
    "two-signedinfo": (
        lambda r: _twice(r, "ds:Signature/ds:SignedInfo"),
        "signature-malformed",
        "ds:SignedInfo (expected exactly one, found 2)",
    ),
    "no-c14n-method": (
        lambda r: r.find("ds:Signature/ds:SignedInfo", xs.NS).remove(
            r.find("ds:Signature/ds:SignedInfo/ds:CanonicalizationMethod", xs.NS)
        ),
        "signature-malformed",
        "ds:CanonicalizationMethod (expected exactly one, found 0)",
    ),
    "inclusive-c14n": (
        lambda r: r.find("ds:Signature/ds:SignedInfo/ds:CanonicalizationMethod", xs.NS).set(
            "Algorithm", "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
        ),
        "c14n-not-allowed",
        "'http://www.w3.org/TR/2001/REC-xml-c14n-20010315' (use http://www.w3.org/2001/10/xml-exc-c14n#)",
    ),
    "hmac-output-length": (
        lambda r: _child(r, "ds:Signature/ds:SignedInfo/ds:SignatureMethod", _ds("HMACOutputLength")),
        "signature-malformed",
        "ds:SignatureMethod has parameters",
    ),
    "two-references": (
        lambda r: _twice(r, "ds:Signature/ds:SignedInfo/ds:Reference"),
        "signature-malformed",
        "ds:Reference (expected exactly one, found 2)",
    ),
    "transform-parameter": (
        lambda r: _child(r, "ds:Signature/ds:SignedInfo/ds:Reference/ds:Transforms/ds:Transform", _ds("XPath")),
        "transform-not-allowed",
        "ds:XPath inside ds:Transform",
    ),
    "two-digest-methods": (
        lambda r: _twice(r, "ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestMethod"),
        "signature-malformed",
        "ds:DigestMethod (expected exactly one, found 2)",
    ),
    "two-signature-values": (
        lambda r: _twice(r, "ds:Signature/ds:SignatureValue"),
        "signature-malformed",
        "ds:SignatureValue (expected exactly one, found 2)",
    ),
    "object-in-signature": (
        lambda r: _child(r, "ds:Signature", _ds("Object")),
        "signature-malformed",
        "ds:Object inside ds:Signature",
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_signatures_refused_with_what_was_wrong(creds, case):
    mutate, reason, detail = MALFORMED[case]
    root = xs.parse_xml(signed_assertion(creds["idp"][0]))
    mutate(root)
    with pytest.raises(xs.SignatureError) as err:
        xs.verify(root, [creds["idp"][0].certificate])
    assert (err.value.reason, err.value.detail) == (reason, detail)


def test_an_id_on_the_document_root_counts_as_a_duplicate(creds):
    signed = signed_assertion(creds["idp"][0])
    root = xs.parse_xml(b'<w xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1">' + signed + b"</w>")
    with pytest.raises(xs.SignatureError) as err:
        xs.verify(root[0], [creds["idp"][0].certificate])
    assert (err.value.reason, err.value.detail) == ("duplicate-id", "'_a1' (2 elements carry this ID)")


def test_no_trusted_certificate(creds):
    _refused(signed_assertion(creds["idp"][0]), [], "no-trusted-key")


# --- encryption ---


@pytest.mark.parametrize(
    ("key_transport", "algorithm", "digest"),
    [
        (xs.KeyTransport.RSA_OAEP, xs.RSA_OAEP_11, xs.SHA256),
        (xs.KeyTransport.RSA_OAEP_MGF1P, xs.RSA_OAEP_MGF1P, xs.SHA1),
    ],
)
def test_encrypt_decrypt_round_trip_both_key_transports(creds, key_transport, algorithm, digest):
    hub = creds["hub"][1]
    enc = xs.encrypt(ASSERTION, hub.certificate, key_transport=key_transport)
    method = enc.find("ds:KeyInfo/xenc:EncryptedKey/xenc:EncryptionMethod", xs.NS)
    assert method.get("Algorithm") == algorithm
    assert [child.get("Algorithm") for child in method] == [digest]  # no xenc11:MGF: MGF1-SHA-1, the default
    assert enc.find("xenc:EncryptionMethod", xs.NS).get("Algorithm") == xs.AES256_GCM
    assert xs.decrypt(xs.parse_xml(xs.to_bytes(enc)), [hub]) == ASSERTION


def test_key_transport_is_spelt_as_in_the_config():
    assert [str(k) for k in xs.KeyTransport] == ["rsa-oaep", "rsa-oaep-mgf1p"]
    assert xs.KeyTransport("rsa-oaep-mgf1p") is xs.KeyTransport.RSA_OAEP_MGF1P


@pytest.mark.parametrize("mgf", ["mgf1sha1", "mgf1sha256", "mgf1sha512"])
def test_xmlenc11_oaep_with_an_explicit_mgf_is_decrypted(creds, mgf):
    """Other senders may name the MGF; SHA-1 spelt out is the same as the default we send."""
    hub = creds["hub"][1]
    mgf_hash = {"mgf1sha1": hashes.SHA1, "mgf1sha256": hashes.SHA256, "mgf1sha512": hashes.SHA512}[mgf]
    enc = _with_mgf(xs.encrypt(ASSERTION, hub.certificate), hub.certificate, xs.XENC11 + mgf, mgf_hash())
    assert xs.decrypt(xs.parse_xml(xs.to_bytes(enc)), [hub]) == ASSERTION


def _with_mgf(enc, certificate, mgf_uri, mgf_hash):
    """`enc` with an explicit xenc11:MGF and its content key rewrapped to match."""
    method = enc.find("ds:KeyInfo/xenc:EncryptedKey/xenc:EncryptionMethod", xs.NS)
    etree.SubElement(method, f"{{{xs.XENC11}}}MGF", Algorithm=mgf_uri)
    wrapped = enc.find("ds:KeyInfo/xenc:EncryptedKey/xenc:CipherData/xenc:CipherValue", xs.NS)
    content_key = os.urandom(32)
    wrapped.text = base64.b64encode(
        certificate.public_key().encrypt(content_key, padding.OAEP(padding.MGF1(mgf_hash), hashes.SHA256(), None))
    ).decode()
    iv = os.urandom(12)
    body = enc.find("xenc:CipherData/xenc:CipherValue", xs.NS)
    body.text = base64.b64encode(iv + AESGCM(content_key).encrypt(iv, ASSERTION, None)).decode()
    return enc


def test_secondary_decryption_key(creds):
    enc = xs.encrypt(ASSERTION, creds["hub-secondary"][1].certificate)
    assert xs.decrypt(enc, [creds["hub"][1], creds["hub-secondary"][1]]) == ASSERTION


def _generic_failure(enc, cred, detail_prefix):
    with pytest.raises(xs.DecryptionError) as err:
        xs.decrypt(xs.parse_xml(xs.to_bytes(enc) if not isinstance(enc, bytes) else enc), [cred])
    assert str(err.value) == "the encrypted content could not be decrypted"
    assert err.value.reason == "decryption-failed"
    assert err.value.detail.startswith(detail_prefix), err.value.detail


class _Spy:
    """A decryption credential that records whether its private key was used."""

    def __init__(self, real):
        self.certificate = real.certificate
        self.used = False
        spy = self

        class _Key:
            def decrypt(self, *a):
                spy.used = True
                return real.private_key.decrypt(*a)

        self.private_key = _Key()


def _legacy_document(content_alg: bytes, key_alg: bytes, cert, plaintext: bytes) -> bytes:
    pad = 16 - len(plaintext) % 16
    padded = plaintext + bytes([pad]) * pad
    if content_alg.endswith(b"aes256-cbc"):
        key, iv = os.urandom(32), os.urandom(16)
        enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        body = iv + enc.update(padded) + enc.finalize()
    elif content_alg.endswith(b"tripledes-cbc"):
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES

        key, iv = os.urandom(24), os.urandom(8)
        enc = Cipher(TripleDES(key), modes.CBC(iv)).encryptor()
        body = iv + enc.update(padded) + enc.finalize()
    else:  # a GCM body; the refusal must come from the key transport
        key = os.urandom(32)
        body = os.urandom(12) + os.urandom(len(plaintext) + 16)
    wrapped = cert.public_key().encrypt(key, padding.PKCS1v15())
    return (
        b'<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" '
        b'xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptionMethod Algorithm="' + content_alg + b'"/>'
        b'<ds:KeyInfo><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="' + key_alg + b'"/>'
        b"<xenc:CipherData><xenc:CipherValue>" + base64.b64encode(wrapped) + b"</xenc:CipherValue></xenc:CipherData>"
        b"</xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>"
        + base64.b64encode(body)
        + b"</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>"
    )


@pytest.mark.parametrize(
    "content_alg,key_alg,detail",
    [
        (b"http://www.w3.org/2001/04/xmlenc#aes256-cbc", b"http://www.w3.org/2009/xmlenc11#rsa-oaep", "content"),
        (b"http://www.w3.org/2001/04/xmlenc#tripledes-cbc", b"http://www.w3.org/2009/xmlenc11#rsa-oaep", "content"),
        (b"http://www.w3.org/2009/xmlenc11#aes256-gcm", b"http://www.w3.org/2001/04/xmlenc#rsa-1_5", "key-transport"),
    ],
)
def test_weak_algorithms_refused_before_any_decryption(creds, content_alg, key_alg, detail):
    hub = creds["hub"][1]
    spy = _Spy(hub)
    doc = _legacy_document(content_alg, key_alg, hub.certificate, ASSERTION)
    with pytest.raises(xs.DecryptionError) as err:
        xs.decrypt(xs.parse_xml(doc), [spy])
    assert str(err.value) == "the encrypted content could not be decrypted"
    assert err.value.detail.startswith(detail)
    assert spy.used is False


def test_wrong_key_and_tampering_give_the_same_generic_error(creds):
    enc = xs.encrypt(ASSERTION, creds["hub"][1].certificate)
    _generic_failure(enc, creds["attacker"][1], "key-unwrap-failed")
    value = enc.findall(f".//{{{xs.XENC}}}CipherValue")[1]
    raw = bytearray(base64.b64decode(value.text))
    raw[-1] ^= 1
    value.text = base64.b64encode(bytes(raw)).decode()
    _generic_failure(enc, creds["hub"][1], "content-authentication-failed")


def test_oaep_with_an_unknown_mgf_under_xmlenc11_refused(creds):
    hub = creds["hub"][1]
    enc = _with_mgf(xs.encrypt(ASSERTION, hub.certificate), hub.certificate, xs.XENC11 + "mgf1sha224", hashes.SHA224())
    _generic_failure(enc, hub, "oaep-mgf-not-allowed")


def test_expired_certificate_is_not_trusted(tmp_path):
    import datetime as dt

    from keys.pki import make_self_signed

    now = dt.datetime.now(dt.UTC)
    key_pem, cert_pem = make_self_signed(
        "expired", not_before=now - dt.timedelta(days=10), not_after=now - dt.timedelta(days=1)
    )
    (tmp_path / "e.key").write_bytes(key_pem)
    (tmp_path / "e.crt").write_bytes(cert_pem)
    cred = load_signing_credential(tmp_path / "e.key", tmp_path / "e.crt")
    root = xs.parse_xml(signed_assertion(cred))
    with pytest.raises(xs.SignatureError) as err:
        xs.verify(root, [cred.certificate])
    assert err.value.reason == "certificate-expired"
