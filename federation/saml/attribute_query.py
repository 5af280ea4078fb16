"""AttributeQuery: hub -> matching service over SOAP (matching and account creation).

Shape: Issuer = hub; Subject/NameID = the IDP's PID with SPNameQualifier = the RP's entity ID; one bearer
SubjectConfirmation whose SubjectConfirmationData carries the RP's ACS URL (Recipient), the RP's
AuthnRequest ID (InResponseTo) and the IDP assertions re-encrypted for the matching service, plus an
optional hub-signed cycle 3 assertion, all as EncryptedAssertion; requested attributes (account creation)
follow as saml:Attribute children. Built straight as an lxml tree (the carried EncryptedAssertions go into
it as they are) and signed in place.

The health check (the hub's probe of a matching service) is an AttributeQuery about nobody: the same
signed message to the same endpoint, whose Subject is only a NameID `healthcheck` (SPNameQualifier = the
matching service's entity ID) with no SubjectConfirmation and so no assertions. A matching service answers
it with a signed Response whose status is Success with the second-level code `healthy`, without asking
its local matcher (as Verify's matching service adapter answered a query carrying no assertions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from lxml import etree

from federation import xmlsecurity
from federation.credentials import DecryptionCredential, SigningCredential
from federation.saml import _build, _common, soap
from federation.saml import constants as c
from federation.saml.constants import SAML_NS, SAMLP_NS, q
from federation.saml.errors import SamlValidationError
from federation.saml.ids import instant, new_id, parse_instant
from federation.saml.response import DecryptedAssertion, decrypt_assertion

_TAG = q(SAMLP_NS, "AttributeQuery")


def build_attribute_query(
    *,
    issuer: str,
    destination: str,
    name_id: str,
    sp_name_qualifier: str,
    rp_acs_url: str,
    rp_request_id: str,
    not_on_or_after: datetime,
    encrypted_assertions: Sequence[etree._Element],
    credential: SigningCredential,
    now: datetime,
    cycle3_assertion: etree._Element | None = None,
    requested_attributes: Sequence[str] = (),
    name_qualifier: str | None = None,
    query_id: str | None = None,
) -> etree._Element:
    """A signed AttributeQuery. Every assertion given must already be an EncryptedAssertion for the MS."""
    carried = [*encrypted_assertions, *([cycle3_assertion] if cycle3_assertion is not None else [])]
    if not encrypted_assertions or any(a.tag != q(SAML_NS, "EncryptedAssertion") for a in carried):
        raise ValueError("the query carries at least one assertion, each an EncryptedAssertion")
    element = _build.root(
        _TAG,
        (
            ("ID", query_id or new_id()),
            ("Version", c.SAML_VERSION),
            ("IssueInstant", instant(now)),
            ("Destination", destination),
        ),
        nsmap=_build.PROTOCOL_NSMAP,
    )
    _build.issuer(element, issuer)
    data = _build.bearer_subject(
        element,
        name_id=name_id,
        sp_name_qualifier=sp_name_qualifier,
        name_qualifier=name_qualifier,
        recipient=rp_acs_url,
        in_response_to=rp_request_id,
        not_on_or_after=instant(not_on_or_after),
    )
    for assertion in carried:
        data.append(assertion)
    for name in requested_attributes:
        _build.child(element, q(SAML_NS, "Attribute"), (("Name", name), ("NameFormat", c.ATTRNAME_FORMAT_UNSPECIFIED)))
    return xmlsecurity.sign(element, credential)


HEALTH_CHECK_NAME_ID = "healthcheck"


def build_health_check_query(
    *, issuer: str, destination: str, matching_service_entity_id: str, credential: SigningCredential, now: datetime
) -> etree._Element:
    """A signed AttributeQuery about nobody: is the matching service there, and does it answer as itself?"""
    element = _build.root(
        _TAG,
        (("ID", new_id()), ("Version", c.SAML_VERSION), ("IssueInstant", instant(now)), ("Destination", destination)),
        nsmap=_build.PROTOCOL_NSMAP,
    )
    _build.issuer(element, issuer)
    subject = _build.child(element, q(SAML_NS, "Subject"))
    _build.child(
        subject,
        q(SAML_NS, "NameID"),
        (("SPNameQualifier", matching_service_entity_id), ("Format", c.NAMEID_FORMAT_PERSISTENT)),
        text=HEALTH_CHECK_NAME_ID,
    )
    return xmlsecurity.sign(element, credential)


def is_health_check(element: etree._Element) -> bool:
    """Whether an (unverified) AttributeQuery has the health check's shape: a Subject with no confirmation.

    Only a hint for which parser to use: `parse_health_check_query` verifies the message itself.
    """
    subject = element.find(q(SAML_NS, "Subject"))
    return subject is not None and subject.find(q(SAML_NS, "SubjectConfirmation")) is None


@dataclass(frozen=True)
class HealthCheckQuery:
    id: str
    issuer: str


def parse_health_check_query(
    element: etree._Element,
    *,
    certificates_for_issuer: _common.CertificateLookup,
    expected_destination: str,
    now: datetime,
    clock_skew: timedelta = _common.DEFAULT_CLOCK_SKEW,
    max_age: timedelta = _common.DEFAULT_MAX_AGE,
) -> HealthCheckQuery:
    """Validate a health check query (already out of its SOAP envelope): signed, addressed to us, fresh."""
    _common.check_message(element, _TAG)
    issuer = _common.issuer_of(element)
    signed = _common.verify_signature(element, _common.certificates_for(certificates_for_issuer, issuer))
    if signed.get("Destination") is None:
        raise SamlValidationError("wrong-destination", "the query has no Destination")
    _common.check_destination(signed, expected_destination)
    _common.check_issue_instant(signed, now=now, clock_skew=clock_skew, max_age=max_age)
    subject = _common.one(signed, q(SAML_NS, "Subject"), reason="bad-subject")
    name_id = _common.one(subject, q(SAML_NS, "NameID"), reason="bad-subject")
    if len(subject) != 1 or _common.full_text(name_id) != HEALTH_CHECK_NAME_ID:
        raise SamlValidationError("bad-subject", "a health check names nobody and carries nothing")
    if signed.find(q(SAML_NS, "Attribute")) is not None:
        raise SamlValidationError("bad-attribute", "a health check requests no attributes")
    return HealthCheckQuery(id=signed.get("ID"), issuer=issuer)


@dataclass(frozen=True)
class AttributeQueryData:
    id: str
    issuer: str
    issue_instant: datetime
    name_id: str  # the IDP's PID
    name_qualifier: str | None
    sp_name_qualifier: str  # the RP's entity ID: the audience of the MS's assertion
    rp_acs_url: str
    rp_request_id: str
    not_on_or_after: datetime
    requested_attributes: tuple[str, ...]
    assertions: tuple[DecryptedAssertion, ...]  # decrypted, NOT yet validated: use parse_assertion on each


def parse_attribute_query(
    message: bytes | etree._Element,
    *,
    certificates_for_issuer: _common.CertificateLookup,
    expected_destination: str,
    decryption_credentials: Sequence[DecryptionCredential],
    now: datetime,
    clock_skew: timedelta = _common.DEFAULT_CLOCK_SKEW,
    max_age: timedelta = _common.DEFAULT_MAX_AGE,
    max_bytes: int = xmlsecurity.MAX_MESSAGE_BYTES,
) -> AttributeQueryData:
    """Validate the hub's query (bytes = a SOAP envelope) and decrypt the assertions it carries.

    The carried assertions are returned decrypted but unvalidated: each has its own issuer (IDP or hub)
    and expectations, so the matching service validates them with `parse_assertion`.
    """
    element = soap.unwrap(message, max_bytes=max_bytes) if isinstance(message, bytes) else message
    _common.check_message(element, _TAG)
    issuer = _common.issuer_of(element)
    certificates = _common.certificates_for(certificates_for_issuer, issuer)
    signed = _common.verify_signature(element, certificates)
    if signed.get("Destination") is None:
        raise SamlValidationError("wrong-destination", "the query has no Destination")
    _common.check_destination(signed, expected_destination)
    issued = _common.check_issue_instant(signed, now=now, clock_skew=clock_skew, max_age=max_age)
    subject = _common.one(signed, q(SAML_NS, "Subject"), reason="bad-subject")
    name_id_el = _common.one(subject, q(SAML_NS, "NameID"), reason="bad-subject")
    if name_id_el.get("Format", c.NAMEID_FORMAT_PERSISTENT) != c.NAMEID_FORMAT_PERSISTENT:
        raise SamlValidationError("bad-nameid-format", "NameID must be persistent")
    name_id = _common.full_text(name_id_el)
    sp_name_qualifier = name_id_el.get("SPNameQualifier")
    if not name_id or not sp_name_qualifier:
        raise SamlValidationError("bad-subject", "NameID and its SPNameQualifier are required")
    confirmation = _common.one(subject, q(SAML_NS, "SubjectConfirmation"), reason="bad-subject-confirmation")
    if confirmation.get("Method") != c.SUBJECT_CONFIRMATION_BEARER:
        raise SamlValidationError("not-bearer", "only bearer subject confirmation is accepted")
    data = _common.one(confirmation, q(SAML_NS, "SubjectConfirmationData"), reason="bad-subject-confirmation")
    rp_acs_url, rp_request_id = data.get("Recipient"), data.get("InResponseTo")
    if not rp_acs_url or not rp_request_id:
        raise SamlValidationError("bad-subject-confirmation", "Recipient and InResponseTo are required")
    not_on_or_after = parse_instant(data.get("NotOnOrAfter"), field="NotOnOrAfter")
    if now - clock_skew >= not_on_or_after:
        raise SamlValidationError("subject-confirmation-expired", "the query's confirmation has expired")
    if data.find(q(SAML_NS, "Assertion")) is not None:
        raise SamlValidationError("unencrypted-assertion", "assertions must be encrypted")
    carried = data.findall(q(SAML_NS, "EncryptedAssertion"))
    if len(carried) != len(data):
        raise SamlValidationError("bad-subject-confirmation", "unexpected element in SubjectConfirmationData")
    if not carried:
        raise SamlValidationError("missing-assertions", "the query carries no assertions")
    decrypted = tuple(decrypt_assertion(e, decryption_credentials, max_bytes=max_bytes) for e in carried)
    requested = []
    for attribute in signed.findall(q(SAML_NS, "Attribute")):
        name = attribute.get("Name")
        if not name:
            raise SamlValidationError("bad-attribute", "a requested Attribute has no Name")
        requested.append(name)
    return AttributeQueryData(
        id=signed.get("ID"),
        issuer=issuer,
        issue_instant=issued,
        name_id=name_id,
        name_qualifier=name_id_el.get("NameQualifier"),
        sp_name_qualifier=sp_name_qualifier,
        rp_acs_url=rp_acs_url,
        rp_request_id=rp_request_id,
        not_on_or_after=not_on_or_after,
        requested_attributes=tuple(requested),
        assertions=decrypted,
    )
