"""Private keys and certificates, each loaded once per process.

Loading an RSA private key costs tens of milliseconds, so every loader here is cached on its path; the
request path only ever sees objects that were built at start-up. Nothing outside `federation/` reads a
private key file.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class CredentialError(Exception):
    """A key or certificate file is missing, unreadable, or does not belong to its partner."""


@dataclass(frozen=True, eq=False)
class SigningCredential:
    """A private signing key with its certificate, ready for `xmlsecurity.sign`."""

    private_key: PrivateKey
    certificate: x509.Certificate
    cert_pem: bytes
    xmlsec_key: xmlsec.Key = field(repr=False)

    @property
    def is_ec(self) -> bool:
        return isinstance(self.private_key, ec.EllipticCurvePrivateKey)


@dataclass(frozen=True, eq=False)
class DecryptionCredential:
    """A private key used to unwrap XML-Enc content keys, with the certificate senders encrypt to."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate


@dataclass(frozen=True, eq=False)
class EntityCredentials:
    signing: SigningCredential
    encryption: DecryptionCredential


def _read(path: Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CredentialError(f"{what} {path}: cannot be read ({exc.strerror})") from None


def load_certificate(path: Path) -> x509.Certificate:
    return _load_certificate(Path(path).resolve())


@functools.lru_cache(maxsize=256)
def _load_certificate(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(_read(path, "certificate"))
    except ValueError:
        raise CredentialError(f"certificate {path}: not a PEM certificate") from None


def load_key_pem(pem: bytes) -> PrivateKey:
    """An unencrypted PEM private key, RSA or EC; ValueError saying what is wrong otherwise."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ValueError("not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("only RSA and EC keys are supported")
    return key


@functools.lru_cache(maxsize=64)
def _load_private_key(path: Path) -> PrivateKey:
    try:
        return load_key_pem(_read(path, "private key"))
    except ValueError as exc:
        raise CredentialError(f"private key {path}: {exc}") from None


def load_private_key(path: Path) -> PrivateKey:
    """A private key on its own (a JWT signing key has no certificate to pair it with), loaded once."""
    return _load_private_key(Path(path).resolve())


def _check_pair(key: PrivateKey, cert: x509.Certificate, key_path: Path) -> None:
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, pub) != cert.public_key().public_bytes(der, pub):
        raise CredentialError(f"private key {key_path}: does not match its certificate")


def _credential(key: PrivateKey, cert: x509.Certificate) -> SigningCredential:
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    xkey = xmlsec.Key.from_memory(key_pem, xmlsec.constants.KeyDataFormatPem)
    return SigningCredential(
        private_key=key,
        certificate=cert,
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        xmlsec_key=xkey,
    )


@functools.lru_cache(maxsize=64)
def _signing(key_path: Path, cert_path: Path) -> SigningCredential:
    key = _load_private_key(key_path)
    cert = _load_certificate(cert_path)
    _check_pair(key, cert, key_path)
    return _credential(key, cert)


def signing_credential_from_pem(key_pem: bytes, cert_pem: bytes) -> SigningCredential:
    """A credential from PEM in memory: a throw-away key that is nobody's in the federation (the compliance
    tool signs with one to see that a refusal follows)."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CredentialError("only RSA and EC keys are supported")
    cert = x509.load_pem_x509_certificate(cert_pem)
    _check_pair(key, cert, Path("<memory>"))
    return _credential(key, cert)


def load_signing_credential(key_path: Path, cert_path: Path) -> SigningCredential:
    return _signing(Path(key_path).resolve(), Path(cert_path).resolve())


def read_signing_credential(key_path: Path, cert_path: Path) -> SigningCredential:
    """The pair as the files hold it now, never from the cache: a key being rotated (`federation.keyring`)
    is read again when its files change, by the one caller that watches them."""
    key_path = Path(key_path)
    try:
        key = load_key_pem(_read(key_path, "private key"))
    except ValueError as exc:
        raise CredentialError(f"private key {key_path}: {exc}") from None
    try:
        cert = x509.load_pem_x509_certificate(_read(Path(cert_path), "certificate"))
    except ValueError:
        raise CredentialError(f"certificate {cert_path}: not a PEM certificate") from None
    _check_pair(key, cert, key_path)
    return _credential(key, cert)


@functools.lru_cache(maxsize=64)
def _decryption(key_path: Path, cert_path: Path) -> DecryptionCredential:
    key = _load_private_key(key_path)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CredentialError(f"private key {key_path}: encryption keys must be RSA (RSA-OAEP key transport)")
    cert = _load_certificate(cert_path)
    _check_pair(key, cert, key_path)
    return DecryptionCredential(private_key=key, certificate=cert)


def load_decryption_credential(key_path: Path, cert_path: Path) -> DecryptionCredential:
    return _decryption(Path(key_path).resolve(), Path(cert_path).resolve())


def load_entity_credentials(keys_dir: Path, name: str) -> EntityCredentials:
    """The signing and encryption credentials of entity `name`, by the generator's file naming."""
    keys_dir = Path(keys_dir)
    return EntityCredentials(
        signing=load_signing_credential(keys_dir / f"{name}-signing.key", keys_dir / f"{name}-signing.crt"),
        encryption=load_decryption_credential(keys_dir / f"{name}-encryption.key", keys_dir / f"{name}-encryption.crt"),
    )


@dataclass(frozen=True, eq=False)
class HubCredentials:
    signing: SigningCredential
    decryption: tuple[DecryptionCredential, ...]  # primary, then the secondary key of a rotation if present


def load_hub_credentials(
    keys_dir: Path, signing_certificate: Path, encryption_certificates: tuple[Path, ...]
) -> HubCredentials:
    """The hub's keys: `hub-signing.key` for the configured signing certificate, `hub-encryption.key` for
    the first encryption certificate, and for a second one (a rotation) the `.key` beside it if it exists.
    Whoever acts as the hub (the hub, the compliance tool) loads them here."""
    keys_dir = Path(keys_dir)
    signing = load_signing_credential(keys_dir / "hub-signing.key", signing_certificate)
    decryption = [load_decryption_credential(keys_dir / "hub-encryption.key", encryption_certificates[0])]
    for secondary in encryption_certificates[1:]:
        key_path = secondary.with_suffix(".key")
        if key_path.exists():
            decryption.append(load_decryption_credential(key_path, secondary))
    return HubCredentials(signing, tuple(decryption))
