"""HTTP security headers for every citizen-facing response.

The Content-Security-Policy has no 'unsafe-inline': styles and scripts come from our own origin, and the
one inline script in GOV.UK Frontend's page template (it adds the ``js-enabled`` class before first paint)
is allowed by its SHA-256 hash, computed from the template we actually render. ``form-action`` lists
only our own origin plus the origins the app names (the IDPs, services and hub it POSTs SAML messages to),
so an injected form cannot post the citizen's data anywhere else.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from flask import Response, has_request_context, request

_INLINE_SCRIPT = re.compile(r"<script(?:\s+nonce=\"[^\"]*\")?>(.*?)</script>", re.DOTALL)
_ORIGIN_HOST = re.compile(r"^[A-Za-z0-9.\-\[\]:]+$")


def normalise_origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, refusing anything that could smuggle a CSP directive."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL for form-action: {url!r}")
    if "@" in parts.netloc or not _ORIGIN_HOST.match(parts.netloc):
        raise ValueError(f"unexpected characters in form-action origin: {url!r}")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def script_hashes(rendered_html: str) -> tuple[str, ...]:
    """CSP source expressions (``'sha256-...'``) for each inline script in a rendered page."""
    hashes = []
    for body in _INLINE_SCRIPT.findall(rendered_html):
        digest = base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
        hashes.append(f"'sha256-{digest}'")
    return tuple(dict.fromkeys(hashes))


def content_security_policy(form_action_origins: Iterable[str], inline_script_hashes: Iterable[str]) -> str:
    origins = sorted({normalise_origin(url) for url in form_action_origins})
    scripts = " ".join(["'self'", *inline_script_hashes])
    directives = [
        "default-src 'self'",
        f"script-src {scripts}",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action " + " ".join(["'self'", *origins]),
    ]
    return "; ".join(directives)


def apply_security_headers(response: Response, csp: str) -> Response:
    """Headers for every response; HTML is never cached (it carries SAML messages and personal data)."""
    headers = response.headers
    headers["Content-Security-Policy"] = csp
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    # same-origin rather than no-referrer: with no-referrer browsers send "Origin: null" even on
    # same-origin POSTs, which would defeat an Origin-based CSRF check; cross-origin requests still get
    # no Referer, so the hub's URLs never leak to IDPs or services.
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if has_request_context() and request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if response.mimetype == "text/html":
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response
