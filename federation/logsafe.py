"""Render a value that came from a caller (a JSON field, a SAML ID, an Issuer, a URL path) for a log line.

A caller who controls text that is logged verbatim can forge log lines (a newline, then a line of their own),
hide the rest of a line (a carriage return, terminal escape sequences), or flood the log (a megabyte ID). Every
log call that includes such a value passes it through `log_safe`, which returns a quoted, repr-like rendering:
printable ASCII only, with backslash, quote and everything else escaped (`\\n`, `\\x1b`, `\\u2028`), cut at
`max_chars` characters with the number left out said after the closing quote. The quotes show where a
caller's value starts and ends, so it can never pass for the text around it.

    log.info("local match %s: %s", log_safe(match_id), result)   # local match 'x\\nFORGED': match
"""

from __future__ import annotations

MAX_CHARS = 80
_SHORT_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(character: str) -> str:
    if character in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[character]
    if " " <= character <= "~":
        return character
    code = ord(character)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def log_safe(value: object, *, max_chars: int = MAX_CHARS) -> str:
    """`value` quoted and escaped for a log line (see the module docstring); None is rendered as None.

    Anything but text or bytes is turned into text with str() first; bytes are read as Latin-1, so each
    byte stays one (escaped) character and nothing can fail to decode."""
    if value is None:
        return "None"
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("latin-1")
    elif isinstance(value, str):
        text = value
    else:
        text = str(value)
    shown = "".join(_escape(ch) for ch in text[:max_chars])
    cut = len(text) - max_chars
    return f"'{shown}'" + (f"...(+{cut} chars)" if cut > 0 else "")
