"""The credential between the matching service and its local matcher: one shared bearer token.

The local matcher's JSON contract answers whether a person is in the department's records, and writes PID
links and accounts, so nobody but the matching service may call it. Both sides read the same secret, from
`LOCAL_MATCHING_TOKEN` (the token itself) or `LOCAL_MATCHING_TOKEN_FILE` (a file holding it, mode 0600:
the way to keep it out of the process environment in production); setting both is refused as ambiguous.
The matching service sends `Authorization: Bearer <token>` on every call; the matcher compares it in constant
time. Neither process starts without a usable token (the error is a ValueError, so `federation.serve`
reports it in one line and exits with status 2, like any other configuration mistake).
"""

from __future__ import annotations

import hmac
import logging
import re
import stat
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

TOKEN_SETTING = "LOCAL_MATCHING_TOKEN"  # noqa: S105 - the names of settings, not secrets
TOKEN_FILE_SETTING = "LOCAL_MATCHING_TOKEN_FILE"  # noqa: S105
MIN_TOKEN_CHARS = 32
# Visible ASCII, no spaces: it travels in an HTTP header. `secrets.token_urlsafe(32)` makes 43 such characters.
_TOKEN = re.compile(rf"[\x21-\x7e]{{{MIN_TOKEN_CHARS},}}")


class LocalMatchingTokenError(ValueError):
    """No usable token is configured: the process must not start."""


def load_local_matching_token(setting: Callable[[str], str | None]) -> str:
    """The token from the settings (`setting(name)`, e.g. `Runtime.setting`); raises LocalMatchingTokenError."""
    value, file_name = setting(TOKEN_SETTING), setting(TOKEN_FILE_SETTING)
    if value and file_name:
        raise LocalMatchingTokenError(f"set {TOKEN_SETTING} or {TOKEN_FILE_SETTING}, not both")
    if file_name:
        value, source = _read_token_file(Path(file_name)), f"{TOKEN_FILE_SETTING} ({file_name})"
    elif value:
        source = TOKEN_SETTING
    else:
        raise LocalMatchingTokenError(
            f"no local matching token: set {TOKEN_SETTING}, or {TOKEN_FILE_SETTING} to a file holding it "
            f"(the same secret for the matching service and its local matcher; make one with "
            f'python -c "import secrets; print(secrets.token_urlsafe(32))")'
        )
    if not _TOKEN.fullmatch(value):
        raise LocalMatchingTokenError(
            f"the token in {source} must be at least {MIN_TOKEN_CHARS} visible ASCII characters, without spaces"
        )
    return value


def _read_token_file(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalMatchingTokenError(f"cannot read {TOKEN_FILE_SETTING} {path}: {type(exc).__name__}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s %s can be read by other users: chmod 600 it", TOKEN_FILE_SETTING, path)
    return text.strip()


def bearer_token_matches(authorization: str | None, expected: str) -> str | None:
    """None when `authorization` (the header's value) carries the expected bearer token, else why not:
    "missing-credential", "not-bearer" or "wrong-token". The comparison takes the same time wherever the
    tokens differ (hmac.compare_digest), so timing tells a caller nothing about the token."""
    if not authorization or not authorization.strip():
        return "missing-credential"
    scheme, _, presented = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return "not-bearer"
    if not hmac.compare_digest(presented.strip().encode("utf-8", "replace"), expected.encode("ascii")):
        return "wrong-token"
    return None
