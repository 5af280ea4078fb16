"""Forged copies of the hub's signed federation metadata, as someone between the hub and a department could
serve them: changed after signing, signed by another federation key, with the signature removed, and the
genuine signed document wrapped inside a forged one (XML signature wrapping). Each forgery puts an
attacker's SSO URL (and, where it can, signing certificate) in the hub's entry."""

from __future__ import annotations

import base64
import copy
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

from federation import xmlsecurity
from federation.credentials import SigningCredential
from tests.hostile.forge import strip_signature

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = xmlsecurity.DS
ATTACKER_SSO_URL = "https://attacker.invalid/SAML2/SSO"


def _hub_entity(root: etree._Element, hub_entity_id: str) -> etree._Element:
    return next(e for e in root.iter(f"{{{MD}}}EntityDescriptor") if e.get("entityID") == hub_entity_id)


def _redirect_sso(entity: etree._Element) -> None:
    for sso in entity.iter(f"{{{MD}}}SingleSignOnService"):
        sso.set("Location", ATTACKER_SSO_URL)


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def changed(genuine: bytes, hub_entity_id: str) -> bytes:
    """The hub's SSO URL changed after the metadata key signed the document (the signature kept)."""
    root = etree.fromstring(genuine)
    _redirect_sso(_hub_entity(root, hub_entity_id))
    return _bytes(root)


def resigned(
    document: bytes, credential: SigningCredential, chain: Sequence[x509.Certificate] = (), *, hub_entity_id: str
) -> bytes:
    """The document signed again with `credential` (as the hub signs metadata), the SSO URL unchanged."""
    root = strip_signature(etree.fromstring(document))
    assert _hub_entity(root, hub_entity_id) is not None
    return _bytes(xmlsecurity.sign(root, credential, chain=chain))


def unsigned(genuine: bytes, hub_entity_id: str) -> bytes:
    """The signature removed, and the hub's SSO URL changed."""
    root = strip_signature(etree.fromstring(genuine))
    _redirect_sso(_hub_entity(root, hub_entity_id))
    return _bytes(root)


def wrapped(genuine: bytes, hub_entity_id: str, attacker: x509.Certificate) -> bytes:
    """A new root holding the genuine signature, a forged hub entry (the attacker's SSO URL and signing
    certificate), then the genuine document without its signature: the signature still verifies, over
    the genuine document it references by ID, but the forged entry comes first."""
    original = strip_signature(etree.fromstring(genuine))
    signature = etree.fromstring(genuine).find(f"{{{DS}}}Signature")
    forged = copy.deepcopy(_hub_entity(original, hub_entity_id))
    _redirect_sso(forged)
    for certificate in forged.iter(f"{{{DS}}}X509Certificate"):
        certificate.text = base64.b64encode(attacker.public_bytes(Encoding.DER)).decode()
    outer = etree.Element(f"{{{MD}}}EntitiesDescriptor", nsmap={"md": MD}, validUntil=original.get("validUntil"))
    outer.extend([signature, forged, original])
    return _bytes(outer)
