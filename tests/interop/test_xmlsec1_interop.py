"""Interop with the reference implementation: the `xmlsec1` command-line tool (Debian package xmlsec1).

What we sign, xmlsec1 verifies; what xmlsec1 signs, we verify; what we encrypt, xmlsec1 decrypts; and
what xmlsec1 encrypts (AES-256-GCM, RSA-OAEP), we decrypt. xmlsec1 is installed by `make test`.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from federation import xmlsecurity as xs
from federation.credentials import load_decryption_credential, load_signing_credential
from tests.support.self_signed import write_self_signed

pytestmark = pytest.mark.interop

XMLSEC1 = shutil.which("xmlsec1")
if XMLSEC1 is None:  # make test installs it; running pytest by hand without it is a set-up error
    pytest.fail("xmlsec1 is not installed: run `make test` (it installs Debian's xmlsec1)", pytrace=False)

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
ASSERTION = (
    f'<saml:Assertion xmlns:saml="{SAML}" ID="_interop1" Version="2.0" IssueInstant="2026-11-22T10:00:00Z">'
    "<saml:Issuer>https://idp.test</saml:Issuer><saml:Subject><saml:NameID>Siân-pid</saml:NameID></saml:Subject>"
    "</saml:Assertion>"
).encode()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("interop")
    key, cert = write_self_signed(d, "entity")
    return d, key, cert, load_signing_credential(key, cert), load_decryption_credential(key, cert)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([XMLSEC1, *args], capture_output=True, timeout=30, check=False)


def test_xmlsec1_verifies_our_signature(pki):
    d, _key, cert, signing, _ = pki
    signed = d / "ours-signed.xml"
    signed.write_bytes(xs.to_bytes(xs.sign(xs.parse_xml(ASSERTION), signing)))
    result = run("--verify", "--pubkey-cert-pem", str(cert), "--id-attr:ID", f"{SAML}:Assertion", str(signed))
    assert result.returncode == 0, result.stderr.decode()
    assert b"OK" in result.stdout + result.stderr
    # and a tampered copy is refused by xmlsec1 too, so the check above is not vacuous
    signed.write_bytes(signed.read_bytes().replace(b"Si\xc3\xa2n-pid", b"other-pid"))
    result = run("--verify", "--pubkey-cert-pem", str(cert), "--id-attr:ID", f"{SAML}:Assertion", str(signed))
    assert result.returncode != 0


def test_we_verify_xmlsec1_signature(pki):
    d, key, _cert, signing, _ = pki
    template = ASSERTION.replace(
        b"</saml:Issuer>",
        b'</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
        b'<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
        b'<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
        b'<ds:Reference URI="#_interop1"><ds:Transforms>'
        b'<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
        b'<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>'
        b'<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>'
        b"</ds:SignedInfo><ds:SignatureValue/></ds:Signature>",
    )
    (d / "template.xml").write_bytes(template)
    result = run(
        "--sign", "--privkey-pem", str(key), "--id-attr:ID", f"{SAML}:Assertion",
        "--output", str(d / "theirs-signed.xml"), str(d / "template.xml"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    root = xs.parse_xml((d / "theirs-signed.xml").read_bytes())
    assert xs.verify(root, [signing.certificate]) is root
    assert root.findtext(f".//{{{SAML}}}NameID") == "Siân-pid"


def test_xmlsec1_decrypts_what_we_encrypt(pki):
    d, key, _cert, _, decryption = pki
    encrypted = xs.encrypt(ASSERTION, decryption.certificate, key_transport=xs.KeyTransport.RSA_OAEP_MGF1P)
    (d / "ours-encrypted.xml").write_bytes(xs.to_bytes(encrypted))
    result = run("--decrypt", "--privkey-pem", str(key), str(d / "ours-encrypted.xml"))
    assert result.returncode == 0, result.stderr.decode()
    decrypted = xs.parse_xml(result.stdout.split(b"?>", 1)[-1].strip())
    assert decrypted.get("ID") == "_interop1"
    assert decrypted.findtext(f".//{{{SAML}}}NameID") == "Siân-pid"


ENCRYPTION_TEMPLATE = """<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"
  xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Type="http://www.w3.org/2001/04/xmlenc#Element">
  <xenc:EncryptionMethod Algorithm="{content}"/>
  <ds:KeyInfo><xenc:EncryptedKey>
    <xenc:EncryptionMethod Algorithm="{transport}"/>
    <xenc:CipherData><xenc:CipherValue/></xenc:CipherData>
  </xenc:EncryptedKey></ds:KeyInfo>
  <xenc:CipherData><xenc:CipherValue/></xenc:CipherData>
</xenc:EncryptedData>"""


def _xmlsec1_encrypt(d, cert, content: str, transport: str, session_key: str) -> bytes:
    (d / "enc-template.xml").write_text(ENCRYPTION_TEMPLATE.format(content=content, transport=transport))
    (d / "plain.xml").write_bytes(ASSERTION)
    result = run(
        "--encrypt", "--pubkey-cert-pem", str(cert), "--session-key", session_key,
        "--xml-data", str(d / "plain.xml"), "--node-name", f"{SAML}:Assertion",
        str(d / "enc-template.xml"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def test_we_decrypt_what_xmlsec1_encrypts(pki):
    d, _key, cert, _, decryption = pki
    out = _xmlsec1_encrypt(
        d, cert, xs.AES256_GCM, xs.RSA_OAEP_MGF1P, "aes-256"
    )  # the document xmlsec1 returns holds the EncryptedData in place of the assertion
    encrypted = xs.parse_xml(out.split(b"?>", 1)[-1].strip())
    assert xs.decrypt(encrypted, [decryption]) == ASSERTION


def test_cbc_from_xmlsec1_is_refused(pki):
    d, _key, cert, _, decryption = pki
    out = _xmlsec1_encrypt(d, cert, "http://www.w3.org/2001/04/xmlenc#aes256-cbc", xs.RSA_OAEP_MGF1P, "aes-256")
    with pytest.raises(xs.DecryptionError) as err:
        xs.decrypt(xs.parse_xml(out.split(b"?>", 1)[-1].strip()), [decryption])
    assert err.value.detail.startswith("content-encryption-not-allowed")
