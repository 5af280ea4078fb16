"""Checks every SAML parser shares, in the order ARCHITECTURE section 6 gives them.

Each helper turns a failure into a `SamlValidationError` with a specific reason, so the message parsers
read as a list of steps. xmlsecurity's own reason codes (e.g. `signature-invalid`, `too-large`) are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from cryptography import x509
from lxml import etree

from federation import xmlsecurity
from federation.logsafe import log_safe
from federation.saml.constants import (
    DS_NS,
    NAMEID_FORMAT_ENTITY,
    SAML_NS,
    SAML_VERSION,
    q,
)
from federation.saml.errors import SamlValidationError
from federation.saml.ids import parse_instant

CertificateLookup = Callable[[str], Sequence[x509.Certificate]]

DEFAULT_CLOCK_SKEW = timedelta(seconds=30)
# How old a request or response may be when it arrives: a browser hop or a back-channel call.
DEFAULT_MAX_AGE = timedelta(minutes=5)


def from_xmlsecurity(exc: xmlsecurity.XmlSecurityError) -> SamlValidationError:
    """The XML security core's refusal as a SAML one: same reason code, same detail."""
    return SamlValidationError(exc.reason, str(exc), detail=exc.detail)


def parse(data: bytes | etree._Element, *, max_bytes: int) -> etree._Element:
    if isinstance(data, etree._Element):
        return data
    try:
        return xmlsecurity.parse_xml(data, max_bytes=max_bytes)
    except xmlsecurity.XmlSecurityError as exc:
        raise from_xmlsecurity(exc) from None


def name(element_or_tag: etree._Element | str) -> str:
    """`saml:Assertion`: how refusals name an element (see `xmlsecurity.element_name`)."""
    return xmlsecurity.element_name(element_or_tag)


def check_message(element: etree._Element, tag: str) -> None:
    """Schema/version step: the right root element, SAML 2.0, an ID and an IssueInstant."""
    if element.tag != tag:
        detail = f"{name(element)} (expected {name(tag)})"
        raise SamlValidationError("wrong-message-type", f"expected {etree.QName(tag).localname}", detail=detail)
    if element.get("Version") != SAML_VERSION:
        detail = f"{log_safe(element.get('Version'))} (expected {SAML_VERSION})"
        raise SamlValidationError("bad-version", "only SAML 2.0 is accepted", detail=detail)
    if not element.get("ID"):
        raise SamlValidationError("missing-id", "the message has no ID", detail=f"{name(tag)}/@ID")
    if element.get("IssueInstant") is None:
        raise SamlValidationError(
            "missing-issueinstant", "the message has no IssueInstant", detail=f"{name(tag)}/@IssueInstant"
        )


def one(parent: etree._Element, tag: str, *, reason: str) -> etree._Element:
    found = list(parent.iterchildren(tag))
    if len(found) != 1:
        detail = f"{name(tag)} (expected exactly one in {name(parent)}, found {len(found)})"
        raise SamlValidationError(reason, f"expected exactly one {etree.QName(tag).localname}", detail=detail)
    return found[0]


def optional_one(parent: etree._Element, tag: str, *, reason: str) -> etree._Element | None:
    return at_most_one(list(parent.iterchildren(tag)), parent, tag, reason=reason)


def at_most_one(found: list[etree._Element], parent: etree._Element, tag: str, *, reason: str) -> etree._Element | None:
    """`optional_one` over `parent`'s `tag` children already collected (by a caller that reads them all once)."""
    if len(found) > 1:
        detail = f"{name(tag)} (at most one in {name(parent)}, found {len(found)})"
        raise SamlValidationError(reason, f"more than one {etree.QName(tag).localname}", detail=detail)
    return found[0] if found else None


def full_text(element: etree._Element) -> str:
    """Whole text of a simple-content element. Comments are gone at parsing and any other child node is
    refused, so `.text` (lxml joins adjacent text nodes) is all of it: nothing hides behind a comment."""
    if len(element):
        detail = f"{name(element[0])} inside {name(element)}"
        raise SamlValidationError(
            "unexpected-child", f"{etree.QName(element).localname} must hold text only", detail=detail
        )
    return (element.text or "").strip()


def issuer_of(element: etree._Element) -> str:
    issuer = one(element, q(SAML_NS, "Issuer"), reason="missing-issuer")
    fmt = issuer.get("Format")
    if fmt is not None and fmt != NAMEID_FORMAT_ENTITY:
        detail = f"saml:Issuer Format {log_safe(fmt, max_chars=120)} (omit it or use {NAMEID_FORMAT_ENTITY})"
        raise SamlValidationError("bad-issuer", "Issuer Format must be entity", detail=detail)
    value = full_text(issuer)
    if not value:
        raise SamlValidationError("missing-issuer", "the Issuer is empty", detail=f"saml:Issuer of {name(element)}")
    return value


def certificates_for(lookup: CertificateLookup, issuer: str) -> Sequence[x509.Certificate]:
    try:
        certificates = list(lookup(issuer))
    except KeyError:
        certificates = []
    if not certificates:
        detail = f"{log_safe(issuer, max_chars=120)} is not in the federation"
        raise SamlValidationError("unknown-issuer", "the Issuer is not a known entity", detail=detail)
    return certificates


def verify_signature(element: etree._Element, certificates: Sequence[x509.Certificate]) -> etree._Element:
    try:
        return xmlsecurity.verify(element, certificates)
    except xmlsecurity.XmlSecurityError as exc:
        raise from_xmlsecurity(exc) from None


def refuse_signature_below(element: etree._Element) -> None:
    """Used where a signature is carried elsewhere (redirect binding): refuse rather than ignore it."""
    if element.find(f".//{q(DS_NS, 'Signature')}") is not None:
        raise SamlValidationError(
            "signature-in-redirect",
            "XML signatures are refused in the Redirect binding",
            detail="ds:Signature (sign the query string instead)",
        )


def check_destination(element: etree._Element, expected: str | None) -> None:
    if expected is None:
        return
    if element.get("Destination") != expected:
        detail = f"{log_safe(element.get('Destination'), max_chars=120)} (expected {expected})"
        raise SamlValidationError("wrong-destination", "Destination is not this endpoint", detail=detail)


def check_in_response_to(element: etree._Element, expected: str) -> None:
    if element.get("InResponseTo") != expected:
        detail = f"{log_safe(element.get('InResponseTo'))} (expected {log_safe(expected)})"
        raise SamlValidationError(
            "wrong-in-response-to", "InResponseTo is not the request this session sent", detail=detail
        )


def check_issue_instant(
    element: etree._Element, *, now: datetime, clock_skew: timedelta, max_age: timedelta
) -> datetime:
    issued = parse_instant(element.get("IssueInstant"), field="IssueInstant")
    if issued > now + clock_skew:
        where = f"{name(element)} IssueInstant {issued:%Y-%m-%dT%H:%M:%SZ}"
        detail = f"{where} is after {now:%H:%M:%SZ} + {clock_skew.total_seconds():.0f} s (check the clock)"
        raise SamlValidationError("issue-instant-in-future", "IssueInstant is in the future", detail=detail)
    if issued < now - max_age - clock_skew:
        where = f"{name(element)} IssueInstant {issued:%Y-%m-%dT%H:%M:%SZ}"
        detail = f"{where} is older than {max_age.total_seconds():.0f} s (send it at once)"
        raise SamlValidationError("issue-instant-stale", "IssueInstant is too old", detail=detail)
    return issued


def parse_bool(text: str | None, *, default: bool, field: str) -> bool:
    if text is None:
        return default
    value = text.strip()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    detail = f"{field} {log_safe(value)} (not an xs:boolean: true or false)"
    raise SamlValidationError("bad-boolean", f"{field} is not an xs:boolean", detail=detail)
