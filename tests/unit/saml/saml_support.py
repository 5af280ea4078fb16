"""Shared helpers for the SAML tests: entity names, URLs and real self-signed keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from federation.credentials import (
    DecryptionCredential,
    SigningCredential,
    load_decryption_credential,
    load_signing_credential,
)

HUB = "https://hub.test/SAML2/metadata"
IDP = "https://idp-one.test/SAML2/metadata"
RP = "https://rp.test/SAML2/metadata"
MS = "https://rp-ms.test/SAML2/metadata"
HUB_SSO = "https://hub.test/SAML2/SSO"
HUB_ACS = "https://hub.test/SAML2/SSO/Response/POST"
IDP_SSO = "https://idp-one.test/idp-one/SAML2/SSO"
RP_ACS = "https://rp.test/SAML2/SSO/ACS"
MS_URL = "https://rp-ms.test/matching-service/POST"


def _write(directory: Path, name: str, key) -> tuple[Path, Path]:
    now = datetime.now(UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / f"{name}.key", directory / f"{name}.crt"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


@dataclass(frozen=True)
class Entity:
    signing: SigningCredential
    encryption: DecryptionCredential

    @property
    def signing_cert(self) -> x509.Certificate:
        return self.signing.certificate

    @property
    def encryption_cert(self) -> x509.Certificate:
        return self.encryption.certificate


@dataclass(frozen=True)
class Keys:
    hub: Entity
    idp: Entity
    rp: Entity
    ms: Entity
    other: Entity  # an attacker's keys: never trusted for anyone
    rp_ec: SigningCredential

    def certificates_for(self, issuer: str) -> list[x509.Certificate]:
        table = {HUB: self.hub, IDP: self.idp, RP: self.rp, MS: self.ms}
        entity = table.get(issuer)
        return [entity.signing_cert] if entity else []


def make_keys(directory: Path) -> Keys:
    def entity(name: str) -> Entity:
        signing = _write(directory, f"{name}-signing", rsa.generate_private_key(65537, 2048))
        encryption = _write(directory, f"{name}-encryption", rsa.generate_private_key(65537, 2048))
        return Entity(load_signing_credential(*signing), load_decryption_credential(*encryption))

    ec_paths = _write(directory, "rp-ec-signing", ec.generate_private_key(ec.SECP256R1()))
    return Keys(
        hub=entity("hub"),
        idp=entity("idp"),
        rp=entity("rp"),
        ms=entity("ms"),
        other=entity("other"),
        rp_ec=load_signing_credential(*ec_paths),
    )
