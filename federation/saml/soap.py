"""SOAP 1.1 envelope for the back channel (hub <-> matching service): one SAML message per Body.

Strict by design: exactly one element in Body, no header processing (a header that demands to be
understood is refused, as SOAP 1.1 section 4.2.3 requires), nothing else in the envelope.
"""

from __future__ import annotations

from lxml import etree

from federation import xmlsecurity
from federation.saml import _common
from federation.saml.constants import SOAP11_NS, q
from federation.saml.errors import SamlValidationError

CONTENT_TYPE = "text/xml; charset=utf-8"
_ENVELOPE, _HEADER, _BODY = q(SOAP11_NS, "Envelope"), q(SOAP11_NS, "Header"), q(SOAP11_NS, "Body")


_OPEN = f'<soap11:Envelope xmlns:soap11="{SOAP11_NS}"><soap11:Body>'.encode()
_CLOSE = b"</soap11:Body></soap11:Envelope>"


def wrap(message: etree._Element) -> bytes:
    """Serialise `message` inside a SOAP envelope (the message's signature is unaffected: exc-c14n).

    The envelope is written around the message's one serialisation rather than built as a tree, so the
    signed message is neither copied nor moved; the bytes are what lxml writes for the same tree.
    """
    return _OPEN + xmlsecurity.to_bytes(message) + _CLOSE


def unwrap(data: bytes, *, max_bytes: int = xmlsecurity.MAX_MESSAGE_BYTES) -> etree._Element:
    """The single SAML element in the Body (still inside its envelope document)."""
    envelope = _common.parse(data, max_bytes=max_bytes)
    if envelope.tag != _ENVELOPE:
        raise SamlValidationError("soap-envelope", "not a SOAP 1.1 envelope")
    if (envelope.text or "").strip():
        raise SamlValidationError("soap-envelope", "text in the SOAP envelope")
    parts = [child.tag for child in envelope]
    if parts not in ([_BODY], [_HEADER, _BODY]):
        raise SamlValidationError("soap-envelope", "the envelope must hold an optional Header and one Body")
    if parts[0] == _HEADER:
        for entry in envelope[0]:
            if entry.get(q(SOAP11_NS, "mustUnderstand")) in ("1", "true"):
                raise SamlValidationError("soap-must-understand", "a SOAP header must be understood")
    body = envelope[len(parts) - 1]
    if (body.text or "").strip() or len(body) != 1 or any((child.tail or "").strip() for child in body):
        raise SamlValidationError("soap-body", "the SOAP Body must hold exactly one element")
    return body[0]


def fault(reason: str) -> bytes:
    """A SOAP 1.1 Client fault, for a request we refuse before any SAML can be answered."""
    envelope = etree.Element(_ENVELOPE, nsmap={"soap11": SOAP11_NS})
    body = etree.SubElement(envelope, _BODY)
    fault_el = etree.SubElement(body, q(SOAP11_NS, "Fault"))
    etree.SubElement(fault_el, "faultcode").text = "soap11:Client"
    etree.SubElement(fault_el, "faultstring").text = reason
    return xmlsecurity.to_bytes(envelope)
