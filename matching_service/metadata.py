"""This matching service's own SAML metadata: an EntityDescriptor with an AttributeAuthorityDescriptor.

It lists the signing certificates (current and, during a rotation, next) that verify our replies and
assertions, the encryption certificate the hub encrypts the IDP assertions to, and the AttributeService
(SOAP) where the hub sends AttributeQueries; it is signed with our signing key. The document is rebuilt
when half its validity has passed, so a reader never receives a copy close to expiry, and at once when a
key rotation step changed our signing key or certificates (`federation.keyring`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

from cryptography import x509

from federation.config import MatchingService
from federation.credentials import SigningCredential
from federation.keyring import SigningKeyRing
from federation.metadata import build_matching_service_metadata
from federation.saml.ids import now_utc

CONTENT_TYPE = "application/samlmetadata+xml"
DEFAULT_VALIDITY = timedelta(hours=24)


class MetadataPublisher:
    """Serves one signed copy, re-signed once half of its validity has passed."""

    def __init__(
        self,
        matching_service: MatchingService,
        credential: SigningCredential | SigningKeyRing,
        *,
        valid_for: timedelta = DEFAULT_VALIDITY,
    ) -> None:
        self._ms = matching_service
        self._keys = credential
        self._valid_for = valid_for
        self._lock = threading.Lock()
        self._document: bytes | None = None
        self._built_at: datetime | None = None
        self._built_with: tuple[SigningCredential, int] | None = None

    def _signing(self) -> tuple[SigningCredential, int, Sequence[x509.Certificate] | None]:
        """The key that signs now, the version of the published certificates, and those certificates."""
        if isinstance(self._keys, SigningKeyRing):
            published = self._keys.published
            return self._keys.current, published.version, published.certificates
        return self._keys, 0, None

    def document(self, now: datetime | None = None) -> bytes:
        now = now or now_utc()
        credential, version, certificates = self._signing()
        with self._lock:
            stale = self._built_at is None or now - self._built_at >= self._valid_for / 2
            if self._document is None or stale or self._built_with != (credential, version):
                self._document = build_matching_service_metadata(
                    self._ms, credential, now=now, valid_for=self._valid_for, signing_certificates=certificates
                )
                self._built_at, self._built_with = now, (credential, version)
            return self._document
