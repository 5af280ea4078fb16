"""This matching service's own SAML metadata: an EntityDescriptor with an AttributeAuthorityDescriptor.

It lists the signing certificates (current and, during a rotation, next) that verify our replies and
assertions, the encryption certificate the hub encrypts the IDP assertions to, and the AttributeService
(SOAP) where the hub sends AttributeQueries; it is signed with our signing key. The document is rebuilt
when half its validity has passed, so a reader never receives a copy close to expiry.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from federation.config import MatchingService
from federation.credentials import SigningCredential
from federation.metadata import build_matching_service_metadata
from federation.saml.ids import now_utc

CONTENT_TYPE = "application/samlmetadata+xml"
DEFAULT_VALIDITY = timedelta(hours=24)


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
