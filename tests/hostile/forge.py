"""Forge the federation's messages from its real keys, so each attack starts from a message that is accepted.

An attack is: build the valid message (`forge_idp_response`, `forge_authn_request`), mutate the lxml tree
(the signed plaintext assertions are kept next to the Response, so an attack can change them and re-sign
or re-encrypt), then post it. Signing with any key, any algorithm and any transform (`sign_with`) and
encrypting with any algorithm (`encrypt_for`) are here so that refused algorithms can be offered on an
otherwise correct message.
"""

from __future__ import annotations

import base64
import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import xmlsec
from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lxml import etree
from lxml.builder import ElementMaker

from federation import xmlsecurity
from federation.config import FederationConfig, load_federation_config
from federation.credentials import SigningCredential, load_certificate, load_signing_credential
from federation.demo import DEMO_CONFIG
from federation.loa import LevelOfAssurance
from federation.saml import (
    Address,
    Attribute,
    MatchingDataset,
    MdsValue,
    Status,
    build_assertion,
    build_authn_request,
    build_response,
    encode_post,
    new_id,
)
from federation.saml import constants as c
from federation.saml.assertion import mds_attributes
from federation.saml.constants import SAML_NS, SAMLP_NS, q
from keys import pki
from tests.e2e.journey import choose, start_at_service
from tests.support.browser_client import BrowserClient, Page

DS = xmlsecurity.DS
XENC = xmlsecurity.XENC
XENC11 = xmlsecurity.XENC11

# Algorithm identifiers an attacker may offer (the allowed ones live in federation.xmlsecurity).
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
ECDSA_SHA1 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"
HMAC_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
XSLT = "http://www.w3.org/TR/1999/REC-xslt-19991116"
XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"
AES256_CBC = XENC + "aes256-cbc"
TRIPLEDES_CBC = XENC + "tripledes-cbc"
RSA_1_5 = XENC + "rsa-1_5"

_XMLSEC = {
    xmlsecurity.RSA_SHA256: xmlsec.constants.TransformRsaSha256,
    xmlsecurity.ECDSA_SHA256: xmlsec.constants.TransformEcdsaSha256,
    RSA_SHA1: xmlsec.constants.TransformRsaSha1,
    ECDSA_SHA1: xmlsec.constants.TransformEcdsaSha1,
    HMAC_SHA256: xmlsec.constants.TransformHmacSha256,
    xmlsecurity.SHA256: xmlsec.constants.TransformSha256,
    SHA1: xmlsec.constants.TransformSha1,
    xmlsecurity.ENVELOPED: xmlsec.constants.TransformEnveloped,
    xmlsecurity.EXC_C14N: xmlsec.constants.TransformExclC14N,
    XPATH: xmlsec.constants.TransformXPath,
    XSLT: xmlsec.constants.TransformXslt,
}

IDENTITY_XSLT = (
    '<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0">'
    '<xsl:template match="@*|node()"><xsl:copy><xsl:apply-templates select="@*|node()"/></xsl:copy>'
    "</xsl:template></xsl:stylesheet>"
)


# --- the federation as seen by a forger -------------------------------------------------------------------


@dataclass(frozen=True)
class Forge:
    """The run's federation config (real URLs) and the real keys: everything needed to forge messages."""

    keys_dir: Path
    config: FederationConfig

    @property
    def hub_entity_id(self) -> str:
        return self.config.hub.entity_id

    @property
    def hub_response_url(self) -> str:
        return self.config.hub.response_url

    @property
    def hub_sso_url(self) -> str:
        return self.config.hub.sso_url

    @property
    def hub_encryption_certificate(self) -> x509.Certificate:
        return load_certificate(self.keys_dir / "hub-encryption.crt")

    def credential(self, name: str) -> SigningCredential:
        """`<name>-signing.key/.crt` from the keys directory (e.g. stub-idp-two, test-rp, hub)."""
        return load_signing_credential(self.keys_dir / f"{name}-signing.key", self.keys_dir / f"{name}-signing.crt")

    def idp_entity_id(self, name: str) -> str:
        return next(idp.entity_id for idp in self.config.identity_providers if idp.name == name)

    def rp_entity_id(self, name: str = "test-rp") -> str:
        return next(rp.entity_id for rp in self.config.relying_parties if rp.name == name)

    def ms_entity_id(self, name: str = "test-rp-ms") -> str:
        return next(ms.entity_id for ms in self.config.matching_services if ms.name == name)


def make_forge(keys_dir: Path, federation) -> Forge:
    return Forge(keys_dir, load_federation_config(DEMO_CONFIG, keys_dir=keys_dir, variables=federation.urls))


# --- a hub session awaiting an IDP's answer ---------------------------------------------------------------


@dataclass
class HubRequest:
    """The hub's AuthnRequest to the chosen IDP, read from the auto-post page the browser is on."""

    browser: BrowserClient
    page: Page
    id: str
    idp_sso_url: str
    idp_name: str  # e.g. "stub-idp-two", from the SSO URL path


def read_hub_request(browser: BrowserClient, page: Page) -> HubRequest:
    form = page.form(auto=True)
    action = form.get("action")
    saml_request = form.xpath(".//input[@name='SAMLRequest']")[0].get("value")
    request = xmlsecurity.parse_xml(base64.b64decode(saml_request))
    idp_name = urlsplit(action).path.strip("/").split("/")[0]
    return HubRequest(browser=browser, page=page, id=request.get("ID"), idp_sso_url=action, idp_name=idp_name)


def await_idp_response(federation, idp_display_name: str = "Stub IDP Two", browser: BrowserClient | None = None):
    """A fresh citizen session at the hub in IDP_SELECTED: start at the service, choose a company."""
    browser = browser or BrowserClient()
    page = start_at_service(browser, federation)
    page = choose(browser, page, idp_display_name)
    return read_hub_request(browser, page)


def post_to_hub_acs(forge: Forge, hub_request: HubRequest, saml_response: str | bytes | etree._Element) -> Page:
    """POST to the hub's response URL from the IDP's site (cross-site, as a browser would)."""
    if isinstance(saml_response, etree._Element):
        saml_response = xmlsecurity.to_bytes(saml_response)
    if isinstance(saml_response, bytes):
        saml_response = encode_post(saml_response)
    return hub_request.browser.post(
        forge.hub_response_url, {"SAMLResponse": saml_response}, from_url=hub_request.idp_sso_url
    )


# --- test data ---------------------------------------------------------------------------------------------


def alice_mds(*, surname: str = "Evans") -> MatchingDataset:
    """The fictional test user `alice` (stub_idps/data/users.yaml), who matches demo record D-1001."""
    return MatchingDataset(
        first_names=(MdsValue("Alice", True),),
        middle_names=(MdsValue("Jane", True),),
        surnames=(MdsValue(surname, True, date(1985, 3, 14)),),
        gender=MdsValue("FEMALE", True),
        date_of_birth=MdsValue(date(1985, 3, 14), True),
        current_address=Address(
            lines=("12 Orchard Road", "Bristol"), postcode="BS7 8QT", verified=True, from_date=date(2015, 6, 1)
        ),
        previous_addresses=(
            Address(
                lines=("3 Mill Lane", "Bath"),
                postcode="BA1 5JP",
                verified=True,
                from_date=date(2010, 1, 1),
                to_date=date(2015, 5, 31),
            ),
        ),
    )


def fresh_pid() -> str:
    return "hostile-" + os.urandom(16).hex()


# --- IDP responses -------------------------------------------------------------------------------------------


@dataclass
class ForgedResponse:
    """A valid IDP Response and the parts it was made of (all lxml, all mutable).

    `authn` and `mds` are the signed plaintext assertions BEFORE encryption; `response` is the signed
    Response holding them encrypted for the hub. Mutate a part, then `reassemble()` (which re-encrypts the
    assertions and re-signs the Response with `response_credential`) or post `response` as it is.
    """

    forge: Forge
    idp_name: str
    in_response_to: str
    authn: etree._Element
    mds: etree._Element
    response: etree._Element
    response_credential: SigningCredential
    extra_assertions: list[etree._Element] = field(default_factory=list)

    @property
    def assertions(self) -> list[etree._Element]:
        return [self.authn, self.mds, *self.extra_assertions]

    def reassemble(self, *, assertions: Sequence[etree._Element] | None = None, **kwargs) -> etree._Element:
        self.response = assemble_response(
            self.forge,
            idp_name=self.idp_name,
            in_response_to=self.in_response_to,
            assertions=self.assertions if assertions is None else assertions,
            credential=kwargs.pop("credential", self.response_credential),
            **kwargs,
        )
        return self.response

    def post(self, hub_request: HubRequest) -> Page:
        return post_to_hub_acs(self.forge, hub_request, self.response)


def idp_assertions(
    forge: Forge,
    *,
    idp_name: str,
    in_response_to: str,
    pid: str,
    level: LevelOfAssurance | None = LevelOfAssurance.LEVEL_2,
    mds: MatchingDataset | None = None,
    fraud: bool = False,
    authn_attributes: Sequence[Attribute] = (),
    credential: SigningCredential | None = None,
    now: datetime | None = None,
    **overrides,
) -> tuple[etree._Element, etree._Element]:
    """The profile's two signed assertions (authn statement + matching dataset), as a stub IDP makes them.

    `overrides` go to both `build_assertion` calls (issuer, audience, recipient, valid_for, ...).
    """
    common = {
        "issuer": forge.idp_entity_id(idp_name),
        "name_id": pid,
        "audience": forge.hub_entity_id,
        "recipient": forge.hub_response_url,
        "in_response_to": in_response_to,
        "credential": credential or forge.credential(idp_name),
        "now": now or datetime.now(UTC),
        **overrides,
    }
    attributes = [*authn_attributes, Attribute(c.TXN_IPADDRESS, ("203.0.113.7",))]
    if fraud:
        authn = build_assertion(**common, fraud=True, attributes=attributes)
    else:
        authn = build_assertion(**common, level_of_assurance=level, attributes=attributes)
    mds_assertion = build_assertion(**common, attributes=mds_attributes(mds or alice_mds()))
    return authn, mds_assertion


def assemble_response(
    forge: Forge,
    *,
    idp_name: str,
    in_response_to: str,
    assertions: Sequence[etree._Element],
    credential: SigningCredential | None,
    encrypt: bool = True,
    destination: str | None = None,
    status: Status = Status(c.STATUS_SUCCESS),
    issuer: str | None = None,
    now: datetime | None = None,
) -> etree._Element:
    """A Response carrying `assertions` (encrypted for the hub unless `encrypt=False` or already encrypted).

    `credential=None` leaves the Response unsigned.
    """
    wrapped = []
    for assertion in assertions:
        if encrypt and assertion.tag == q(SAML_NS, "Assertion"):
            assertion = encrypt_for(assertion, forge.hub_encryption_certificate)
        wrapped.append(copy.deepcopy(assertion))
    response = build_response(
        issuer=issuer or forge.idp_entity_id(idp_name),
        in_response_to=in_response_to,
        status=status,
        credential=credential or forge.credential(idp_name),
        now=now or datetime.now(UTC),
        destination=destination or forge.hub_response_url,
        assertions=wrapped,
    )
    if credential is None:
        strip_signature(response)
    return response


def forge_idp_response(
    forge: Forge,
    hub_request: HubRequest | str,
    *,
    idp_name: str | None = None,
    pid: str | None = None,
    level: LevelOfAssurance | None = LevelOfAssurance.LEVEL_2,
    mds: MatchingDataset | None = None,
    fraud: bool = False,
    authn_attributes: Sequence[Attribute] = (),
    now: datetime | None = None,
) -> ForgedResponse:
    """A valid success Response from `idp_name` (default: the IDP the hub asked) to the hub's request."""
    request_id = hub_request if isinstance(hub_request, str) else hub_request.id
    name = idp_name or (hub_request.idp_name if isinstance(hub_request, HubRequest) else "stub-idp-two")
    credential = forge.credential(name)
    authn, mds_assertion = idp_assertions(
        forge,
        idp_name=name,
        in_response_to=request_id,
        pid=pid or fresh_pid(),
        level=level,
        mds=mds,
        fraud=fraud,
        authn_attributes=authn_attributes,
        now=now,
    )
    forged = ForgedResponse(
        forge=forge,
        idp_name=name,
        in_response_to=request_id,
        authn=authn,
        mds=mds_assertion,
        response=etree.Element("placeholder"),
        response_credential=credential,
    )
    forged.reassemble(now=now)
    return forged


# --- signatures --------------------------------------------------------------------------------------------


def signature_of(element: etree._Element) -> etree._Element | None:
    return element.find(f"{{{DS}}}Signature")


def strip_signature(element: etree._Element) -> etree._Element:
    """Remove the element's own enveloped signature (not those of its descendants)."""
    signature = signature_of(element)
    if signature is not None:
        element.remove(signature)
    return element


def resign(element: etree._Element, credential: SigningCredential) -> etree._Element:
    """Replace the element's signature with a fresh one, exactly as the product signs."""
    return xmlsecurity.sign(strip_signature(element), credential)


def sha1_signature(credential: SigningCredential) -> str:
    """The SHA-1 signature method a party's key can make: ECDSA-SHA1 for a P-256 key, RSA-SHA1 for RSA."""
    return ECDSA_SHA1 if credential.is_ec else RSA_SHA1


def sign_with(
    element: etree._Element,
    credential: SigningCredential | None = None,
    *,
    hmac_key: bytes | None = None,
    signature_method: str | None = None,
    digest_method: str = xmlsecurity.SHA256,
    transforms: Sequence[str | tuple[str, etree._Element]] = (xmlsecurity.ENVELOPED, xmlsecurity.EXC_C14N),
    key_info_certificates: Sequence[x509.Certificate] | None = None,
) -> etree._Element:
    """Sign `element` (replacing its signature) with any algorithm, transforms and KeyInfo: a real signature.

    A transform is an algorithm URI, or (URI, child element) for parameterised ones (XPath, XSLT).
    `hmac_key` signs with HMAC instead of `credential`'s private key. The signature method defaults to the
    one `xmlsecurity.sign` uses for the key: RSA-SHA256 or ECDSA-SHA256.
    """
    if signature_method is None:
        signature_method = xmlsecurity.ECDSA_SHA256 if credential and credential.is_ec else xmlsecurity.RSA_SHA256
    strip_signature(element)
    element_id = element.get("ID")
    signature = xmlsec.template.create(element, xmlsec.constants.TransformExclC14N, _XMLSEC[signature_method], ns="ds")
    issuer = element.find(q(SAML_NS, "Issuer"))
    element.insert(element.index(issuer) + 1 if issuer is not None else 0, signature)
    ref = xmlsec.template.add_reference(signature, _XMLSEC[digest_method], uri=f"#{element_id}")
    for transform in transforms:
        uri, child = transform if isinstance(transform, tuple) else (transform, None)
        node = xmlsec.template.add_transform(ref, _XMLSEC[uri])
        if child is not None:
            node.append(child)
    certs = key_info_certificates
    if certs is None and credential is not None:
        certs = [credential.certificate]
    if certs:
        key_info = xmlsec.template.ensure_key_info(signature)
        x509_data = etree.SubElement(key_info, f"{{{DS}}}X509Data")
        for cert in certs:
            der = cert.public_bytes(serialization.Encoding.DER)
            etree.SubElement(x509_data, f"{{{DS}}}X509Certificate").text = base64.b64encode(der).decode()
    xmlsec.tree.add_ids(element, ["ID"])
    ctx = xmlsec.SignatureContext()
    if hmac_key is not None:
        ctx.key = xmlsec.Key.from_binary_data(xmlsec.constants.KeyDataHmac, hmac_key)
    else:
        assert credential is not None, "give a credential or an hmac_key"
        ctx.key = credential.xmlsec_key
    ctx.sign(signature)
    return element


def xpath_transform() -> tuple[str, etree._Element]:
    node = etree.Element(f"{{{DS}}}XPath", nsmap={"ds": DS})
    node.text = "not(ancestor-or-self::ds:Signature)"
    return XPATH, node


def xslt_transform() -> tuple[str, etree._Element]:
    return XSLT, etree.fromstring(IDENTITY_XSLT)


def credential_from_pem(key_pem: bytes, cert_pem: bytes) -> SigningCredential:
    key = serialization.load_pem_private_key(key_pem, password=None)
    cert = x509.load_pem_x509_certificate(cert_pem)
    pkcs8 = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return SigningCredential(
        private_key=key,  # type: ignore[arg-type]
        certificate=cert,
        cert_pem=cert_pem,
        xmlsec_key=xmlsec.Key.from_memory(pkcs8, xmlsec.constants.KeyDataFormatPem),
    )


def attacker_credential(
    kind: str, keys_dir: Path | None = None, common_name: str = "stub-idp-two"
) -> SigningCredential:
    """An attacker's signing key whose certificate claims `common_name`.

    kind: "self-signed"; "other-ca" (issued by the attacker's own CA); "federation-ca" (issued by the
    federation's real idp-ca: a certificate that chains to the trust anchor but is not in metadata).
    """
    if kind == "self-signed":
        return credential_from_pem(*pki.make_self_signed(common_name))
    if kind == "other-ca":
        ca_key, ca_cert = pki.make_self_signed("attacker root CA", is_ca=True)
        return credential_from_pem(*pki.issue(ca_key, ca_cert, common_name))
    if kind == "federation-ca":
        assert keys_dir is not None
        ca_key, ca_cert = (keys_dir / "idp-ca.key").read_bytes(), (keys_dir / "idp-ca.crt").read_bytes()
        return credential_from_pem(*pki.issue(ca_key, ca_cert, common_name))
    raise ValueError(kind)


# --- encryption --------------------------------------------------------------------------------------------


def encrypt_for(
    assertion: etree._Element | bytes,
    recipient: x509.Certificate,
    *,
    content_algorithm: str = xmlsecurity.AES256_GCM,
    key_transport: str = xmlsecurity.RSA_OAEP_11,
) -> etree._Element:
    """saml:EncryptedAssertion with any content algorithm and key transport; real ciphertext either way."""
    data = assertion if isinstance(assertion, bytes) else xmlsecurity.to_bytes(assertion)
    if content_algorithm == xmlsecurity.AES256_GCM:
        key = AESGCM.generate_key(bit_length=256)
        iv = os.urandom(12)
        cipher_value = iv + AESGCM(key).encrypt(iv, data, None)
    elif content_algorithm in (AES256_CBC, TRIPLEDES_CBC):
        cbc = AES256_CBC == content_algorithm
        key = os.urandom(32 if cbc else 24)
        block = 128 if cbc else 64
        iv = os.urandom(block // 8)
        padder = padding.PKCS7(block).padder()
        algorithm = algorithms.AES(key) if cbc else TripleDES(key)
        encryptor = Cipher(algorithm, modes.CBC(iv)).encryptor()
        cipher_value = iv + encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()
    else:
        raise ValueError(content_algorithm)
    xenc = ElementMaker(namespace=XENC, nsmap={"xenc": XENC})
    ds = ElementMaker(namespace=DS, nsmap={"ds": DS})
    if key_transport == xmlsecurity.RSA_OAEP_11:
        wrapped = recipient.public_key().encrypt(
            key, asym_padding.OAEP(asym_padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
        )
        method = xenc.EncryptionMethod(
            ds.DigestMethod(Algorithm=xmlsecurity.SHA256),
            etree.Element(f"{{{XENC11}}}MGF", Algorithm=xmlsecurity.MGF1_SHA256, nsmap={"xenc11": XENC11}),
            Algorithm=xmlsecurity.RSA_OAEP_11,
        )
    elif key_transport == RSA_1_5:
        wrapped = recipient.public_key().encrypt(key, asym_padding.PKCS1v15())
        method = xenc.EncryptionMethod(Algorithm=RSA_1_5)
    else:
        raise ValueError(key_transport)
    encrypted = xenc.EncryptedData(
        xenc.EncryptionMethod(Algorithm=content_algorithm),
        ds.KeyInfo(xenc.EncryptedKey(method, xenc.CipherData(xenc.CipherValue(base64.b64encode(wrapped).decode())))),
        xenc.CipherData(xenc.CipherValue(base64.b64encode(cipher_value).decode())),
        Type=xmlsecurity.ELEMENT_TYPE,
    )
    wrapper = etree.Element(q(SAML_NS, "EncryptedAssertion"), nsmap={"saml": SAML_NS})
    wrapper.append(encrypted)
    return wrapper


# --- XML helpers ---------------------------------------------------------------------------------------------


def first(element: etree._Element, path: str) -> etree._Element:
    found = element.find(path, {"saml": SAML_NS, "samlp": SAMLP_NS, "ds": DS})
    assert found is not None, path
    return found


def name_id_of(assertion: etree._Element) -> etree._Element:
    return first(assertion, "saml:Subject/saml:NameID")


def insert_comment(element: etree._Element, at: int) -> etree._Element:
    """Split `element`'s text at `at` with an empty comment: `ab` becomes `a<!---->b` (signature unchanged)."""
    text = element.text or ""
    element.text = text[:at]
    comment = etree.Comment("")
    comment.tail = text[at:]
    element.insert(0, comment)
    return element


# --- RP AuthnRequests -----------------------------------------------------------------------------------------


def forge_authn_request(
    forge: Forge,
    *,
    credential: SigningCredential | None = None,
    issuer: str | None = None,
    now: datetime | None = None,
    sign: bool = True,
    **kwargs,
) -> etree._Element:
    """A valid AuthnRequest from test-rp to the hub (signed with test-rp's real key unless told otherwise)."""
    return build_authn_request(
        issuer=issuer or forge.rp_entity_id(),
        destination=forge.hub_sso_url,
        credential=credential or forge.credential("test-rp"),
        now=now or datetime.now(UTC),
        levels=(LevelOfAssurance.LEVEL_2,),
        sign=sign,
        **kwargs,
    )


__all__ = [
    "AES256_CBC",
    "Forge",
    "ForgedResponse",
    "HMAC_SHA256",
    "HubRequest",
    "RSA_1_5",
    "RSA_SHA1",
    "ECDSA_SHA1",
    "sha1_signature",
    "SHA1",
    "TRIPLEDES_CBC",
    "alice_mds",
    "assemble_response",
    "attacker_credential",
    "await_idp_response",
    "encrypt_for",
    "forge_authn_request",
    "forge_idp_response",
    "fresh_pid",
    "idp_assertions",
    "insert_comment",
    "make_forge",
    "new_id",
    "post_to_hub_acs",
    "read_hub_request",
    "resign",
    "sign_with",
    "strip_signature",
    "xpath_transform",
    "xslt_transform",
]
