"""The `standard` SAML profile: one hub-signed assertion that any SAML 2.0 library can read.

A service with `saml_profile: standard` gets, in a hub-signed Response, one assertion signed by the hub
and encrypted for the service: a pairwise persistent NameID, the level of assurance as the
AuthnContextClassRef, and the identity attributes it listed in its config as plain `xs:string` values
with basic names, each with a `<name>_verified` companion. The Verify profile's typed attribute values
(`ida:PersonNameType`, ...) and the IDP's or the matching service's own assertions are what ordinary SAML
libraries cannot read, so none of them appear here. The contract for departments is
docs/saml-profiles.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from lxml import etree

from federation.credentials import SigningCredential
from federation.loa import LevelOfAssurance
from federation.saml import constants as c
from federation.saml.assertion import Address, MatchingDataset, MdsValue, build_assertion
from federation.saml.constants import SAML_NS, XS_NS, XSI_NS, MatchingOutcome, SamlProfile, q
from federation.saml.hashed_pid import hashed_pid
from federation.saml.response import SUCCESS, build_response, encrypt_assertion

if TYPE_CHECKING:  # federation.config imports federation.saml: a type-only import keeps the graph acyclic
    from federation.config import RelyingParty

__all__ = [
    "STANDARD_ASSERTION_VALIDITY",
    "ReleasedAttribute",
    "build_standard_assertion",
    "build_standard_response",
    "pairwise_id",
    "released_attributes",
    "standard_attribute_statement",
    "subject_id",
]

# The assertion is read once, at the service's ACS, straight after the POST: nothing reuses it later.
STANDARD_ASSERTION_VALIDITY = timedelta(minutes=5)
_TRUE, _FALSE = "true", "false"


# --- the subject ----------------------------------------------------------------------------------------


def pairwise_id(idp_entity_id: str, other_entity_id: str, pid: str) -> str:
    """hex(SHA-256(idpEntityId + otherEntityId + pid)): one identifier per citizen, IDP and receiver.

    The matching service's hashed PID is this formula with the matching service as the receiver.
    """
    return hashed_pid(idp_entity_id, other_entity_id, pid)


def subject_id(*, idp_entity_id: str, rp_entity_id: str, matching_service_entity_id: str | None, pid: str) -> str:
    """The NameID a standard service sees for the citizen.

    With a matching service it is the matching service's hashed PID, the key the department's records
    already use; without one, an identifier for this service alone, so two services cannot link people.
    """
    return pairwise_id(idp_entity_id, matching_service_entity_id or rp_entity_id, pid)


# --- the attributes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReleasedAttribute:
    """One catalogue attribute as the service receives it: its string values and the IDP's verification."""

    name: str
    values: tuple[str, ...]
    verified: bool

    def __post_init__(self) -> None:
        if self.name not in c.STANDARD_ATTRIBUTES:
            raise ValueError(f"{self.name!r} is not a standard profile attribute")
        if not self.values or not all(isinstance(v, str) and v.strip() for v in self.values):
            raise ValueError(f"{self.name} needs at least one non-empty text value")


# What one catalogue attribute takes from a matching dataset: (values, verified), or None when it has none.
_Found = tuple[tuple[str, ...], bool] | None


def _current(values: Sequence[MdsValue | None]) -> list[MdsValue]:
    """The values that hold now: an IDP closes a value it no longer holds with a `To` date."""
    return [v for v in values if v is not None and v.to_date is None and _text(v.value)]


def _text(value: str | date) -> str:
    return value.isoformat() if isinstance(value, date) else value.strip()


def _first(values: Sequence[MdsValue | None]) -> _Found:
    current = _current(values)
    return ((_text(current[0].value),), current[0].verified) if current else None


def _middle_names(mds: MatchingDataset) -> _Found:
    current = _current(mds.middle_names)
    if not current:
        return None
    return (" ".join(_text(v.value) for v in current),), all(v.verified for v in current)


def _address(part: Callable[[Address], tuple[str | None, ...]]) -> Callable[[MatchingDataset], _Found]:
    def extract(mds: MatchingDataset) -> _Found:
        address = mds.current_address
        if address is None or address.to_date is not None:
            return None
        values = tuple(v.strip() for v in part(address) if v is not None and v.strip())
        return (values, address.verified) if values else None

    return extract


# One extractor per catalogue name, in the catalogue's order (a test checks both).
_EXTRACTORS: dict[str, Callable[[MatchingDataset], _Found]] = {
    "first_name": lambda mds: _first(mds.first_names),
    "middle_names": _middle_names,
    "surname": lambda mds: _first(mds.surnames),
    "date_of_birth": lambda mds: _first([mds.date_of_birth]),
    "gender": lambda mds: _first([mds.gender]),
    "address_lines": _address(lambda address: address.lines),
    "postcode": _address(lambda address: (address.postcode,)),
    "uprn": _address(lambda address: (address.uprn,)),
}


def released_attributes(mds: MatchingDataset, wanted: Sequence[str]) -> tuple[ReleasedAttribute, ...]:
    """The current value of each `wanted` attribute (in that order) with its Verified flag.

    What the IDP did not send is not released; an unverified value is released, flagged unverified: the
    service decides what an unverified value is good for. Dates travel as ISO `YYYY-MM-DD`.
    """
    released = []
    for name in wanted:
        extractor = _EXTRACTORS.get(name)
        if extractor is None:
            raise ValueError(f"{name!r} is not a standard profile attribute")
        found = extractor(mds)
        if found is not None:
            released.append(ReleasedAttribute(name, *found))
    return tuple(released)


def _string_attribute(statement: etree._Element, name: str, values: Sequence[str]) -> None:
    attribute = etree.SubElement(statement, q(SAML_NS, "Attribute"), Name=name, NameFormat=c.ATTRNAME_FORMAT_BASIC)
    for value in values:
        element = etree.SubElement(attribute, q(SAML_NS, "AttributeValue"))
        element.set(q(XSI_NS, "type"), c.XS_STRING)
        element.text = value


def standard_attribute_statement(
    attributes: Sequence[ReleasedAttribute], extra_attributes: Sequence[tuple[str, str]] = ()
) -> etree._Element:
    """The AttributeStatement: each attribute with its `<name>_verified` companion, then the extras.

    Extras are single-valued and have no companion (e.g. `matching_outcome`, which the hub itself vouches for).
    """
    names = [a.name for a in attributes]
    names += [a.name + c.VERIFIED_SUFFIX for a in attributes]
    names += [name for name, _ in extra_attributes]
    if len(set(names)) != len(names):
        raise ValueError("an attribute name appears twice in the statement")
    if not names:
        raise ValueError("an AttributeStatement needs at least one attribute")
    statement = etree.Element(q(SAML_NS, "AttributeStatement"), nsmap={"saml": SAML_NS, "xs": XS_NS, "xsi": XSI_NS})
    for attribute in attributes:
        _string_attribute(statement, attribute.name, attribute.values)
        _string_attribute(statement, attribute.name + c.VERIFIED_SUFFIX, (_TRUE if attribute.verified else _FALSE,))
    for name, value in extra_attributes:
        if not name or not value:
            raise ValueError("an extra attribute needs a name and a value")
        _string_attribute(statement, name, (value,))
    return statement


# --- the assertion and the Response -----------------------------------------------------------------------


def build_standard_assertion(
    *,
    issuer: str,
    name_id: str,
    rp_entity_id: str,
    acs_url: str,
    in_response_to: str,
    level: LevelOfAssurance,
    authn_instant: datetime,
    attributes: Sequence[ReleasedAttribute],
    credential: SigningCredential,
    now: datetime,
    valid_for: timedelta = STANDARD_ASSERTION_VALIDITY,
    extra_attributes: Sequence[tuple[str, str]] = (),
    audience: str | None = None,
) -> etree._Element:
    """The one assertion of the standard profile, signed with the hub's `credential`.

    Persistent NameID qualified by the hub (NameQualifier) and the service (SPNameQualifier); bearer
    confirmation for `acs_url` answering `in_response_to`; Audience = the service (another `audience` only
    for the compliance tool's wrong-audience scenario); the level's URI as AuthnContextClassRef. Without
    attributes there is no AttributeStatement (the schema forbids an empty one).
    """
    statement = standard_attribute_statement(attributes, extra_attributes) if attributes or extra_attributes else None
    return build_assertion(
        issuer=issuer,
        name_id=name_id,
        audience=audience or rp_entity_id,
        recipient=acs_url,
        in_response_to=in_response_to,
        credential=credential,
        now=now,
        level_of_assurance=level,
        authn_instant=authn_instant,
        sp_name_qualifier=rp_entity_id,
        name_qualifier=issuer,
        valid_for=valid_for,
        attribute_statement_element=statement,
    )


def build_standard_response(
    *,
    rp: RelyingParty,
    hub_entity_id: str,
    credential: SigningCredential,
    idp_entity_id: str,
    pid: str,
    level: LevelOfAssurance,
    authn_instant: datetime,
    matching_dataset: MatchingDataset,
    in_response_to: str,
    acs_url: str,
    now: datetime,
    matching_outcome: MatchingOutcome | None = None,
    valid_for: timedelta = STANDARD_ASSERTION_VALIDITY,
) -> etree._Element:
    """The hub-signed success Response for a standard service: all the hub's front end has to call.

    The assertion carries the NameID from `subject_id`, the attributes the service listed, and, for a
    service with a matching service, `matching_outcome`; it is encrypted for the service's certificate
    with the service's key transport. The Response goes to `acs_url` (Destination) and answers the
    service's AuthnRequest `in_response_to`.
    """
    if rp.saml_profile is not SamlProfile.STANDARD:
        raise ValueError(f"{rp.name} does not use the standard profile")
    if rp.encryption_certificate is None:  # the config refuses this; a hand-built RelyingParty might not
        raise ValueError(f"{rp.name} has no encryption certificate")
    if (matching_outcome is not None) != rp.uses_matching:
        raise ValueError("a matching outcome is given exactly when the service has a matching service")
    extra = ((c.MATCHING_OUTCOME, MatchingOutcome(matching_outcome).value),) if matching_outcome else ()
    assertion = build_standard_assertion(
        issuer=hub_entity_id,
        name_id=subject_id(
            idp_entity_id=idp_entity_id,
            rp_entity_id=rp.entity_id,
            matching_service_entity_id=rp.matching_service_entity_id,
            pid=pid,
        ),
        rp_entity_id=rp.entity_id,
        acs_url=acs_url,
        in_response_to=in_response_to,
        level=level,
        authn_instant=authn_instant,
        attributes=released_attributes(matching_dataset, rp.attributes),
        credential=credential,
        now=now,
        valid_for=valid_for,
        extra_attributes=extra,
    )
    encrypted = encrypt_assertion(assertion, rp.encryption_certificate.certificate, key_transport=rp.key_transport)
    return build_response(
        issuer=hub_entity_id,
        in_response_to=in_response_to,
        status=SUCCESS,
        credential=credential,
        now=now,
        destination=acs_url,
        assertions=[encrypted],
    )
