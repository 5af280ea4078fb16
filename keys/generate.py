"""`federation-keys generate DIR`: the development PKI, written once and kept.

Re-running is safe: existing keys are kept, and a certificate is only re-issued when it is missing, does not
match its key, no longer chains to its issuer, or has expired. `--force` starts again from a new root.

`--signing-keys` chooses the kind of the hub's and the stub IDPs' SAML signing keys: `ec-p256` (ECDSA P-256,
signatures `ecdsa-sha256`) or `rsa` (RSA 2048, `rsa-sha256`). A key of the other kind is replaced, with its
certificate. The example service and its matching service keep RSA signing keys, as a department whose
library needs RSA would (and the hostile tests forge RSA signatures in their name). Encryption keys are
always RSA (the profile's key transport is RSA-OAEP), and so are the CAs, the metadata signing key and the
OIDC keys. docs/DESIGN.md ("Keys") gives the measurements behind the default.

`federation-keys next|promote|retire DIR PARTY` are the steps of a signing key's rotation (keys/rotate.py).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from joserfc.jwk import RSAKey

from keys import rotate
from keys.pki import (
    Algorithm,
    PrivateKey,
    Usage,
    algorithm_of,
    cert_to_pem,
    issue,
    issue_certificate,
    key_to_pem,
    load_key,
    make_self_signed,
    new_key,
)

__all__ = [
    "DEFAULT_SIGNING_ALGORITHM",
    "ENTITIES",
    "PLAN",
    "KeySpec",
    "generate",
    "issue",
    "issue_certificate",
    "main",
    "make_self_signed",
    "plan",
]


@dataclass(frozen=True)
class KeySpec:
    """One key pair: `<stem>.key` and `<stem>.crt`."""

    stem: str
    common_name: str
    issuer: str | None  # stem of the issuing CA; None for the self-signed root
    is_ca: bool = False
    usage: Usage = "signing"
    bits: int = 2048
    jwks: bool = False  # also write `<stem>.jwks.json`, the public key as a JWK Set (an OIDC client's keys)
    algorithm: Algorithm = "rsa"


# Entity short name -> the intermediate CA that issues its certificates.
ENTITIES: dict[str, str] = {
    "hub": "hub-ca",
    "stub-idp-one": "idp-ca",
    "stub-idp-two": "idp-ca",
    "stub-idp-three": "idp-ca",
    "test-rp": "rp-ca",
    "test-rp-ms": "rp-ca",
}


# The hub's and the stub IDPs' SAML signing keys: ECDSA P-256 signs about ten times faster than RSA 2048 for a
# little more verification work, and python3-saml, pysaml2 (xmlsec1) and the hub's own reader all verify
# ecdsa-sha256.
DEFAULT_SIGNING_ALGORITHM: Algorithm = "ec-p256"
EC_CAPABLE = frozenset({"hub", "stub-idp-one", "stub-idp-two", "stub-idp-three"})


def plan(signing_algorithm: Algorithm = DEFAULT_SIGNING_ALGORITHM) -> tuple[KeySpec, ...]:
    """Every key pair, issuers before what they sign; SAML signing keys of `signing_algorithm`."""
    specs = [KeySpec("root-ca", "Federation dev root CA", None, is_ca=True, bits=3072)]
    for ca in ("hub", "idp", "rp", "metadata"):
        specs.append(KeySpec(f"{ca}-ca", f"Federation dev {ca} CA", "root-ca", is_ca=True))
    specs.append(KeySpec("metadata-signing", "Federation dev metadata signing", "metadata-ca"))
    for entity, ca in ENTITIES.items():
        kind = signing_algorithm if entity in EC_CAPABLE else "rsa"
        specs.append(KeySpec(f"{entity}-signing", f"Federation dev {entity} signing", ca, algorithm=kind))
        specs.append(KeySpec(f"{entity}-encryption", f"Federation dev {entity} encryption", ca, usage="encryption"))
    # OpenID Connect: the hub's token signing keys (current and next, both in its JWKS), and the example
    # service's client key for private_key_jwt, registered in the federation config as a JWK Set file.
    specs.append(KeySpec("hub-oidc-signing", "Federation dev hub OIDC signing", "hub-ca"))
    specs.append(KeySpec("hub-oidc-signing-next", "Federation dev hub OIDC signing (next)", "hub-ca"))
    specs.append(KeySpec("test-rp-oidc-client", "Federation dev test-rp OIDC client", "rp-ca", jwks=True))
    return tuple(specs)


# Issuers come before the certificates they sign.
PLAN: tuple[KeySpec, ...] = plan()


def expected_files(directory: Path) -> list[Path]:
    return [directory / f"{spec.stem}{ext}" for spec in PLAN for ext in (".crt", ".key")]


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write via a temporary file created with its final mode, so a key is never readable by others."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_key(path: Path) -> PrivateKey | None:
    try:
        return load_key(path.read_bytes(), trusted=True)  # our own output, in our 0700 directory
    except (OSError, ValueError, TypeError):
        return None


def _read_cert(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def _still_good(cert: x509.Certificate, key: PrivateKey, issuer_cert: x509.Certificate, now: datetime) -> bool:
    if cert.public_key().public_numbers() != key.public_key().public_numbers():  # type: ignore[union-attr]
        return False
    if cert.not_valid_after_utc <= now:
        return False
    try:
        cert.verify_directly_issued_by(issuer_cert)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _jwks(key: PrivateKey) -> bytes:
    """The public half of `key` as a JWK Set, its `kid` the RFC 7638 thumbprint."""
    jwk = RSAKey.import_key(key.public_key())  # type: ignore[arg-type]
    jwk.ensure_kid()
    return (
        json.dumps({"keys": [{**jwk.as_dict(private=False), "use": "sig", "alg": "RS256"}]}, indent=2) + "\n"
    ).encode()


def generate(
    directory: Path, force: bool = False, *, signing_algorithm: Algorithm = DEFAULT_SIGNING_ALGORITHM
) -> list[Path]:
    """Create whatever is missing or of the wrong kind (everything with `force`); return the files written."""
    directory = Path(directory)
    if not directory.exists():
        directory.mkdir(parents=True, mode=0o700)
        directory.chmod(0o700)
    now = datetime.now(UTC)
    keys: dict[str, PrivateKey] = {}
    certs: dict[str, x509.Certificate] = {}
    written: list[Path] = []
    for spec in plan(signing_algorithm):
        key_path = directory / f"{spec.stem}.key"
        cert_path = directory / f"{spec.stem}.crt"
        key = None if force else _read_key(key_path)
        if key is not None and algorithm_of(key) != spec.algorithm:
            key = None  # the other kind of signing key: replaced, and its certificate re-issued below
        cert = None
        if key is None:
            key = new_key(spec.bits, spec.algorithm)
            _write(key_path, key_to_pem(key), 0o600)
            written.append(key_path)
        else:
            cert = _read_cert(cert_path)
        issuer_key = keys[spec.issuer] if spec.issuer else None
        issuer_cert = certs[spec.issuer] if spec.issuer else None
        if cert is None or not _still_good(cert, key, issuer_cert or cert, now):
            cert = issue_certificate(
                key,
                spec.common_name,
                issuer_key=issuer_key,
                issuer_cert=issuer_cert,
                is_ca=spec.is_ca,
                usage=spec.usage,
                path_length=0 if spec.issuer else None,
            )
            _write(cert_path, cert_to_pem(cert), 0o644)
            written.append(cert_path)
        keys[spec.stem] = key
        certs[spec.stem] = cert
        if spec.jwks:
            jwks_path = directory / f"{spec.stem}.jwks.json"
            body = _jwks(key)
            if not jwks_path.exists() or jwks_path.read_bytes() != body:
                _write(jwks_path, body, 0o644)
                written.append(jwks_path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="federation-keys", description="Development PKI for the federation")
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="write the development keys and certificates into DIR")
    gen.add_argument("directory", metavar="DIR", type=Path)
    gen.add_argument("--force", action="store_true", help="regenerate everything, including the root CA")
    gen.add_argument(
        "--signing-keys",
        choices=("ec-p256", "rsa"),
        default=DEFAULT_SIGNING_ALGORITHM,
        help=f"kind of the hub's and the stub IDPs' SAML signing keys (default {DEFAULT_SIGNING_ALGORITHM})",
    )
    for name, text in (
        ("next", "issue a next signing key for PARTY from its CA in DIR (published, not yet signing)"),
        ("promote", "make PARTY's next signing key the current one (the old one stays published as next)"),
        ("retire", "remove PARTY's next key pair: after a promotion, the old key"),
    ):
        step = commands.add_parser(name, help=text)
        step.add_argument("directory", metavar="DIR", type=Path)
        step.add_argument("party", metavar="PARTY", help="e.g. hub, stub-idp-one, test-rp, test-rp-ms, metadata")
        if name == "retire":
            step.add_argument("--force", action="store_true", help="also throw away a next key never promoted")
    args = parser.parse_args(argv)
    if args.command != "generate":
        return _rotation_step(args)

    written = generate(args.directory, force=args.force, signing_algorithm=args.signing_keys)
    if not written:
        print(f"keys present in {args.directory}")
    else:
        n_keys = sum(1 for p in written if p.suffix == ".key")
        n_certs = sum(1 for p in written if p.suffix == ".crt")
        print(
            f"wrote {n_keys} key{'s' * (n_keys != 1)} and {n_certs} certificate{'s' * (n_certs != 1)} "
            f"to {args.directory} ({len(PLAN)} key pairs in total)"
        )
    return 0


def _rotation_step(args: argparse.Namespace) -> int:
    try:
        if args.command == "next":
            files = rotate.issue_next(args.directory, args.party)
            print(f"wrote {files.next_key.name} and {files.next_cert.name}: published within seconds, not signing")
        elif args.command == "promote":
            files = rotate.promote(args.directory, args.party)
            print(
                f"{files.cert.name} now holds the next key: it signs within seconds; the old is {files.next_cert.name}"
            )
        else:
            files = rotate.retire(args.directory, args.party, force=args.force)
            print(f"removed {files.next_key.name} and {files.next_cert.name}: no longer published")
    except (rotate.RotationError, OSError) as exc:
        print(f"federation-keys {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
