"""The development PKI: complete, private, chained, and stable across re-runs."""

from __future__ import annotations

import os
import shutil
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from keys.generate import generate, main
from keys.pki import issue, make_self_signed

REPO = Path(__file__).resolve().parents[2]

CAS = {"hub-ca": "root-ca", "idp-ca": "root-ca", "rp-ca": "root-ca", "metadata-ca": "root-ca"}
ENTITY_CA = {
    "hub": "hub-ca",
    "stub-idp-one": "idp-ca",
    "stub-idp-two": "idp-ca",
    "stub-idp-three": "idp-ca",
    "test-rp": "rp-ca",
    "test-rp-ms": "rp-ca",
}
# leaf stem -> (issuer stem, usage)
LEAVES = {
    "metadata-signing": ("metadata-ca", "signing"),
    "hub-oidc-signing": ("hub-ca", "signing"),
    "hub-oidc-signing-next": ("hub-ca", "signing"),
    "test-rp-oidc-client": ("rp-ca", "signing"),
}
for _entity, _ca in ENTITY_CA.items():
    LEAVES[f"{_entity}-signing"] = (_ca, "signing")
    LEAVES[f"{_entity}-encryption"] = (_ca, "encryption")
STEMS = ["root-ca", *CAS, *LEAVES]


def cert(directory: Path, stem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((directory / f"{stem}.crt").read_bytes())


def snapshot(directory: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(directory.iterdir())}


@pytest.fixture
def keys_copy(keys_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the session PKI (copy2 keeps modes and mtimes) for tests that change files."""
    target = tmp_path / "keys"
    shutil.copytree(keys_dir, target)
    return target


def test_writes_every_documented_file_and_nothing_else(keys_dir: Path) -> None:
    expected = {f"{stem}{ext}" for stem in STEMS for ext in (".crt", ".key")} | {"test-rp-oidc-client.jwks.json"}
    assert {p.name for p in keys_dir.iterdir()} == expected
    assert len(expected) == 43


def test_private_keys_are_owner_only_and_the_directory_is_private(keys_dir: Path) -> None:
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    for stem in STEMS:
        assert stat.S_IMODE((keys_dir / f"{stem}.key").stat().st_mode) == 0o600, stem
        assert stat.S_IMODE((keys_dir / f"{stem}.crt").stat().st_mode) == 0o644, stem


# The hub's and the stub IDPs' SAML signing keys are ECDSA P-256 by default (keys.generate); everything else RSA.
EC_SIGNING = {
    "hub-signing",
    "stub-idp-one-signing",
    "stub-idp-two-signing",
    "stub-idp-three-signing",
}


def test_keys_are_unencrypted_pkcs8_matching_their_certificates(keys_dir: Path) -> None:
    for stem in STEMS:
        pem = (keys_dir / f"{stem}.key").read_bytes()
        assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n"), stem
        key = serialization.load_pem_private_key(pem, password=None)
        if stem in EC_SIGNING:
            assert isinstance(key, ec.EllipticCurvePrivateKey), stem
            assert isinstance(key.curve, ec.SECP256R1), stem
        else:
            assert isinstance(key, rsa.RSAPrivateKey), stem
            assert key.key_size >= 2048
        assert cert(keys_dir, stem).public_key().public_numbers() == key.public_key().public_numbers(), stem


def test_rsa_signing_keys_on_request_and_back(keys_copy: Path) -> None:
    """`--signing-keys rsa` replaces exactly the SAML signing keys (and their certificates), and back again."""
    before = snapshot(keys_copy)
    assert main(["generate", str(keys_copy), "--signing-keys", "rsa"]) == 0
    changed = {name for name, value in snapshot(keys_copy).items() if before.get(name) != value}
    assert changed == {f"{stem}{ext}" for stem in EC_SIGNING for ext in (".key", ".crt")}
    for stem in EC_SIGNING:
        key = serialization.load_pem_private_key((keys_copy / f"{stem}.key").read_bytes(), None)
        assert isinstance(key, rsa.RSAPrivateKey), stem
        cert(keys_copy, stem).verify_directly_issued_by(cert(keys_copy, LEAVES[stem][0]))
    assert generate(keys_copy, signing_algorithm="rsa") == []
    written = {p.name for p in generate(keys_copy)}
    assert written == changed
    assert isinstance(
        serialization.load_pem_private_key((keys_copy / "hub-signing.key").read_bytes(), None),
        ec.EllipticCurvePrivateKey,
    )


def test_every_certificate_chains_to_the_root(keys_dir: Path) -> None:
    root = cert(keys_dir, "root-ca")
    root.verify_directly_issued_by(root)
    for ca, issuer in CAS.items():
        cert(keys_dir, ca).verify_directly_issued_by(cert(keys_dir, issuer))
    for leaf, (issuer, _) in LEAVES.items():
        cert(keys_dir, leaf).verify_directly_issued_by(cert(keys_dir, issuer))
    # and not by a sibling CA: the intermediates really separate the parties
    with pytest.raises((InvalidSignature, ValueError)):
        cert(keys_dir, "stub-idp-one-signing").verify_directly_issued_by(cert(keys_dir, "rp-ca"))


def test_ca_and_leaf_extensions(keys_dir: Path) -> None:
    for ca in CAS:
        c = cert(keys_dir, ca)
        bc = c.extensions.get_extension_for_class(x509.BasicConstraints)
        assert bc.critical and bc.value.ca and bc.value.path_length == 0
        ku = c.extensions.get_extension_for_class(x509.KeyUsage).value
        assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature
    for leaf, (_, usage) in LEAVES.items():
        c = cert(keys_dir, leaf)
        assert not c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        ku = c.extensions.get_extension_for_class(x509.KeyUsage).value
        if usage == "signing":
            assert ku.digital_signature and not ku.key_encipherment, leaf
        else:
            assert ku.key_encipherment and ku.data_encipherment and not ku.digital_signature, leaf
        assert not ku.key_cert_sign


def test_names_algorithms_and_validity(keys_dir: Path) -> None:
    now = datetime.now(UTC)
    hub = cert(keys_dir, "hub-signing")
    assert hub.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Federation dev hub signing"
    assert hub.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Federation development PKI"
    for stem in STEMS:
        c = cert(keys_dir, stem)
        assert isinstance(c.signature_hash_algorithm, hashes.SHA256), stem
        # backdated five minutes (from when it was written) so a peer with a slow clock accepts it
        written = datetime.fromtimestamp((keys_dir / f"{stem}.crt").stat().st_mtime, UTC)
        assert timedelta(minutes=4) < written - c.not_valid_before_utc < timedelta(minutes=6), stem
        assert c.not_valid_before_utc < now - timedelta(minutes=4), stem
        lifetime = c.not_valid_after_utc - c.not_valid_before_utc
        expected = timedelta(days=3650) if stem in CAS or stem == "root-ca" else timedelta(days=730)
        assert lifetime == expected, stem
    assert not (keys_dir / "hub-signing-next.crt").exists()  # a next key is a rotation's step (keys.rotate)


def test_second_run_changes_nothing(keys_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(keys_copy)
    assert generate(keys_copy) == []
    assert main(["generate", str(keys_copy)]) == 0
    assert capsys.readouterr().out.strip() == f"keys present in {keys_copy}"
    assert snapshot(keys_copy) == before


def test_missing_leaf_is_issued_by_the_existing_ca(keys_copy: Path) -> None:
    before = snapshot(keys_copy)
    (keys_copy / "test-rp-signing.crt").unlink()
    (keys_copy / "test-rp-signing.key").unlink()
    written = generate(keys_copy)
    assert sorted(p.name for p in written) == ["test-rp-signing.crt", "test-rp-signing.key"]
    after = snapshot(keys_copy)
    assert {k: v for k, v in after.items() if not k.startswith("test-rp-signing.")} == {
        k: v for k, v in before.items() if not k.startswith("test-rp-signing.")
    }
    cert(keys_copy, "test-rp-signing").verify_directly_issued_by(cert(keys_copy, "rp-ca"))
    assert stat.S_IMODE((keys_copy / "test-rp-signing.key").stat().st_mode) == 0o600


def test_lost_ca_key_reissues_what_it_signed_and_keeps_leaf_keys(keys_copy: Path) -> None:
    before = snapshot(keys_copy)
    (keys_copy / "idp-ca.key").unlink()
    written = {p.name for p in generate(keys_copy)}
    idp_leaves = {stem for stem, (issuer, _) in LEAVES.items() if issuer == "idp-ca"}
    assert written == {"idp-ca.key", "idp-ca.crt"} | {f"{stem}.crt" for stem in idp_leaves}
    for stem in idp_leaves:
        cert(keys_copy, stem).verify_directly_issued_by(cert(keys_copy, "idp-ca"))
        assert (keys_copy / f"{stem}.key").read_bytes() == before[f"{stem}.key"][1]
    cert(keys_copy, "idp-ca").verify_directly_issued_by(cert(keys_copy, "root-ca"))


def test_certificate_not_matching_its_key_is_reissued(keys_copy: Path) -> None:
    shutil.copy(keys_copy / "hub-oidc-signing.crt", keys_copy / "hub-signing.crt")
    written = [p.name for p in generate(keys_copy)]
    assert written == ["hub-signing.crt"]
    key = serialization.load_pem_private_key((keys_copy / "hub-signing.key").read_bytes(), None)
    assert cert(keys_copy, "hub-signing").public_key().public_numbers() == key.public_key().public_numbers()


def test_keys_stay_private_under_a_permissive_umask(keys_copy: Path) -> None:
    (keys_copy / "hub-encryption.key").unlink()
    old = os.umask(0)
    try:
        generate(keys_copy)
    finally:
        os.umask(old)
    assert stat.S_IMODE((keys_copy / "hub-encryption.key").stat().st_mode) == 0o600


def test_force_regenerates_everything(keys_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(keys_copy)
    assert main(["generate", str(keys_copy), "--force"]) == 0
    assert "wrote 21 keys and 21 certificates" in capsys.readouterr().out
    after = snapshot(keys_copy)
    assert after.keys() == before.keys()
    assert all(after[name][1] != before[name][1] for name in before)
    cert(keys_copy, "stub-idp-two-signing").verify_directly_issued_by(cert(keys_copy, "idp-ca"))
    cert(keys_copy, "idp-ca").verify_directly_issued_by(cert(keys_copy, "root-ca"))
    assert stat.S_IMODE((keys_copy / "root-ca.key").stat().st_mode) == 0o600


def test_generated_keys_are_ignored_by_git() -> None:
    ignored = [line.strip().rstrip("/") for line in (REPO / ".gitignore").read_text().splitlines()]
    assert "keys/generated" in ignored


def test_make_self_signed_mints_an_untrusted_or_expired_certificate(keys_dir: Path) -> None:
    key_pem, cert_pem = make_self_signed("Attacker")
    attacker = x509.load_pem_x509_certificate(cert_pem)
    attacker.verify_directly_issued_by(attacker)
    assert attacker.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Attacker"
    key = serialization.load_pem_private_key(key_pem, None)
    assert attacker.public_key().public_numbers() == key.public_key().public_numbers()
    with pytest.raises((InvalidSignature, ValueError)):
        attacker.verify_directly_issued_by(cert(keys_dir, "idp-ca"))

    now = datetime.now(UTC)
    _, expired_pem = make_self_signed("Old", not_before=now - timedelta(days=10), not_after=now - timedelta(days=1))
    expired = x509.load_pem_x509_certificate(expired_pem)
    assert expired.not_valid_after_utc < now


def test_issue_signs_with_a_federation_ca(keys_dir: Path) -> None:
    ca_key = (keys_dir / "idp-ca.key").read_bytes()
    ca_cert = (keys_dir / "idp-ca.crt").read_bytes()
    _, enc_pem = issue(ca_key, ca_cert, "Extra IDP encryption", usage="encryption")
    enc = x509.load_pem_x509_certificate(enc_pem)
    enc.verify_directly_issued_by(cert(keys_dir, "idp-ca"))
    assert enc.extensions.get_extension_for_class(x509.KeyUsage).value.key_encipherment

    _, sub_ca_pem = issue(ca_key, ca_cert, "Rogue sub-CA", is_ca=True)
    sub_ca = x509.load_pem_x509_certificate(sub_ca_pem)
    assert sub_ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    with pytest.raises(ValueError, match="unknown usage"):
        issue(ca_key, ca_cert, "Bad", usage="wrapping")  # type: ignore[arg-type]
