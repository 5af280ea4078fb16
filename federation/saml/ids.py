"""Message IDs and xs:dateTime handling, in one place so every message uses UTC with a `Z`."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from federation.logsafe import log_safe
from federation.saml.errors import SamlValidationError

# xs:dateTime as SAML requires it: UTC, optional fraction; we accept `Z` or an explicit offset.
_DATETIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def new_id() -> str:
    """A fresh message ID: 160 random bits, starting with `_` so it is a valid xs:ID (NCName)."""
    return "_" + secrets.token_hex(20)


def now_utc() -> datetime:
    return datetime.now(UTC)


def instant(dt: datetime) -> str:
    """xs:dateTime in UTC with millisecond precision and a `Z`; naive datetimes are refused."""
    if dt.tzinfo is None:
        raise ValueError("instant() needs a timezone-aware datetime")
    utc = dt.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_instant(text: str | None, *, field: str) -> datetime:
    """Parse an xs:dateTime attribute; anything else is a `bad-datetime` refusal naming the field."""
    if text is None:
        raise SamlValidationError("missing-" + field.lower(), f"{field} is missing", detail=field)
    match = _DATETIME.match(text.strip())
    if match is None:
        raise SamlValidationError("bad-datetime", f"{field} is not an xs:dateTime", detail=_bad_instant(text, field))
    base, frac, zone = text.strip()[:19], match.group(7) or "", match.group(8)
    micro = (frac[1:] + "000000")[:6] if frac else "000000"
    offset = "+00:00" if zone == "Z" else zone
    try:
        parsed = datetime.fromisoformat(f"{base}.{micro}{offset}")
    except ValueError:
        detail = _bad_instant(text, field)
        raise SamlValidationError("bad-datetime", f"{field} is not a valid date and time", detail=detail) from None
    return parsed.astimezone(UTC)


def _bad_instant(text: str, field: str) -> str:
    """The refusal's detail, written only when there is a refusal (escaping costs more than the parse)."""
    return f"{field} {log_safe(text)} (expected UTC xs:dateTime, e.g. 2024-06-11T09:30:00Z)"
