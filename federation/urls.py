"""URLs that may carry credentials (Redis, PostgreSQL), shown without them."""

from __future__ import annotations

from urllib.parse import urlsplit


def redacted_url(url: str) -> str:
    """The URL without user name, password or query (which may hold a password), for logs and messages."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a malformed port: say so without echoing the rest
        port = ":?"
    return f"{parts.scheme}://{host}{port}{parts.path}"
