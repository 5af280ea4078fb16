"""HTTP security headers for every citizen-facing response.

The Content-Security-Policy has no 'unsafe-inline': styles and scripts come from our own origin, and the
one inline script in GOV.UK Frontend's page template (it adds the ``js-enabled`` class before first paint)
is allowed by its SHA-256 hash, computed from the template we actually render. ``form-action`` lists
only our own origin plus the origins the app names (the IDPs, services and hub it POSTs SAML messages to),
so an injected form cannot post the citizen's data anywhere else.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Callable, Iterable
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


def csp_for_origins(inline_script_hashes: Iterable[str]) -> Callable[[Iterable[str]], str]:
    """`content_security_policy` for these script hashes, remembered per distinct list of origins: an app
    whose origins follow refreshed metadata asks on every response, and the list changes only on a refresh.
    The origins are configuration (metadata, the federation config), never anything a request carries."""
    hashes = tuple(inline_script_hashes)

    @functools.lru_cache(maxsize=64)
    def for_tuple(origins: tuple[str, ...]) -> str:
        return content_security_policy(origins, hashes)

    return lambda origins: for_tuple(tuple(origins))


_CSP = "Content-Security-Policy"
# the order in which the headers have always been added (after the CSP), and their values
_ALWAYS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    # same-origin rather than no-referrer: with no-referrer browsers send "Origin: null" even on
    # same-origin POSTs, which would defeat an Origin-based CSRF check; cross-origin requests still get
    # no Referer, so the hub's URLs never leak to IDPs or services.
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
_HSTS = (("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),)
_NO_CACHE = (("Cache-Control", "no-store"), ("Pragma", "no-cache"))
_OURS = frozenset({_CSP.lower(), *(name.lower() for name, _ in (*_ALWAYS, *_HSTS, *_NO_CACHE))})


def apply_security_headers(response: Response, csp: str, *, secure: bool | None = None) -> Response:
    """Headers for every response; HTML is never cached (it carries SAML messages and personal data).

    `secure`: whether the request came over https (Strict-Transport-Security); read from the current
    request when not given. A header of ours the response already has is replaced, as `Headers.set` does;
    the others (the usual case) are appended in one step, without a scan of the list for each."""
    if secure is None:
        secure = has_request_context() and request.is_secure
    headers = response.headers
    listed = headers._list  # werkzeug's (name, value) list behind Headers; pinned werkzeug, checked by the tests
    content_type = None
    for name, value in listed:
        lowered = name.lower()
        if lowered in _OURS:
            return _apply_replacing(response, csp, secure)
        if lowered == "content-type" and content_type is None:
            content_type = value
    if _NEWLINE.search(csp) is not None:  # what Headers.set would refuse
        raise ValueError("Header values must not contain newline characters.")
    listed.append((_CSP, csp))
    listed.extend(_ALWAYS)
    if secure:
        listed.extend(_HSTS)
    if content_type is not None and content_type.partition(";")[0].strip() == "text/html":  # as Response.mimetype
        listed.extend(_NO_CACHE)
    return response


_NEWLINE = re.compile(r"[\r\n]")


def _apply_replacing(response: Response, csp: str, secure: bool) -> Response:
    """The same headers through `Headers.set`, for a response that already has one of them."""
    headers = response.headers
    headers[_CSP] = csp
    for name, value in _ALWAYS:
        headers[name] = value
    if secure:
        for name, value in _HSTS:
            headers[name] = value
    if response.mimetype == "text/html":
        for name, value in _NO_CACHE:
            headers[name] = value
    return response
