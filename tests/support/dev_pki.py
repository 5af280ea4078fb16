"""Keys for a test's own entities, issued by the development PKI's certificate authorities.

A test that registers a party of its own (a department's service, an identity provider) gives it keys
the way the operator would: a fresh key pair and a certificate from the right intermediate CA of the
session's keys directory, written into the test's own directory so that no other process holds them.
"""

from __future__ import annotations

from pathlib import Path

from keys.pki import Usage, issue


def issue_keys(keys_dir: Path, directory: Path, stem: str, *, ca: str, usage: Usage) -> tuple[Path, Path]:
    """Write `<stem>.key` (mode 0600) and `<stem>.crt`, issued by `<ca>` of `keys_dir`; return their paths."""
    key_pem, cert_pem = issue(
        (keys_dir / f"{ca}.key").read_bytes(),
        (keys_dir / f"{ca}.crt").read_bytes(),
        f"Federation dev {stem}",
        usage=usage,
    )
    directory.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = directory / f"{stem}.key", directory / f"{stem}.crt"
    key_path.touch(mode=0o600)
    key_path.write_bytes(key_pem)
    cert_path.write_bytes(cert_pem)
    return key_path, cert_path
