"""Rotating a party's signing key in three steps, each a change of files the running processes pick up.

    federation-keys next DIR PARTY      issue a next key and certificate beside the current (development
                                        PKI: from the party's CA in DIR; a real party copies in the pair its
                                        CA issued as `<party>-signing-next.key/.crt` instead)
    federation-keys promote DIR PARTY   the next key signs from now on: the two pairs swap places, so the old
                                        one stays published as `-next` while messages it signed are in flight
    federation-keys retire DIR PARTY    the old key goes: `-next` is removed and no longer published

PARTY is an entity's short name (`hub`, `stub-idp-one`, `test-rp`, `test-rp-ms`, ...) or `metadata` for the
federation metadata's signing key. The runbook (docs/key-rotation.md) says how long to wait between steps.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from federation.credentials import CredentialError, read_signing_credential
from federation.keyring import next_path
from keys.pki import algorithm_of, cert_to_pem, issue_certificate, key_to_pem, load_key, new_key


class RotationError(Exception):
    """The step cannot be taken; the message says why and what to do instead."""


@dataclass(frozen=True)
class KeyFiles:
    """The current and next key pair of one party in a keys directory."""

    party: str
    key: Path
    cert: Path

    @classmethod
    def of(cls, directory: Path, party: str) -> KeyFiles:
        if not party or "/" in party or party.startswith("."):
            raise RotationError(f"{party!r} is not a party's short name")
        stem = f"{party}-signing"
        return cls(party, Path(directory) / f"{stem}.key", Path(directory) / f"{stem}.crt")

    @property
    def next_key(self) -> Path:
        return next_path(self.key)

    @property
    def next_cert(self) -> Path:
        return next_path(self.cert)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


def _issuer_stem(files: KeyFiles, cert: x509.Certificate) -> str:
    """The CA in the directory that issued the current certificate (the development PKI's naming)."""
    for candidate in sorted(files.cert.parent.glob("*-ca.crt")):
        ca = x509.load_pem_x509_certificate(candidate.read_bytes())
        if ca.subject == cert.issuer:
            return candidate.stem
    raise RotationError(f"no certificate authority in {files.cert.parent} issued {files.cert.name}")


def issue_next(directory: Path, party: str, *, not_after: datetime | None = None) -> KeyFiles:
    """Development PKI: a next key of the same kind as the current, certified by the CA that certified it."""
    files = KeyFiles.of(directory, party)
    if files.next_key.exists() or files.next_cert.exists():
        raise RotationError(f"{files.next_cert.name} is already there: promote it or retire it first")
    current = _credential(files.key, files.cert)
    ca = _issuer_stem(files, current.certificate)
    ca_key = load_key((files.cert.parent / f"{ca}.key").read_bytes(), trusted=True)
    ca_cert = x509.load_pem_x509_certificate((files.cert.parent / f"{ca}.crt").read_bytes())
    key = new_key(algorithm=algorithm_of(current.private_key) or "rsa")
    names = current.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    name = str(names[0].value) if names else f"{party} signing"
    cert = issue_certificate(
        key, f"{name} (next)", issuer_key=ca_key, issuer_cert=ca_cert, usage="signing", not_after=not_after
    )
    _write_new(files.next_key, key_to_pem(key), 0o600)
    _write_new(files.next_cert, cert_to_pem(cert), 0o644)
    return files


def _credential(key: Path, cert: Path):
    try:
        return read_signing_credential(key, cert)
    except CredentialError as exc:
        raise RotationError(str(exc)) from None


def promote(directory: Path, party: str, *, now: datetime | None = None) -> KeyFiles:
    """The next pair becomes the current one, and the current one the next (still published, no longer
    signing). Refused unless the next key matches its certificate and that certificate is valid now."""
    files = KeyFiles.of(directory, party)
    if not files.next_cert.exists():
        raise RotationError(f"there is no next key ({files.next_cert.name}) to promote")
    upcoming = _credential(files.next_key, files.next_cert).certificate
    _credential(files.key, files.cert)
    now = now or datetime.now(UTC)
    if not upcoming.not_valid_before_utc <= now < upcoming.not_valid_after_utc:
        raise RotationError(f"{files.next_cert.name} is not valid now ({upcoming.not_valid_before_utc:%Y-%m-%d %H:%M})")
    for current, upcoming_path in ((files.cert, files.next_cert), (files.key, files.next_key)):
        parked = current.with_name(f".{current.name}.{secrets.token_hex(4)}.swap")
        os.rename(current, parked)
        os.rename(upcoming_path, current)
        os.rename(parked, upcoming_path)
    return files


def _newer(path: Path, than: Path) -> bool:
    """Whether the certificate in `path` was issued after the one in `than`; within the same second (the
    precision of a certificate's dates), whether its file was written after (a promotion renames, which
    keeps each file's time)."""
    issued = x509.load_pem_x509_certificate(path.read_bytes()).not_valid_before_utc
    other = x509.load_pem_x509_certificate(than.read_bytes()).not_valid_before_utc
    if issued != other:
        return issued > other
    return path.stat().st_mtime_ns > than.stat().st_mtime_ns


def retire(directory: Path, party: str, *, force: bool = False) -> KeyFiles:
    """Remove the `-next` pair: after a promotion, the old key. Refused when that pair is newer than the
    current one (it was never promoted) unless `force`, which throws a next key away."""
    files = KeyFiles.of(directory, party)
    if not files.next_cert.exists() and not files.next_key.exists():
        raise RotationError(f"there is no {files.next_cert.name} to retire")
    if not force and files.next_cert.exists() and _newer(files.next_cert, files.cert):
        raise RotationError(
            f"{files.next_cert.name} is newer than {files.cert.name}: it was never promoted "
            "(promote it, or retire with --force to throw it away)"
        )
    files.next_cert.unlink(missing_ok=True)
    files.next_key.unlink(missing_ok=True)
    return files
