"""Minting keys and X.509 certificates for the development PKI and for tests.

Tests use `make_self_signed` and `issue` to play an attacker (a key the federation never trusted) or an
operator who let a certificate expire, with the same code that builds the real development PKI.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

ORGANISATION = "Federation development PKI"
LEAF_VALIDITY = timedelta(days=730)
CA_VALIDITY = timedelta(days=3650)
# Backdated so that a peer whose clock is a little behind still accepts a freshly generated certificate.
BACKDATE = timedelta(minutes=5)

Usage = Literal["signing", "encryption"]
# "ec-p256": ECDSA P-256, for XML signatures (ecdsa-sha256) where every reader accepts it; "rsa" otherwise,
# and always for encryption (the profile's key transport is RSA-OAEP) and certificate authorities.
Algorithm = Literal["rsa", "ec-p256"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def new_key(bits: int = 2048, algorithm: Algorithm = "rsa") -> PrivateKey:
    if algorithm == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def algorithm_of(key: PrivateKey) -> Algorithm | None:
    """The `Algorithm` a key is, or None for a kind the PKI does not make (another curve)."""
    if isinstance(key, rsa.RSAPrivateKey):
        return "rsa"
    return "ec-p256" if isinstance(key.curve, ec.SECP256R1) else None


def key_to_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8: the development keys live in a 0700 directory that git ignores."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_to_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def load_key(pem: bytes, *, trusted: bool = False) -> PrivateKey:
    """`trusted` skips OpenSSL's slow RSA consistency check (~70 ms a key), for keys we generated ourselves."""
    key = serialization.load_pem_private_key(pem, password=None, unsafe_skip_rsa_key_validation=trusted)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("expected an RSA or EC private key")
    return key


def name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
        ]
    )


def _key_usage(is_ca: bool, usage: Usage) -> x509.KeyUsage:
    flags = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    if is_ca:
        flags.update(key_cert_sign=True, crl_sign=True)
    elif usage == "signing":
        flags.update(digital_signature=True)
    elif usage == "encryption":
        flags.update(key_encipherment=True, data_encipherment=True)
    else:
        raise ValueError(f"unknown usage {usage!r} (expected 'signing' or 'encryption')")
    return x509.KeyUsage(**flags)


def issue_certificate(
    subject_key: PrivateKey,
    common_name: str,
    *,
    issuer_key: PrivateKey | None = None,
    issuer_cert: x509.Certificate | None = None,
    is_ca: bool = False,
    usage: Usage = "signing",
    path_length: int | None = 0,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> x509.Certificate:
    """Certificate for `subject_key`, self-signed when no issuer is given.

    CA certificates get basicConstraints CA=true with `path_length` (None for the root) and
    keyCertSign+cRLSign; leaves get CA=false and a key usage for signing or for encryption.
    """
    if (issuer_key is None) != (issuer_cert is None):
        raise ValueError("give both issuer_key and issuer_cert, or neither (self-signed)")
    subject = name(common_name)
    signer = issuer_key or subject_key
    issuer_name = issuer_cert.subject if issuer_cert is not None else subject
    start = not_before or datetime.now(UTC) - BACKDATE
    end = not_after or start + (CA_VALIDITY if is_ca else LEAF_VALIDITY)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(subject_key.public_key())
        .serial_number(secrets.randbits(126) + 1)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=path_length if is_ca else None), True)
        .add_extension(_key_usage(is_ca, usage), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False)
    )
    return builder.sign(signer, hashes.SHA256())


def make_self_signed(
    common_name: str,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    is_ca: bool = False,
    usage: Usage = "signing",
) -> tuple[bytes, bytes]:
    """A fresh key and a self-signed certificate, as PEM: (private_key_pem, cert_pem)."""
    key = new_key()
    cert = issue_certificate(
        key,
        common_name,
        is_ca=is_ca,
        usage=usage,
        path_length=None,
        not_before=not_before,
        not_after=not_after,
    )
    return key_to_pem(key), cert_to_pem(cert)


def issue(
    issuer_key_pem: bytes,
    issuer_cert_pem: bytes,
    common_name: str,
    *,
    is_ca: bool = False,
    usage: Usage = "signing",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> tuple[bytes, bytes]:
    """A fresh key and a certificate for it signed by the given CA, as PEM: (key_pem, cert_pem)."""
    key = new_key()
    cert = issue_certificate(
        key,
        common_name,
        issuer_key=load_key(issuer_key_pem),
        issuer_cert=x509.load_pem_x509_certificate(issuer_cert_pem),
        is_ca=is_ca,
        usage=usage,
        not_before=not_before,
        not_after=not_after,
    )
    return key_to_pem(key), cert_to_pem(cert)
