"""When each certificate of the federation expires, as its file holds it now: for the operator's metrics and page.

Every certificate the federation config names (each entity's signing and encryption certificates, the hub's
OpenID Connect keys, the metadata signer and the trust anchor) and each signing key's next certificate
(`federation.keyring`) when one is there. The files are read at each look, so a promoted key shows at once;
the metadata the hub publishes is built from the same files, so this covers every entity in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509

from federation.config import FederationConfig
from federation.keyring import next_path

WARN_WITHIN = timedelta(days=30)


@dataclass(frozen=True)
class CertificateDate:
    entity: str  # entity ID, or "metadata" for the metadata signer and the trust anchor
    use: str  # signing, encryption, oidc-signing, metadata-signing, trust-anchor
    file: str
    subject: str
    not_after: datetime

    def days_left(self, now: datetime) -> float:
        return (self.not_after - now).total_seconds() / 86400

    def expires_soon(self, now: datetime, within: timedelta = WARN_WITHIN) -> bool:
        return self.not_after <= now + within


def _configured(config: FederationConfig) -> list[tuple[str, str, Path]]:
    hub = config.hub
    found = [(hub.entity_id, "signing", cert.path) for cert in hub.signing_certificates]
    found += [(hub.entity_id, "encryption", cert.path) for cert in hub.encryption_certificates]
    found += [(hub.entity_id, "oidc-signing", cert.path) for cert in hub.oidc_signing_certificates]
    for entity in (*config.identity_providers, *config.relying_parties, *config.matching_services):
        found += [(entity.entity_id, "signing", cert.path) for cert in entity.signing_certificates]
        if entity.encryption_certificate is not None and getattr(entity, "oidc", None) is None:
            found.append((entity.entity_id, "encryption", entity.encryption_certificate.path))
    found.append(("metadata", "metadata-signing", config.metadata.signing_certificate.path))
    found.append(("metadata", "trust-anchor", config.metadata.trust_anchor.path))
    rotating = [(entity, use, path) for entity, use, path in found if use in ("signing", "metadata-signing")]
    return found + [(entity, use, next_path(path)) for entity, use, path in rotating]


def _subject(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def certificate_dates(config: FederationConfig) -> list[CertificateDate]:
    """Each certificate file present now, once per entity and use, soonest to expire first."""
    seen: set[tuple[str, str, Path]] = set()
    dates = []
    for entity, use, path in _configured(config):
        key = (entity, use, path)
        if key in seen:
            continue
        seen.add(key)
        try:
            cert = x509.load_pem_x509_certificate(path.read_bytes())
        except (OSError, ValueError):
            continue  # a next slot that is empty; a configured file that went is refused at the next start
        dates.append(CertificateDate(entity, use, path.name, _subject(cert), cert.not_valid_after_utc))
    return sorted(dates, key=lambda date: (date.not_after, date.entity, date.file))
