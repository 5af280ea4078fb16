"""Small lxml helpers the message builders share: elements made straight into the tree that gets signed.

Why not pysaml2's object model: building a message there, serialising it and parsing it back for signing
cost a serialisation and a parse per message (about a third of a builder's time), and the profile's own
shapes (Verify's typed attribute values, assertions inside SubjectConfirmationData) had to be bolted on
with lxml anyway. The XML is the same as pysaml2 wrote it: same prefixes (`saml`, `samlp`), namespace
declarations on the root, attributes in the order of the SAML schema, empty optional parts left out.
tests/unit/saml/test_builders_golden.py compares every builder with the pysaml2 form.
"""

from __future__ import annotations

from lxml import etree

from federation.saml.constants import (
    NAMEID_FORMAT_PERSISTENT,
    SAML_NS,
    SAMLP_NS,
    SUBJECT_CONFIRMATION_BEARER,
)

PROTOCOL_NSMAP = {"saml": SAML_NS, "samlp": SAMLP_NS}
ASSERTION_NSMAP = {"saml": SAML_NS}

Attrs = tuple[tuple[str, str | None], ...]


def _set(element: etree._Element, attrs: Attrs) -> etree._Element:
    for name, value in attrs:  # in order: the serialised form keeps it
        if value is not None:
            element.set(name, value)
    return element


def root(tag: str, attrs: Attrs, *, nsmap: dict[str, str]) -> etree._Element:
    """A message's root element with its namespace declarations; attributes given as None are left out."""
    return _set(etree.Element(tag, nsmap=nsmap), attrs)


def child(parent: etree._Element, tag: str, attrs: Attrs = (), *, text: str | None = None) -> etree._Element:
    element = _set(etree.SubElement(parent, tag), attrs)
    if text is not None:
        element.text = text
    return element


def saml(local: str) -> str:
    return f"{{{SAML_NS}}}{local}"


def samlp(local: str) -> str:
    return f"{{{SAMLP_NS}}}{local}"


def issuer(parent: etree._Element, entity_id: str) -> etree._Element:
    return child(parent, saml("Issuer"), text=entity_id)


def bearer_subject(
    parent: etree._Element,
    *,
    name_id: str,
    sp_name_qualifier: str | None,
    name_qualifier: str | None,
    recipient: str,
    in_response_to: str | None,
    not_on_or_after: str,
) -> etree._Element:
    """The profile's one Subject shape: a persistent NameID and one bearer SubjectConfirmation.

    Returns the SubjectConfirmationData (the AttributeQuery carries assertions inside it).
    """
    subject = child(parent, saml("Subject"))
    child(
        subject,
        saml("NameID"),
        (
            ("NameQualifier", name_qualifier),
            ("SPNameQualifier", sp_name_qualifier),
            ("Format", NAMEID_FORMAT_PERSISTENT),
        ),
        text=name_id,
    )
    confirmation = child(subject, saml("SubjectConfirmation"), (("Method", SUBJECT_CONFIRMATION_BEARER),))
    return child(
        confirmation,
        saml("SubjectConfirmationData"),
        (("NotOnOrAfter", not_on_or_after), ("Recipient", recipient), ("InResponseTo", in_response_to)),
    )
