"""This matching service's own SAML metadata: an EntityDescriptor with an AttributeAuthorityDescriptor.

It lists the signing certificates (current and, during a rotation, next) that verify our replies and
assertions, the encryption certificate the hub encrypts the IDP assertions to, and the AttributeService
(SOAP) where the hub sends AttributeQueries; it is signed with our signing key. The document is rebuilt
when half its validity has passed, so a reader never receives a copy close to expiry.
"""

from __future__ import annotations

import base64
import threading
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import serialization
from saml2 import md
from saml2 import xmldsig as ds

from federation import xmlsecurity
from federation.config import Certificate, MatchingService
from federation.credentials import SigningCredential
from federation.saml import constants as c
from federation.saml.ids import instant, new_id, now_utc

CONTENT_TYPE = "application/samlmetadata+xml"
DEFAULT_VALIDITY = timedelta(hours=24)


def _key_descriptor(use: str, certificate: Certificate) -> md.KeyDescriptor:
    der = certificate.certificate.public_bytes(serialization.Encoding.DER)
    x509_data = ds.X509Data(x509_certificate=ds.X509Certificate(text=base64.b64encode(der).decode()))
    return md.KeyDescriptor(use=use, key_info=ds.KeyInfo(x509_data=[x509_data]))


def build_matching_service_metadata(
    matching_service: MatchingService,
    credential: SigningCredential,
    *,
    now: datetime,
    valid_for: timedelta = DEFAULT_VALIDITY,
) -> bytes:
    """The signed EntityDescriptor of `matching_service`, valid for `valid_for` from `now`."""
    descriptor = md.EntityDescriptor(
        entity_id=matching_service.entity_id,
        id=new_id(),
        valid_until=instant(now + valid_for),
        attribute_authority_descriptor=[
            md.AttributeAuthorityDescriptor(
                protocol_support_enumeration=c.SAMLP_NS,
                key_descriptor=[
                    *(_key_descriptor("signing", cert) for cert in matching_service.signing_certificates),
                    _key_descriptor("encryption", matching_service.encryption_certificate),
                ],
                attribute_service=[
                    md.AttributeService(binding=c.BINDING_SOAP, location=matching_service.attribute_query_url)
                ],
                name_id_format=[md.NameIDFormat(text=c.NAMEID_FORMAT_PERSISTENT)],
            )
        ],
    )
    element = xmlsecurity.parse_xml(descriptor.to_string(nspair={"md": md.NAMESPACE, "ds": ds.NAMESPACE}))
    xmlsecurity.sign(element, credential)  # first child of EntityDescriptor, as the schema requires
    return xmlsecurity.to_bytes(element)


class MetadataPublisher:
    """Serves one signed copy, re-signed once half of its validity has passed."""

    def __init__(
        self,
        matching_service: MatchingService,
        credential: SigningCredential,
        *,
        valid_for: timedelta = DEFAULT_VALIDITY,
    ) -> None:
        self._ms = matching_service
        self._credential = credential
        self._valid_for = valid_for
        self._lock = threading.Lock()
        self._document: bytes | None = None
        self._built_at: datetime | None = None

    def document(self, now: datetime | None = None) -> bytes:
        now = now or now_utc()
        with self._lock:
            if self._document is None or self._built_at is None or now - self._built_at >= self._valid_for / 2:
                self._document = build_matching_service_metadata(
                    self._ms, self._credential, now=now, valid_for=self._valid_for
                )
                self._built_at = now
            return self._document
