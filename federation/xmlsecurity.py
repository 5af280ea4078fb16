"""Safe XML parsing, XML-DSig and XML-Enc: the only code in the project that does any of them.

Signatures use the `xmlsec` binding (libxmlsec1 in process: no subprocess per signature, keys parsed once).
Before libxmlsec1 sees a signature we check its shape ourselves, because a valid signature proves only
the element it references: exactly one enveloped signature, one reference, pointing at the element the
caller will read, with the expected transforms and algorithms. The verifier's key always comes from the
caller (federation metadata or config), never from KeyInfo.

Encryption is XML-Enc built with `cryptography` rather than libxmlsec1's decryption context, because the
algorithm allow-list must be enforced before any key is unwrapped: AES-GCM content encryption and RSA-OAEP
key transport only. Every decryption failure, whatever its cause, surfaces as one generic error so that a
sender cannot use us as an oracle.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import enum
import functools
import logging
import os
import re
import threading
from collections.abc import Iterable, Sequence

import xmlsec
from cryptography import x509
from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from lxml import etree

from federation import op_counts
from federation.credentials import DecryptionCredential, SigningCredential
from federation.logsafe import log_safe

log = logging.getLogger(__name__)

Element = etree._Element  # what parse_xml returns: the type other packages name, without importing lxml
MAX_MESSAGE_BYTES = 512 * 1024

DS = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
DSIG_MORE = "http://www.w3.org/2001/04/xmldsig-more#"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
NS = {"ds": DS, "xenc": XENC, "xenc11": XENC11}

EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
RSA_SHA256 = DSIG_MORE + "rsa-sha256"
RSA_SHA384 = DSIG_MORE + "rsa-sha384"
RSA_SHA512 = DSIG_MORE + "rsa-sha512"
ECDSA_SHA256 = DSIG_MORE + "ecdsa-sha256"
ECDSA_SHA384 = DSIG_MORE + "ecdsa-sha384"
ECDSA_SHA512 = DSIG_MORE + "ecdsa-sha512"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA384 = DSIG_MORE + "sha384"
SHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
AES128_GCM = XENC11 + "aes128-gcm"
AES256_GCM = XENC11 + "aes256-gcm"
RSA_OAEP_MGF1P = XENC + "rsa-oaep-mgf1p"
RSA_OAEP_11 = XENC11 + "rsa-oaep"
MGF1_SHA1 = XENC11 + "mgf1sha1"
MGF1_SHA256 = XENC11 + "mgf1sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
ELEMENT_TYPE = XENC + "Element"

ALLOWED_SIGNATURE_METHODS = frozenset({RSA_SHA256, RSA_SHA384, RSA_SHA512, ECDSA_SHA256, ECDSA_SHA384, ECDSA_SHA512})
ALLOWED_DIGEST_METHODS = frozenset({SHA256, SHA384, SHA512})
CONTENT_ALGORITHMS = {AES128_GCM: 16, AES256_GCM: 32}
KEY_TRANSPORT_ALGORITHMS = frozenset({RSA_OAEP_MGF1P, RSA_OAEP_11})
OAEP_DIGESTS = {SHA1: hashes.SHA1, SHA256: hashes.SHA256, SHA512: hashes.SHA512}
MGF_DIGESTS = {MGF1_SHA1: hashes.SHA1, MGF1_SHA256: hashes.SHA256, XENC11 + "mgf1sha512": hashes.SHA512}

_XMLSEC_TRANSFORMS = {
    RSA_SHA256: xmlsec.constants.TransformRsaSha256,
    RSA_SHA384: xmlsec.constants.TransformRsaSha384,
    RSA_SHA512: xmlsec.constants.TransformRsaSha512,
    ECDSA_SHA256: xmlsec.constants.TransformEcdsaSha256,
    ECDSA_SHA384: xmlsec.constants.TransformEcdsaSha384,
    ECDSA_SHA512: xmlsec.constants.TransformEcdsaSha512,
    SHA256: xmlsec.constants.TransformSha256,
    SHA384: xmlsec.constants.TransformSha384,
    SHA512: xmlsec.constants.TransformSha512,
}
_DIGESTS = (xmlsec.constants.TransformSha256, xmlsec.constants.TransformSha384, xmlsec.constants.TransformSha512)
# What a verification context may run: for the reference, and for SignedInfo itself.
_REFERENCE_TRANSFORMS = (xmlsec.constants.TransformEnveloped, xmlsec.constants.TransformExclC14N, *_DIGESTS)
_SIGNATURE_TRANSFORMS = (xmlsec.constants.TransformExclC14N, *_XMLSEC_TRANSFORMS.values())


class XmlSecurityError(Exception):
    """Base of every refusal here. `reason` is a short code for logs; str() is for people.

    `detail` names what was refused (an algorithm URI, an element, an ID); a sender's value is in it only
    through `log_safe`, so it can go into a log line as it is.
    """

    def __init__(self, reason: str, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail


class UnsafeXmlError(XmlSecurityError):
    pass


class SignatureError(XmlSecurityError):
    pass


class DecryptionError(XmlSecurityError):
    """Always the same public message. `detail` (for the operator's log only) says what was refused."""

    def __init__(self, detail: str) -> None:
        super().__init__("decryption-failed", "the encrypted content could not be decrypted", detail=detail)


# --- parsing ------------------------------------------------------------------------------------------

_FORBIDDEN_MARKUP = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# The encoding named by an XML declaration. Anything but UTF-8 is refused: in an ASCII-incompatible encoding
# (UTF-7, EBCDIC) `<!DOCTYPE` would slip past the byte-level check above, and libxml2 would then read files
# named by external parameter entities (`file:///dev/zero`: a hang) before the tree check below refuses it.
_DECLARED_ENCODING = re.compile(rb"""\A(?:\xef\xbb\xbf)?<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")


_PER_THREAD = threading.local()


def _parser() -> etree.XMLParser:
    """This thread's parser, made on its first parse: one parser shared by threads would make them parse one
    at a time (lxml locks a parser while it parses), and a new one per call costs about 2 us."""
    parser = getattr(_PER_THREAD, "parser", None)
    if parser is None:
        parser = _PER_THREAD.parser = _new_parser()
    return parser


def _new_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,  # so NameID and attribute text is always read whole
        remove_pis=True,
        collect_ids=False,
        encoding="utf-8",  # whatever the document declares: never switch to an encoding the checks cannot read
    )


def parse_xml(data: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES) -> etree._Element:
    """Parse an inbound document, refusing anything that could expand, fetch, or hide content."""
    op_counts.count("xml_parse")
    if not isinstance(data, bytes | bytearray):
        raise UnsafeXmlError("not-bytes", "XML must be given as bytes")
    if len(data) > max_bytes:
        raise UnsafeXmlError(
            "too-large", f"the message is larger than {max_bytes} bytes", detail=f"{len(data)} bytes > {max_bytes}"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4]:
        raise UnsafeXmlError("bad-encoding", "only UTF-8 XML is accepted", detail="UTF-16 (send UTF-8)")
    declared = _DECLARED_ENCODING.match(data)
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        detail = f"{log_safe(declared.group(1))} (send UTF-8)"
        raise UnsafeXmlError("bad-encoding", "only UTF-8 XML is accepted", detail=detail)
    if b"!" in data and _FORBIDDEN_MARKUP.search(data):  # `!` is rare in SAML: memchr spares most regex scans
        raise UnsafeXmlError("doctype", "documents with a DOCTYPE or entity declarations are refused")
    try:
        root = etree.fromstring(bytes(data), parser=_parser())
    except etree.XMLSyntaxError as exc:
        where = f"line {exc.lineno}: " if exc.lineno else ""
        detail = where + log_safe(exc.msg, max_chars=120)
        raise UnsafeXmlError("not-well-formed", "the message is not well-formed XML", detail=detail) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise UnsafeXmlError("doctype", "documents with a DOCTYPE are refused")
    for _ in root.iter(etree.Entity):
        raise UnsafeXmlError("entity", "entity references are refused")
    return root


def to_bytes(element: etree._Element) -> bytes:
    return etree.tostring(element, encoding="utf-8", xml_declaration=False)


# --- signing ------------------------------------------------------------------------------------------


# Prefixes for naming elements in refusals (`saml:Assertion`), as the SAML specifications write them.
_PREFIXES = {
    SAML: "saml",
    "urn:oasis:names:tc:SAML:2.0:protocol": "samlp",
    "urn:oasis:names:tc:SAML:2.0:metadata": "md",
    DS: "ds",
    XENC: "xenc",
    XENC11: "xenc11",
    "http://www.cabinetoffice.gov.uk/resource-library/ida/attributes": "ida",
}


def element_name(element_or_tag: etree._Element | str) -> str:
    """`samlp:Response` for an element or a Clark-notation tag; another namespace's element is named
    through `log_safe`, since its name came from the sender."""
    tag = element_or_tag if isinstance(element_or_tag, str) else element_or_tag.tag
    if not isinstance(tag, str):
        return "a non-element node"
    qname = etree.QName(tag)
    prefix = _PREFIXES.get(qname.namespace or "")
    if prefix is None:
        return log_safe(tag)
    return f"{prefix}:{qname.localname}"


def _element_id(element: etree._Element) -> str:
    element_id = element.get("ID")
    if not element_id:
        name = element_name(element)
        raise SignatureError("no-id", f"<{name}> has no ID attribute", detail=f"{name} has no ID")
    return element_id


@functools.lru_cache(maxsize=64)
def _certificate_text(cert: x509.Certificate) -> str:
    """The base64 DER of a signer's certificate for KeyInfo: the same few certificates sign every message."""
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def sign(
    element: etree._Element, credential: SigningCredential, *, chain: Sequence[x509.Certificate] = ()
) -> etree._Element:
    """Add an enveloped signature over `element` (by ID reference), after its Issuer as SAML requires.

    KeyInfo carries the signer's certificate (and `chain`, for federation metadata, whose readers check the
    path to their trust anchor); message receivers never take a key from it.
    """
    op_counts.count("sign")
    element_id = _element_id(element)
    method = xmlsec.constants.TransformEcdsaSha256 if credential.is_ec else xmlsec.constants.TransformRsaSha256
    signature = xmlsec.template.create(element, xmlsec.constants.TransformExclC14N, method, ns="ds")
    issuer = element.find(f"{{{SAML}}}Issuer")
    element.insert(element.index(issuer) + 1 if issuer is not None else 0, signature)
    ref = xmlsec.template.add_reference(signature, xmlsec.constants.TransformSha256, uri=f"#{element_id}")
    xmlsec.template.add_transform(ref, xmlsec.constants.TransformEnveloped)
    xmlsec.template.add_transform(ref, xmlsec.constants.TransformExclC14N)
    key_info = xmlsec.template.ensure_key_info(signature)
    x509_data = etree.SubElement(key_info, f"{{{DS}}}X509Data")
    for cert in (credential.certificate, *chain):
        etree.SubElement(x509_data, f"{{{DS}}}X509Certificate").text = _certificate_text(cert)
    xmlsec.tree.add_ids(element, ["ID"])
    ctx = xmlsec.SignatureContext()
    ctx.key = credential.xmlsec_key
    try:
        ctx.sign(signature)
    except xmlsec.Error as exc:
        raise SignatureError("sign-failed", f"signing failed: {exc}") from None
    return element


def has_signature(element: etree._Element) -> bool:
    return element.find(f"{{{DS}}}Signature") is not None


def read_certificate(der: bytes) -> x509.Certificate:
    """A DER certificate read whole now (ValueError if any part is malformed).

    `cryptography` parses names, validity and the key lazily, on first access: without this, a malformed
    certificate would raise ValueError later, wherever a caller first looks at it.
    """
    try:
        cert = x509.load_der_x509_certificate(der)
        _ = (cert.subject, cert.issuer, cert.not_valid_before_utc, cert.not_valid_after_utc, cert.extensions)
        cert.public_key()
    except (ValueError, UnsupportedAlgorithm, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as exc:
        raise ValueError(f"malformed certificate: {exc}") from None
    return cert


def signature_certificates(element: etree._Element) -> list[x509.Certificate]:
    """The certificates in the KeyInfo of `element`'s signature: untrusted until a path to an anchor is checked."""
    certs = []
    for node in element.findall("ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS):
        try:
            certs.append(read_certificate(base64.b64decode("".join((node.text or "").split()))))
        except ValueError:
            raise SignatureError("keyinfo-malformed", "a KeyInfo certificate could not be read") from None
    return certs


_SIGNED_INFO, _SIGNATURE_VALUE, _KEY_INFO = f"{{{DS}}}SignedInfo", f"{{{DS}}}SignatureValue", f"{{{DS}}}KeyInfo"
_SIGNATURE_CHILDREN = frozenset({_SIGNED_INFO, _SIGNATURE_VALUE, _KEY_INFO})
_C14N_METHOD, _SIGNATURE_METHOD = f"{{{DS}}}CanonicalizationMethod", f"{{{DS}}}SignatureMethod"
_REFERENCE, _TRANSFORMS, _TRANSFORM = f"{{{DS}}}Reference", f"{{{DS}}}Transforms", f"{{{DS}}}Transform"
_DIGEST_METHOD, _SIGNATURE = f"{{{DS}}}DigestMethod", f"{{{DS}}}Signature"
# How many attributes named ID (no namespace) carry the value: one compiled XPath, the same set as a walk
# over every element of the document comparing `get("ID")`, about a third of its cost. lxml serialises
# calls to one XPath object with its own lock, so sharing it between threads is safe.
_ID_COUNT = etree.XPath("count(//@ID[. = $id])")


def _by_tag(parent: etree._Element) -> dict[object, list[etree._Element]]:
    """`parent`'s children grouped by tag, in document order: one pass instead of a findall per name."""
    found: dict[object, list[etree._Element]] = {}
    for child in parent:
        found.setdefault(child.tag, []).append(child)
    return found


def _one(children: dict[object, list[etree._Element]], tag: str) -> etree._Element:
    found = children.get(tag, ())
    if len(found) != 1:
        what = etree.QName(tag).localname
        detail = f"ds:{what} (expected exactly one, found {len(found)})"
        raise SignatureError("signature-malformed", f"the signature must have exactly one {what}", detail=detail)
    return found[0]


def _check_signature_shape(element: etree._Element, element_id: str) -> etree._Element:
    """Refuse every signature we would not have produced ourselves (wrapping, odd transforms, weak algs)."""
    signatures = list(element.iterchildren(_SIGNATURE))
    if not signatures:
        name = element_name(element)
        raise SignatureError("signature-missing", f"<{name}> is not signed", detail=f"{name} has no ds:Signature")
    if len(signatures) > 1:
        detail = f"{element_name(element)} has {len(signatures)} ds:Signature elements"
        raise SignatureError("signature-multiple", "more than one signature on one element", detail=detail)
    signature = signatures[0]
    carriers = int(_ID_COUNT(element, id=element_id))  # every element of the document, the root included
    if carriers != 1:
        detail = f"{log_safe(element_id)} ({carriers} elements carry this ID)"
        raise SignatureError("duplicate-id", "the signed element's ID is not unique in the document", detail=detail)
    in_signature = _by_tag(signature)
    in_signed_info = _by_tag(_one(in_signature, _SIGNED_INFO))
    c14n = _one(in_signed_info, _C14N_METHOD).get("Algorithm")
    if c14n != EXC_C14N:
        detail = f"{log_safe(c14n, max_chars=120)} (use {EXC_C14N})"
        raise SignatureError("c14n-not-allowed", "only exclusive canonicalisation is accepted", detail=detail)
    signature_method = _one(in_signed_info, _SIGNATURE_METHOD)
    method = signature_method.get("Algorithm")
    if method not in ALLOWED_SIGNATURE_METHODS:
        raise SignatureError(
            "signature-algorithm-not-allowed", "the signature algorithm is not allowed", detail=uri_for_log(method)
        )
    if any(isinstance(child.tag, str) for child in signature_method):  # an element, not a comment
        raise SignatureError(
            "signature-malformed",
            "SignatureMethod parameters (HMAC length) are refused",
            detail="ds:SignatureMethod has parameters",
        )
    reference = _one(in_signed_info, _REFERENCE)
    if reference.get("URI") != f"#{element_id}":
        name = element_name(element)
        detail = f"ds:Reference URI {log_safe(reference.get('URI'))} is not '#' + the ID of {name}"
        raise SignatureError(
            "reference-mismatch", "the signature does not reference the element it is on", detail=detail
        )
    in_reference = _by_tag(reference)
    transform_elements = [t for ts in in_reference.get(_TRANSFORMS, ()) for t in ts.iterchildren(_TRANSFORM)]
    transforms = [t.get("Algorithm") for t in transform_elements]
    if transforms not in ([ENVELOPED, EXC_C14N], [ENVELOPED]):
        refused = [t for t in transforms if t not in (ENVELOPED, EXC_C14N)] or transforms
        detail = ", ".join(uri_for_log(t) for t in refused) + " (use enveloped-signature then exc-c14n)"
        raise SignatureError(
            "transform-not-allowed", "only enveloped + exclusive c14n transforms are accepted", detail=detail
        )
    for transform in transform_elements:
        for child in transform:
            if etree.QName(child).localname != "InclusiveNamespaces":
                detail = f"{element_name(child)} inside ds:Transform"
                raise SignatureError("transform-not-allowed", "transform parameters are refused", detail=detail)
    digest = _one(in_reference, _DIGEST_METHOD).get("Algorithm")
    if digest not in ALLOWED_DIGEST_METHODS:
        raise SignatureError(
            "digest-algorithm-not-allowed", "the digest algorithm is not allowed", detail=uri_for_log(digest)
        )
    value = _one(in_signature, _SIGNATURE_VALUE)
    if not (value.text or "").strip():
        detail = f"ds:SignatureValue of {element_name(element)}"
        raise SignatureError("signature-empty", "the signature value is empty", detail=detail)
    extra = next((child for child in signature if child.tag not in _SIGNATURE_CHILDREN), None)
    if extra is not None:
        raise SignatureError(
            "signature-malformed",
            "only SignedInfo, SignatureValue and KeyInfo may be in a signature",
            detail=f"{element_name(extra)} inside ds:Signature",
        )
    return signature


_PLAIN_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9/#._~%?=&+:-]{1,118}")


def uri_for_log(value: str | None) -> str:
    """An algorithm URI the sender named, for a refusal: bare when it is plain URI text (no space, quote or
    escape: it cannot pass for other text), otherwise through `log_safe`."""
    if value is None:
        return "no Algorithm"
    return value if _PLAIN_URI.fullmatch(value) else log_safe(value, max_chars=120)


@functools.lru_cache(maxsize=512)
def _verification_key(cert: x509.Certificate) -> xmlsec.Key:
    """The certificate's public key alone. A key loaded from the whole certificate carries the certificate
    with it, and libxmlsec1 copies all of that into every verification context (about 70 us each time).

    Keyed by the certificate itself (equal and hashed by its DER), not by a DER copy made per call."""
    public_key = cert.public_key()
    spki = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return xmlsec.Key.from_memory(spki, xmlsec.constants.KeyDataFormatPem)


def verify(element: etree._Element, certificates: Iterable[x509.Certificate]) -> etree._Element:
    """Verify the enveloped signature on `element` with one of `certificates`; return `element`.

    Read data only from the returned element (and its descendants): that is what the signature covers.
    """
    op_counts.count("verify")
    element_id = _element_id(element)
    signature = _check_signature_shape(element, element_id)
    certificates = list(certificates)
    if not certificates:
        detail = element_name(element)
        raise SignatureError("no-trusted-key", "no certificate is trusted for this issuer", detail=detail)
    now = datetime.datetime.now(datetime.UTC)
    certificates = [c for c in certificates if c.not_valid_before_utc <= now <= c.not_valid_after_utc]
    if not certificates:
        detail = f"{element_name(element)} (every certificate trusted for its issuer is outside its validity period)"
        raise SignatureError(
            "certificate-expired", "every certificate trusted for this issuer has expired", detail=detail
        )
    root = element.getroottree().getroot()
    xmlsec.tree.add_ids(root, ["ID"])
    for cert in certificates:
        ctx = xmlsec.SignatureContext()
        ctx.key = _verification_key(cert)
        for allowed in _REFERENCE_TRANSFORMS:
            ctx.enable_reference_transform(allowed)
        for allowed in _SIGNATURE_TRANSFORMS:
            ctx.enable_signature_transform(allowed)
        try:
            ctx.verify(signature)
        except xmlsec.Error:
            continue
        return element
    raise SignatureError(
        "signature-invalid",
        "the signature does not verify with any trusted certificate",
        detail=f"{element_name(element)} (changed after signing, or not signed with a key in federation metadata)",
    )


# --- encryption ---------------------------------------------------------------------------------------


class KeyTransport(enum.StrEnum):
    """How the AES content key is wrapped for the recipient; the values are the config's spelling.

    RSA_OAEP: XML-Enc 1.1 `rsa-oaep` with a SHA-256 DigestMethod and no MGF element, so MGF1 with SHA-1
    (the spec's default): python3-saml validates against the XML-Enc 1.0 schema, which refuses an
    `xenc11:MGF` element. RSA_OAEP_MGF1P: XML-Enc 1.0 `rsa-oaep-mgf1p` (SHA-1 digest and MGF1), the only
    RSA-OAEP that Debian's xmlsec1 1.2 (under pysaml2) can decrypt. SHA-1 inside OAEP does not rely on the
    collision resistance that retired SHA-1 for signatures and digests, so both are sound.
    """

    RSA_OAEP = "rsa-oaep"
    RSA_OAEP_MGF1P = "rsa-oaep-mgf1p"


_ENCRYPTED_DATA, _ENCRYPTED_KEY = f"{{{XENC}}}EncryptedData", f"{{{XENC}}}EncryptedKey"
_ENCRYPTION_METHOD, _CIPHER_DATA, _CIPHER_VALUE = (
    f"{{{XENC}}}EncryptionMethod",
    f"{{{XENC}}}CipherData",
    f"{{{XENC}}}CipherValue",
)
# Each key transport: its Algorithm URI, its DigestMethod URI, and the OAEP padding they stand for.
_MGF1_SHA1 = padding.MGF1(hashes.SHA1())  # noqa: S303 - inside OAEP, see KeyTransport
_KEY_TRANSPORTS: dict[KeyTransport, tuple[str, str, padding.OAEP]] = {
    KeyTransport.RSA_OAEP: (RSA_OAEP_11, SHA256, padding.OAEP(_MGF1_SHA1, hashes.SHA256(), None)),
    KeyTransport.RSA_OAEP_MGF1P: (RSA_OAEP_MGF1P, SHA1, padding.OAEP(_MGF1_SHA1, hashes.SHA1(), None)),  # noqa: S303
}


def encrypt(
    plaintext: bytes | etree._Element,
    recipient: x509.Certificate,
    *,
    key_transport: KeyTransport = KeyTransport.RSA_OAEP,
) -> etree._Element:
    """Encrypt an element for `recipient`: AES-256-GCM content, RSA-OAEP key transport (see KeyTransport)."""
    op_counts.count("encrypt")
    data = plaintext if isinstance(plaintext, bytes) else to_bytes(plaintext)
    content_key = AESGCM.generate_key(bit_length=256)
    iv = os.urandom(12)
    cipher_value = iv + AESGCM(content_key).encrypt(iv, data, None)
    algorithm, digest, oaep = _KEY_TRANSPORTS[KeyTransport(key_transport)]
    wrapped = recipient.public_key().encrypt(content_key, oaep)
    # Built with SubElement rather than lxml.builder's ElementMaker: the same XML at a fifth of the cost.
    encrypted = etree.Element(_ENCRYPTED_DATA, Type=ELEMENT_TYPE, nsmap={"xenc": XENC})
    etree.SubElement(encrypted, _ENCRYPTION_METHOD, Algorithm=AES256_GCM)
    encrypted_key = etree.SubElement(etree.SubElement(encrypted, _KEY_INFO, nsmap={"ds": DS}), _ENCRYPTED_KEY)
    etree.SubElement(
        etree.SubElement(encrypted_key, _ENCRYPTION_METHOD, Algorithm=algorithm), _DIGEST_METHOD, Algorithm=digest
    )
    _cipher_data(encrypted_key, wrapped)
    _cipher_data(encrypted, cipher_value)
    return encrypted


def _cipher_data(parent: etree._Element, value: bytes) -> None:
    etree.SubElement(etree.SubElement(parent, _CIPHER_DATA), _CIPHER_VALUE).text = base64.b64encode(value).decode()


def _b64(element: etree._Element | None) -> bytes:
    if element is None:
        raise DecryptionError("cipher-value-missing")
    try:
        return base64.b64decode("".join((element.text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise DecryptionError("cipher-value-not-base64") from None


def _single(parent: etree._Element, path: str, detail: str) -> etree._Element:
    found = parent.findall(path, NS)
    if len(found) != 1:
        raise DecryptionError(detail)
    return found[0]


def _oaep_padding(method: etree._Element) -> padding.OAEP:
    algorithm = method.get("Algorithm")
    if algorithm not in KEY_TRANSPORT_ALGORITHMS:
        raise DecryptionError(f"key-transport-not-allowed:{uri_for_log(algorithm)}")
    digest_el = method.find("ds:DigestMethod", NS)
    digest_uri = digest_el.get("Algorithm") if digest_el is not None else SHA1
    if method.find("xenc:OAEPparams", NS) is not None:
        raise DecryptionError("oaep-params-refused")
    if algorithm == RSA_OAEP_MGF1P:
        # MGF1 is fixed to SHA-1 by this identifier; only the OAEP digest is a parameter.
        if digest_uri not in OAEP_DIGESTS:
            raise DecryptionError(f"oaep-digest-not-allowed:{uri_for_log(digest_uri)}")
        return padding.OAEP(padding.MGF1(hashes.SHA1()), OAEP_DIGESTS[digest_uri](), None)  # noqa: S303
    if digest_uri not in (SHA256, SHA512):
        raise DecryptionError(f"oaep-digest-not-allowed:{uri_for_log(digest_uri)}")
    mgf_el = method.find("xenc11:MGF", NS)
    mgf_uri = mgf_el.get("Algorithm") if mgf_el is not None else MGF1_SHA1  # XML-Enc 1.1's default
    if mgf_uri not in MGF_DIGESTS:
        raise DecryptionError(f"oaep-mgf-not-allowed:{uri_for_log(mgf_uri)}")
    return padding.OAEP(padding.MGF1(MGF_DIGESTS[mgf_uri]()), OAEP_DIGESTS[digest_uri](), None)


def decrypt(encrypted_data: etree._Element, credentials: Sequence[DecryptionCredential]) -> bytes:
    """Decrypt an xenc:EncryptedData; return the plaintext XML bytes (parse them with `parse_xml`).

    Every algorithm is checked before any private-key operation. The EncryptedKey must sit in the
    EncryptedData's KeyInfo or be a sibling EncryptedKey (as SAML's EncryptedAssertion allows).
    """
    op_counts.count("decrypt")
    if etree.QName(encrypted_data).text != f"{{{XENC}}}EncryptedData":
        raise DecryptionError("not-encrypted-data")
    if encrypted_data.get("Type") not in (None, ELEMENT_TYPE):
        raise DecryptionError("encrypted-data-type")
    content_alg = _single(encrypted_data, "xenc:EncryptionMethod", "content-method-missing").get("Algorithm")
    if content_alg not in CONTENT_ALGORITHMS:
        raise DecryptionError(f"content-encryption-not-allowed:{uri_for_log(content_alg)}")
    keys = encrypted_data.findall("ds:KeyInfo/xenc:EncryptedKey", NS)
    parent = encrypted_data.getparent()
    if not keys and parent is not None:
        keys = parent.findall("xenc:EncryptedKey", NS)
    if len(keys) != 1:
        raise DecryptionError("encrypted-key-count")
    encrypted_key = keys[0]
    oaep = _oaep_padding(_single(encrypted_key, "xenc:EncryptionMethod", "key-method-missing"))
    wrapped = _b64(encrypted_key.find("xenc:CipherData/xenc:CipherValue", NS))
    cipher_value = _b64(encrypted_data.find("xenc:CipherData/xenc:CipherValue", NS))
    if len(cipher_value) < 12 + 16:
        raise DecryptionError("cipher-value-too-short")
    if not credentials:
        raise DecryptionError("no-decryption-key")
    for credential in credentials:
        try:
            content_key = credential.private_key.decrypt(wrapped, oaep)
        except ValueError:
            continue
        if len(content_key) != CONTENT_ALGORITHMS[content_alg]:
            raise DecryptionError("content-key-length")
        try:
            return AESGCM(content_key).decrypt(cipher_value[:12], cipher_value[12:], None)
        except InvalidTag:
            raise DecryptionError("content-authentication-failed") from None
    raise DecryptionError("key-unwrap-failed")
