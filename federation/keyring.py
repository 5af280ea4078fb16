"""Signing keys and certificates that change under a running process: a key rotation without a restart.

A party's signing key is a pair of files, `<stem>.key` and `<stem>.crt` (e.g. `hub-signing`): the current
key, which signs. During a rotation a second pair sits beside it, `<stem>-next.key` and `<stem>-next.crt`:
the next key, published (in the federation metadata, or to the hub for a service) but not yet signing.
`federation-keys next|promote|retire` (keys/rotate.py) move the files; the processes notice by themselves.

Each watched set of files is looked at (one `stat` per file, nothing read) at most once every
`CHECK_INTERVAL_SECONDS`, by whichever request thread comes first; only when a file changed is it read and
parsed again. A pair that does not load (caught between two renames, or a key that does not match its
certificate) is logged and the last good one kept; the next check tries again. So a promotion reaches every
process of every server within a few seconds, and no signature ever waits on the disk.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from cryptography import x509

from federation.config import FederationConfig
from federation.credentials import CredentialError, SigningCredential, read_signing_credential

log = logging.getLogger(__name__)

CHECK_INTERVAL_SECONDS = 2.0
NEXT_SUFFIX = "-next"

Clock = Callable[[], float]
_Stamp = tuple[int, int, int] | None


def next_path(path: Path) -> Path:
    """`hub-signing.crt` -> `hub-signing-next.crt` (and the same for `.key`)."""
    return path.with_name(f"{path.stem}{NEXT_SUFFIX}{path.suffix}")


def _stamp(path: Path) -> _Stamp:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


def _unique(paths: Iterable[Path]) -> tuple[Path, ...]:
    seen: dict[Path, None] = {}
    for path in paths:
        seen.setdefault(Path(path).resolve(), None)
    return tuple(seen)


class FileWatch:
    """Files looked at (stat only) at most once an interval: `due()` gives their stamps when one differs
    from those last acknowledged with `settle()` (after a successful read)."""

    def __init__(self, paths: Sequence[Path], interval: float, clock: Clock) -> None:
        self.paths = tuple(paths)
        self._interval = interval
        self._clock = clock
        self._next_check = float("-inf")
        self._seen: tuple[_Stamp, ...] | None = None
        self._lock = threading.Lock()

    def due(self) -> tuple[_Stamp, ...] | None:
        """The files' stamps if it is time to look and one changed; None otherwise (and never blocks)."""
        now = self._clock()
        if now < self._next_check or not self._lock.acquire(blocking=False):
            return None
        try:
            self._next_check = now + self._interval
            stamps = tuple(_stamp(path) for path in self.paths)
            return None if stamps == self._seen else stamps
        finally:
            self._lock.release()

    def settle(self, stamps: tuple[_Stamp, ...]) -> None:
        self._seen = stamps


class CertificateFiles:
    """The certificates an entity publishes, from the files that exist among `paths`, kept current.

    A file that is absent is skipped (the next slot between rotations); one that does not parse keeps the
    last good copy. `version` grows each time the set changes, so a document built from it (the signed
    federation metadata) knows when to be built again."""

    def __init__(
        self, paths: Sequence[Path], *, interval: float = CHECK_INTERVAL_SECONDS, clock: Clock = time.monotonic
    ) -> None:
        self._watch = FileWatch(_unique(paths), interval, clock)
        self._certificates: tuple[x509.Certificate, ...] = ()
        self.version = 0
        self._refresh(force=True)

    @property
    def paths(self) -> tuple[Path, ...]:
        return self._watch.paths

    @property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        self._refresh()
        return self._certificates

    def _refresh(self, force: bool = False) -> None:
        stamps = tuple(_stamp(p) for p in self.paths) if force else self._watch.due()
        if stamps is None:
            return
        loaded = []
        for path, stamp in zip(self.paths, stamps, strict=True):
            if stamp is None:
                continue
            try:
                loaded.append(x509.load_pem_x509_certificate(path.read_bytes()))
            except (OSError, ValueError):
                log.error("certificate %s cannot be read; keeping the certificates loaded before", path.name)
                return  # not settled: tried again at the next check
        certificates = tuple(dict.fromkeys(loaded))  # the same certificate listed twice is published once
        self._watch.settle(stamps)
        if certificates != self._certificates:
            if self.version:
                present = [path.name for path, stamp in zip(self.paths, stamps, strict=True) if stamp]
                log.info("certificates changed, now published: %s", ", ".join(present))
            self._certificates = certificates
            self.version += 1


class SigningKeyRing:
    """A party's own signing key: `current` signs; `published` is the current certificate, the next one
    when it is there, and any other certificate the config lists for the party."""

    def __init__(
        self,
        key_path: Path,
        cert_path: Path,
        *,
        also_published: Sequence[Path] = (),
        interval: float = CHECK_INTERVAL_SECONDS,
        clock: Clock = time.monotonic,
    ) -> None:
        self.key_path, self.cert_path = Path(key_path), Path(cert_path)
        self._watch = FileWatch((self.key_path, self.cert_path), interval, clock)
        stamps = self._watch.due() or ()
        self._current = read_signing_credential(self.key_path, self.cert_path)  # start-up: a bad pair is fatal
        self._watch.settle(stamps)
        self.published = CertificateFiles(
            [cert_path, next_path(self.cert_path), *also_published], interval=interval, clock=clock
        )

    @property
    def current(self) -> SigningCredential:
        stamps = self._watch.due()
        if stamps is not None:
            try:
                credential = read_signing_credential(self.key_path, self.cert_path)
            except CredentialError as exc:
                log.error("signing key not changed: %s; still signing with the key loaded before", exc)
            else:
                self._watch.settle(stamps)
                if credential.certificate != self._current.certificate:
                    log.info(
                        "now signing with the key of %s (serial %x)",
                        self.cert_path.name,
                        credential.certificate.serial_number,
                    )
                self._current = credential
        return self._current


def published_paths(configured: Sequence[Path]) -> list[Path]:
    """The certificate files an entity publishes: those its config lists, and the next beside the first."""
    return [*configured, next_path(configured[0])] if configured else []


class PublishedSigningCertificates:
    """Every entity's published signing certificates, as its files hold them now: the ones the federation
    config lists, and the next one beside the first. The hub publishes the hub's and the identity providers'
    in the federation metadata and checks services' and matching services' signatures against theirs."""

    def __init__(
        self, config: FederationConfig, *, interval: float = CHECK_INTERVAL_SECONDS, clock: Clock = time.monotonic
    ) -> None:
        entities = (config.hub, *config.identity_providers, *config.relying_parties, *config.matching_services)
        self._by_entity = {
            entity.entity_id: CertificateFiles(
                published_paths([cert.path for cert in entity.signing_certificates]), interval=interval, clock=clock
            )
            for entity in entities
            if entity.signing_certificates
        }

    def of(self, entity_id: str) -> tuple[x509.Certificate, ...]:
        files = self._by_entity.get(entity_id)
        return files.certificates if files is not None else ()

    @property
    def version(self) -> int:
        """Grows whenever any entity's published set changes (looked at no more often than the interval)."""
        total = 0
        for files in self._by_entity.values():
            files.certificates  # noqa: B018 - looks at the files if it is time
            total += files.version
        return total
