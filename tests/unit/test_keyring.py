"""The keyring a running process signs and publishes from, and the three rotation steps that move its files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cryptography import x509

from federation.config import load_federation_config
from federation.demo import DEMO_CONFIG
from federation.keyring import CertificateFiles, PublishedSigningCertificates, SigningKeyRing
from keys.generate import main
from keys.rotate import RotationError, issue_next, promote, retire
from tests.support.hand_clock import HandClock


@pytest.fixture
def keys(tmp_path: Path, keys_dir: Path) -> Path:
    copy = tmp_path / "keys"
    shutil.copytree(keys_dir, copy)
    return copy


def ring(keys: Path, clock: HandClock, party: str = "hub") -> SigningKeyRing:
    return SigningKeyRing(keys / f"{party}-signing.key", keys / f"{party}-signing.crt", clock=clock)


def test_promoted_key_signs_after_the_check_interval_and_not_before(keys: Path) -> None:
    clock = HandClock()
    hub = ring(keys, clock)
    old = hub.current.certificate
    assert hub.published.certificates == (old,)
    issue_next(keys, "hub")
    assert hub.published.certificates == (old,)  # not looked at again within the interval
    clock.now = 2.0
    new = hub.published.certificates[1]
    assert hub.published.certificates == (old, new) and hub.current.certificate == old
    promote(keys, "hub")
    clock.now = 3.0
    assert hub.current.certificate == old
    clock.now = 4.0
    assert hub.current.certificate == new
    assert set(hub.published.certificates) == {old, new}  # the overlap: the old one still published
    retire(keys, "hub")
    clock.now = 6.0
    assert hub.published.certificates == (new,)
    assert hub.current.certificate == new


def test_no_file_is_read_between_checks(keys: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = HandClock()
    hub = ring(keys, clock)
    hub.current, hub.published.certificates  # noqa: B018

    def no_disk(*args, **kwargs):
        raise AssertionError("the disk was touched between checks")

    monkeypatch.setattr(Path, "stat", no_disk)
    monkeypatch.setattr(Path, "read_bytes", no_disk)
    for _ in range(100):
        assert hub.current.certificate is not None and hub.published.certificates


def test_a_pair_caught_half_renamed_keeps_the_last_good_key(keys: Path) -> None:
    clock = HandClock()
    hub = ring(keys, clock)
    before, pem = hub.current.certificate, (keys / "hub-signing.crt").read_bytes()
    shutil.copy(keys / "hub-oidc-signing.crt", keys / "hub-signing.crt")  # a certificate of another key
    clock.now = 2.0
    assert hub.current.certificate == before
    (keys / "hub-signing.crt").write_bytes(pem)
    clock.now = 4.0
    assert hub.current.certificate == before


def test_an_unreadable_certificate_keeps_the_last_published_set(keys: Path) -> None:
    clock = HandClock()
    files = CertificateFiles([keys / "hub-signing.crt"], clock=clock)
    before = files.certificates
    (keys / "hub-signing.crt").write_text("not a certificate")
    clock.now = 5.0
    assert files.certificates == before


def test_every_entity_publishes_its_next_key(keys: Path) -> None:
    config = load_federation_config(DEMO_CONFIG, keys_dir=keys, variables={})
    clock = HandClock()
    published = PublishedSigningCertificates(config, clock=clock)
    idp = "https://stub-idp-one.federation.test"
    version = published.version
    issue_next(keys, "stub-idp-one")
    clock.now = 2.0
    assert len(published.of(idp)) == 2 and published.version > version
    assert published.of("https://nobody.example") == ()


def test_promote_refuses_without_a_next_key_and_retire_refuses_an_unpromoted_one(keys: Path) -> None:
    with pytest.raises(RotationError, match="no next key"):
        promote(keys, "hub")
    with pytest.raises(RotationError, match="no hub-signing-next.crt"):
        retire(keys, "hub")
    issue_next(keys, "test-rp")
    with pytest.raises(RotationError, match="already there"):
        issue_next(keys, "test-rp")
    with pytest.raises(RotationError, match="never promoted"):
        retire(keys, "test-rp")
    retire(keys, "test-rp", force=True)
    assert not (keys / "test-rp-signing-next.key").exists()
    with pytest.raises(RotationError, match="not a party"):
        promote(keys, "../hub")


def test_promote_refuses_a_next_key_that_does_not_match_its_certificate(keys: Path) -> None:
    issue_next(keys, "hub")
    shutil.copy(keys / "hub-signing.crt", keys / "hub-signing-next.crt")
    before = (keys / "hub-signing.key").read_bytes()
    with pytest.raises(RotationError, match="does not match"):
        promote(keys, "hub")
    assert (keys / "hub-signing.key").read_bytes() == before


def test_the_next_key_is_of_the_same_kind_from_the_same_ca(keys: Path) -> None:
    for party in ("hub", "test-rp", "metadata"):
        issue_next(keys, party)
        current = x509.load_pem_x509_certificate((keys / f"{party}-signing.crt").read_bytes())
        upcoming = x509.load_pem_x509_certificate((keys / f"{party}-signing-next.crt").read_bytes())
        assert upcoming.issuer == current.issuer
        assert type(upcoming.public_key()) is type(current.public_key())
        assert (keys / f"{party}-signing-next.key").stat().st_mode & 0o777 == 0o600


def test_the_command_line_steps(keys: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["next", str(keys), "stub-idp-two"]) == 0
    assert main(["promote", str(keys), "stub-idp-two"]) == 0
    assert main(["retire", str(keys), "stub-idp-two"]) == 0
    assert main(["retire", str(keys), "stub-idp-two"]) == 1
    assert "no stub-idp-two-signing-next.crt to retire" in capsys.readouterr().err
