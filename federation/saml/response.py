"""Response: IDP -> hub, hub -> RP, and the matching service's SOAP reply.

The Response is built straight as an lxml tree and signed in place; assertion elements (already signed,
usually wrapped in EncryptedAssertion) are appended so they travel byte-for-byte as their issuer made
them. Parsing verifies the Response signature first, then decrypts and validates each assertion, and
returns the decrypted plaintext next to the parsed data: the hub forwards IDP assertions unchanged.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from lxml import etree

from federation import xmlsecurity
from federation.credentials import DecryptionCredential, SigningCredential
from federation.logsafe import log_safe
from federation.saml import _build, _common
from federation.saml import constants as c
from federation.saml.assertion import AssertionData, parse_assertion
from federation.saml.constants import IDA_NS, SAML_NS, SAMLP_NS, XENC_NS, q
from federation.saml.errors import SamlValidationError
from federation.saml.ids import instant, new_id

log = logging.getLogger(__name__)
_TAG = q(SAMLP_NS, "Response")
_STATUS_VALUE = q(IDA_NS, "StatusValue")


@dataclass(frozen=True)
class Status:
    code: str
    sub_code: str | None = None
    detail: str | None = None  # e.g. "authn-cancel", "loa-pending", "uplift-failed"
    message: str | None = None

    @property
    def is_success(self) -> bool:
        return self.code == c.STATUS_SUCCESS


SUCCESS = Status(c.STATUS_SUCCESS)


# --- encryption of assertions ---------------------------------------------------------------------------


def encrypt_assertion(
    assertion: etree._Element,
    recipient: x509.Certificate,
    *,
    key_transport: xmlsecurity.KeyTransport = xmlsecurity.KeyTransport.RSA_OAEP,
) -> etree._Element:
    """Wrap a signed assertion element in saml:EncryptedAssertion for `recipient`."""
    return reencrypt_assertion(xmlsecurity.to_bytes(assertion), recipient, key_transport=key_transport)


def reencrypt_assertion(
    plaintext: bytes,
    recipient: x509.Certificate,
    *,
    key_transport: xmlsecurity.KeyTransport = xmlsecurity.KeyTransport.RSA_OAEP,
) -> etree._Element:
    """Encrypt assertion bytes exactly as received (the hub's relay: the IDP's signature stays valid).

    `key_transport`: what the recipient can unwrap (its config's `key_transport`).
    """
    wrapper = etree.Element(q(SAML_NS, "EncryptedAssertion"), nsmap={"saml": SAML_NS})
    wrapper.append(xmlsecurity.encrypt(plaintext, recipient, key_transport=key_transport))
    return wrapper


@dataclass(frozen=True)
class DecryptedAssertion:
    plaintext: bytes  # the assertion as its issuer signed it: forward these bytes, never re-serialise
    element: etree._Element


def decrypt_assertion(
    encrypted: etree._Element,
    credentials: Sequence[DecryptionCredential],
    *,
    max_bytes: int = xmlsecurity.MAX_MESSAGE_BYTES,
) -> DecryptedAssertion:
    if encrypted.tag != q(SAML_NS, "EncryptedAssertion"):
        detail = f"{_common.name(encrypted)} (expected saml:EncryptedAssertion)"
        raise SamlValidationError("bad-encrypted-assertion", "expected EncryptedAssertion", detail=detail)
    data = _common.one(encrypted, q(XENC_NS, "EncryptedData"), reason="bad-encrypted-assertion")
    unexpected = [c for c in encrypted if c.tag not in (q(XENC_NS, "EncryptedData"), q(XENC_NS, "EncryptedKey"))]
    if unexpected:
        detail = f"{_common.name(unexpected[0])} in saml:EncryptedAssertion"
        raise SamlValidationError("bad-encrypted-assertion", "unexpected element in EncryptedAssertion", detail=detail)
    try:
        plaintext = xmlsecurity.decrypt(data, credentials)
    except xmlsecurity.XmlSecurityError as exc:
        # The sender only ever learns "decryption-failed"; the operator's log says what was refused.
        log.warning("encrypted assertion refused: %s", exc.detail or exc.reason)  # detail: already log-safe
        raise _common.from_xmlsecurity(exc) from None
    element = _common.parse(plaintext, max_bytes=max_bytes)
    if element.tag != q(SAML_NS, "Assertion"):
        detail = f"{_common.name(element)} inside saml:EncryptedAssertion (expected saml:Assertion)"
        raise SamlValidationError("not-an-assertion", "the encrypted content is not an Assertion", detail=detail)
    return DecryptedAssertion(plaintext=plaintext, element=element)


# --- building -------------------------------------------------------------------------------------------


def _status(parent: etree._Element, status: Status) -> None:
    element = _build.child(parent, q(SAMLP_NS, "Status"))
    code = _build.child(element, q(SAMLP_NS, "StatusCode"), (("Value", status.code),))
    if status.sub_code:
        _build.child(code, q(SAMLP_NS, "StatusCode"), (("Value", status.sub_code),))
    if status.message:
        _build.child(element, q(SAMLP_NS, "StatusMessage"), text=status.message)
    if status.detail:
        detail = _build.child(element, q(SAMLP_NS, "StatusDetail"))
        etree.SubElement(detail, _STATUS_VALUE, nsmap={"ida": IDA_NS}).text = status.detail


def build_response(
    *,
    issuer: str,
    in_response_to: str,
    status: Status,
    credential: SigningCredential,
    now: datetime,
    destination: str | None = None,
    assertions: Sequence[etree._Element] = (),
    response_id: str | None = None,
) -> etree._Element:
    """A signed Response. `assertions` are EncryptedAssertion or signed Assertion elements, kept as given.

    `destination` is None only for the back channel (SOAP), where the Response is not POSTed anywhere.
    """
    if assertions and not status.is_success:
        raise ValueError("only a Success response carries assertions")
    for assertion in assertions:
        if assertion.tag not in (q(SAML_NS, "EncryptedAssertion"), q(SAML_NS, "Assertion")):
            raise ValueError("assertions must be EncryptedAssertion or Assertion elements")
    element = _build.root(
        _TAG,
        (
            ("ID", response_id or new_id()),
            ("InResponseTo", in_response_to),
            ("Version", c.SAML_VERSION),
            ("IssueInstant", instant(now)),
            ("Destination", destination),
        ),
        nsmap=_build.PROTOCOL_NSMAP,
    )
    _build.issuer(element, issuer)
    _status(element, status)
    for assertion in assertions:
        element.append(assertion)
    return xmlsecurity.sign(element, credential)


# --- reading --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedAssertion:
    plaintext: bytes
    data: AssertionData


@dataclass(frozen=True)
class ResponseData:
    id: str
    issuer: str
    issue_instant: datetime
    in_response_to: str
    destination: str | None
    status: Status
    assertions: tuple[ReceivedAssertion, ...]  # decrypted and validated (empty without decryption keys)
    encrypted_elements: tuple[etree._Element, ...] = field(default=(), repr=False, compare=False)

    @functools.cached_property
    def encrypted_assertions(self) -> tuple[bytes, ...]:
        """Each EncryptedAssertion as received, for relaying: serialised only when a relay asks for it."""
        return tuple(xmlsecurity.to_bytes(e) for e in self.encrypted_elements)


def _read_status(signed: etree._Element) -> Status:
    status = _common.one(signed, q(SAMLP_NS, "Status"), reason="bad-status")
    top = _common.one(status, q(SAMLP_NS, "StatusCode"), reason="bad-status")
    code = top.get("Value")
    if code not in c.TOP_LEVEL_STATUSES:
        detail = f"samlp:StatusCode {log_safe(code, max_chars=120)} (not a top-level SAML status)"
        raise SamlValidationError("bad-status", "the top-level StatusCode is not a SAML status", detail=detail)
    sub = _common.optional_one(top, q(SAMLP_NS, "StatusCode"), reason="bad-status")
    sub_code = sub.get("Value") if sub is not None else None
    if sub is not None and not sub_code:
        detail = "the second-level samlp:StatusCode has no Value"
        raise SamlValidationError("bad-status", "a second-level StatusCode has no Value", detail=detail)
    message_el = _common.optional_one(status, q(SAMLP_NS, "StatusMessage"), reason="bad-status")
    detail_el = _common.optional_one(status, q(SAMLP_NS, "StatusDetail"), reason="bad-status")
    detail = None
    if detail_el is not None and len(detail_el):
        detail = "".join(detail_el[0].itertext()).strip() or None
    return Status(
        code=code,
        sub_code=sub_code,
        detail=detail,
        message=_common.full_text(message_el) if message_el is not None else None,
    )


def parse_response(
    message: bytes | etree._Element,
    *,
    certificates_for_issuer: _common.CertificateLookup,
    expected_destination: str | None,
    expected_in_response_to: str,
    now: datetime,
    expected_audience: str,
    decryption_credentials: Sequence[DecryptionCredential] = (),
    expected_recipient: str | None = None,
    expected_assertion_in_response_to: str | None = None,
    clock_skew: timedelta = _common.DEFAULT_CLOCK_SKEW,
    max_age: timedelta = _common.DEFAULT_MAX_AGE,
    allow_unencrypted_assertions: bool = False,
    max_bytes: int = xmlsecurity.MAX_MESSAGE_BYTES,
) -> ResponseData:
    """Validate a Response; decrypt and validate its assertions when `decryption_credentials` are given.

    Assertions are checked against `expected_audience`, `expected_recipient` (default: the Response's
    expected Destination) and `expected_assertion_in_response_to` (default: `expected_in_response_to`).
    Without decryption credentials (the hub relaying the matching service's assertion to the RP) the
    EncryptedAssertions are only returned as bytes. `expected_destination=None`: back channel only.
    """
    element = _common.parse(message, max_bytes=max_bytes)
    _common.check_message(element, _TAG)
    issuer = _common.issuer_of(element)
    certificates = _common.certificates_for(certificates_for_issuer, issuer)
    signed = _common.verify_signature(element, certificates)
    _common.check_destination(signed, expected_destination)
    _common.check_in_response_to(signed, expected_in_response_to)
    issued = _common.check_issue_instant(signed, now=now, clock_skew=clock_skew, max_age=max_age)
    status = _read_status(signed)
    encrypted = signed.findall(q(SAML_NS, "EncryptedAssertion"))
    plain = signed.findall(q(SAML_NS, "Assertion"))
    if (encrypted or plain) and not status.is_success:
        detail = f"{len(encrypted) + len(plain)} assertion(s) with status {status.code} (only Success carries any)"
        raise SamlValidationError("unexpected-assertions", "a non-success response carries assertions", detail=detail)
    if plain and not allow_unencrypted_assertions:
        detail = "saml:Assertion (send it as saml:EncryptedAssertion, encrypted for the recipient)"
        raise SamlValidationError("unencrypted-assertion", "assertions must be encrypted", detail=detail)
    recipient = expected_recipient if expected_recipient is not None else expected_destination
    if (encrypted and decryption_credentials) or plain:
        if recipient is None:
            raise ValueError("expected_recipient is required to validate assertions on the back channel")
    decrypted = (
        [decrypt_assertion(e, decryption_credentials, max_bytes=max_bytes) for e in encrypted]
        if decryption_credentials
        else []
    )
    decrypted += [DecryptedAssertion(xmlsecurity.to_bytes(p), p) for p in plain]
    received = tuple(
        ReceivedAssertion(
            plaintext=d.plaintext,
            data=parse_assertion(
                d.element,
                certificates_for_issuer=certificates_for_issuer,
                expected_audience=expected_audience,
                expected_recipient=recipient,  # type: ignore[arg-type]
                expected_in_response_to=expected_assertion_in_response_to or expected_in_response_to,
                now=now,
                clock_skew=clock_skew,
            ),
        )
        for d in decrypted
    )
    return ResponseData(
        id=signed.get("ID"),
        issuer=issuer,
        issue_instant=issued,
        in_response_to=signed.get("InResponseTo"),
        destination=signed.get("Destination"),
        status=status,
        assertions=received,
        encrypted_elements=tuple(encrypted),
    )
