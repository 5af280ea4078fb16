"""The hub's session keys in a file, rotated while the hub runs: `HUB_SESSION_KEY_FILE`.

One key a line, 64 hex digits (AES-256); `#` starts a comment. The first key encrypts what the hub writes
(sessions, parked answers, OpenID Connect codes and tokens); every key decrypts, so what was written under
an older key still reads after a rotation. Every hub process reads the same file (the same content on
every server) and looks at it at most every `federation.keyring.CHECK_INTERVAL_SECONDS`.

    python -m hub.store.session_keys add FILE      a new key, last: it decrypts but does not encrypt yet
    python -m hub.store.session_keys promote FILE  the newest key moves first: it encrypts from now on
    python -m hub.store.session_keys retire FILE   only the first key is kept

A new key is added before it is promoted so that no process meets a session encrypted under a key it has
not read yet: wait a few seconds between `add` and `promote` (every process then has it), and a session
lifetime plus its grace between `promote` and `retire` (the sessions written under the old key have ended).
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from federation.keyring import CHECK_INTERVAL_SECONDS, Clock, FileWatch

log = logging.getLogger(__name__)

KEY_BYTES = 32


class SessionKeyFileError(ValueError):
    """The file is missing, unreadable, or holds something other than keys; the message says which line."""


def parse_keys(text: str, source: str) -> tuple[bytes, ...]:
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            key = bytes.fromhex(line)
        except ValueError:
            key = b""
        if len(key) != KEY_BYTES:
            raise SessionKeyFileError(f"{source} line {number}: a key must be 64 hex digits (256 bits)")
        keys.append(key)
    if not keys:
        raise SessionKeyFileError(f"{source}: holds no key")
    return tuple(dict.fromkeys(keys))


def read_keys(path: Path) -> tuple[bytes, ...]:
    try:
        text = Path(path).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise SessionKeyFileError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    return parse_keys(text, str(path))


class SessionKeyFile:
    """The keys in the file as it is now (first encrypts), re-read only when it changed; a file that no
    longer parses keeps the keys read before, with an error in the log."""

    def __init__(self, path: Path, *, interval: float = CHECK_INTERVAL_SECONDS, clock: Clock = time.monotonic):
        self.path = Path(path)
        self._watch = FileWatch((self.path,), interval, clock)
        stamps = self._watch.due()
        self._ciphers = self._load(read_keys(self.path))  # start-up: a bad file stops the hub with the reason
        if stamps is not None:
            self._watch.settle(stamps)

    @staticmethod
    def _load(keys: tuple[bytes, ...]) -> tuple[AESGCM, ...]:
        return tuple(AESGCM(key) for key in keys)

    def ciphers(self) -> tuple[AESGCM, ...]:
        stamps = self._watch.due()
        if stamps is not None:
            try:
                keys = read_keys(self.path)
            except SessionKeyFileError as exc:
                log.error("session keys not changed: %s; keeping the keys read before", exc)
            else:
                self._watch.settle(stamps)
                if len(keys) != len(self._ciphers):
                    log.info("session keys changed: %d key(s), the first encrypts", len(keys))
                self._ciphers = self._load(keys)
        return self._ciphers


# --- the rotation steps -------------------------------------------------------------------------------------


def _write(path: Path, keys: Sequence[bytes]) -> None:
    """Replace the file at once (a process never reads half of it), readable by its owner only."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write("# the hub's session keys: the first encrypts, all decrypt (hub/store/session_keys.py)\n")
        out.writelines(key.hex() + "\n" for key in keys)
    os.replace(tmp, path)


def add(path: Path) -> int:
    """A new random key after the others (decrypts only); a new file with one key if there is none.
    Returns how many keys the file holds."""
    path = Path(path)
    keys = read_keys(path) if path.exists() else ()
    keys = (*keys, secrets.token_bytes(KEY_BYTES))
    _write(path, keys)
    return len(keys)


def promote(path: Path) -> int:
    """The newest key (the last) moves first: it encrypts from now on."""
    keys = read_keys(path)
    if len(keys) < 2:
        raise SessionKeyFileError(f"{path}: one key only, nothing to promote (add one first)")
    _write(Path(path), (keys[-1], *keys[:-1]))
    return len(keys)


def retire(path: Path) -> int:
    """Keep only the first key: what was written under the others no longer decrypts."""
    keys = read_keys(path)
    if len(keys) < 2:
        raise SessionKeyFileError(f"{path}: one key only, nothing to retire")
    _write(Path(path), keys[:1])
    return len(keys) - 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hub.store.session_keys", description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=("add", "promote", "retire"))
    parser.add_argument("file", metavar="FILE", type=Path, help="the file HUB_SESSION_KEY_FILE names")
    args = parser.parse_args(argv)
    try:
        count = {"add": add, "promote": promote, "retire": retire}[args.step](args.file)
    except (SessionKeyFileError, OSError) as exc:
        print(f"session keys {args.step}: {exc}", file=sys.stderr)
        return 1
    done = {
        "add": f"added a key: {count} in {args.file}, the new one last (decrypts; promote it in a few seconds)",
        "promote": f"the newest of {count} keys now encrypts",
        "retire": f"retired {count} key(s): one left in {args.file}",
    }
    print(done[args.step])
    return 0


if __name__ == "__main__":
    sys.exit(main())
