"""X-Forwarded-* believed from the trusted proxy only (federation/proxy_headers.py), under any server."""

from __future__ import annotations

import pytest
from flask import Flask, jsonify, request

from federation.proxy_headers import TrustedProxyHeaders

PROXY = "10.0.0.5"
FORWARDED = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "hub.example.test",
    "X-Forwarded-Prefix": "/evil",
    "X-Real-IP": "198.51.100.1",
    "Forwarded": "for=198.51.100.2",
}


def seen_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def seen():
        return jsonify(
            addr=request.remote_addr,
            secure=request.is_secure,
            host=request.host,
            root=request.script_root,
            forwarded=sorted(k for k in request.headers.keys() if "forward" in k.lower() or "real" in k.lower()),
        )

    return app


def ask(trusted: str | None, peer: str) -> dict:
    app = seen_app()
    app.wsgi_app = TrustedProxyHeaders(app.wsgi_app, trusted)
    response = app.test_client().get("/", headers=FORWARDED, environ_base={"REMOTE_ADDR": peer})
    return response.get_json()


def test_the_trusted_proxy_is_believed_on_for_proto_and_host_only():
    seen = ask(PROXY, PROXY)
    assert seen["addr"] == "203.0.113.7" and seen["secure"] is True and seen["host"] == "hub.example.test"
    assert seen["root"] == ""  # X-Forwarded-Prefix is not believed, even from the proxy


@pytest.mark.parametrize(("trusted", "peer"), [(PROXY, "10.0.0.6"), (None, PROXY), (None, "127.0.0.1")])
def test_anyone_else_has_every_forwarding_header_dropped(trusted, peer):
    seen = ask(trusted, peer)
    assert seen == {"addr": peer, "secure": False, "host": "localhost", "root": "", "forwarded": []}


def test_a_trusted_proxy_must_be_an_address():
    with pytest.raises(ValueError, match="TRUSTED_PROXY must be an IP address"):
        TrustedProxyHeaders(seen_app(), "proxy.example.test")


def test_an_ipv6_proxy_is_matched_in_any_spelling():
    assert ask("[::1]", "0:0:0:0:0:0:0:1")["addr"] == "203.0.113.7"
