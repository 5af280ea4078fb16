"""X-Forwarded-* headers believed from the trusted proxy only, and dropped from everyone else.

Behind a reverse proxy or load balancer the operator names its address in TRUSTED_PROXY: a request from
that address gets its client address (the hub's rate limits, the stub IDPs' records), scheme (Secure
cookies, HSTS) and host from the proxy's X-Forwarded-For, -Proto and -Host (the last hop only). From any
other address, and when no proxy is named, every forwarding header is removed before the app sees the
request, so a client cannot claim another address or https. Done here, in WSGI, it works the same
under any server.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

# what a client or a proxy may send to change what the app believes about a request
FORWARDING_HEADERS = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
    "HTTP_X_FORWARDED_SCHEME",
    "HTTP_X_FORWARDED_SSL",
    "HTTP_X_REAL_IP",
)
# what the trusted proxy is believed on
TRUSTED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST")


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


class TrustedProxyHeaders:
    """WSGI middleware: believe the trusted proxy's X-Forwarded-For/Proto/Host, drop forwarding headers
    from anyone else."""

    def __init__(self, app: Any, trusted_proxy: str | None) -> None:
        self.app = app
        self.trusted = None
        if trusted_proxy:
            self.trusted = _address(trusted_proxy)
            if self.trusted is None:
                raise ValueError(f"TRUSTED_PROXY must be an IP address, got {trusted_proxy!r}")
        self._fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=1, x_port=0, x_prefix=0)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        trusted = self.trusted is not None and _address(environ.get("REMOTE_ADDR", "")) == self.trusted
        for header in FORWARDING_HEADERS:
            if not (trusted and header in TRUSTED_HEADERS):
                environ.pop(header, None)
        if trusted:
            return self._fixed(environ, start_response)
        return self.app(environ, start_response)
