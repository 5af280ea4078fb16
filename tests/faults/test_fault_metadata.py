"""Federation metadata refreshes that fail, or arrive with a broken signature: every party keeps the last
good copy, and whole journeys keep working meanwhile.

The hub runs behind a small reverse proxy in this test process, on the hub's public port. The proxy passes
everything through, except that it can answer the metadata URL with an error or with the hub's metadata
altered in transit (an IDP's SSO URL moved elsewhere, so the signature no longer verifies): a stand-in
for a broken network path or an attacker in it. The parties refresh every second (a config copy).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from federation.demo import DEMO_CONFIG
from federation.launcher import Federation
from tests.e2e.journey import sign_in
from tests.faults.faults_support import log_text, running_federation, wait_for

pytestmark = pytest.mark.e2e

METADATA_PATH = "/SAML2/metadata/federation"
PARTIES = ("stub_idps", "matching_service", "relying_party_example")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}


class MetadataTamperingProxy:
    def __init__(self, port: int, backend: str) -> None:
        self.mode = "pass"  # or "error", "tampered"
        self.backend = backend
        self.http = requests.Session()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                status, headers, content = proxy.answer(self.command, self.path, self.headers, body)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = _forward  # noqa: N815 - http.server's names

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, method: str, path: str, headers, body: bytes | None) -> tuple[int, list, bytes]:
        if path.startswith(METADATA_PATH) and self.mode == "error":
            return 503, [("Content-Type", "text/plain")], b"metadata unavailable"
        forwarded = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        reply = self.http.request(
            method, self.backend + path, data=body, headers=forwarded, allow_redirects=False, timeout=30
        )
        content = reply.content
        if path.startswith(METADATA_PATH) and self.mode == "tampered":
            assert b"/stub-idp-two/SAML2/SSO" in content
            content = content.replace(b"/stub-idp-two/SAML2/SSO", b"/stub-idp-evil/SAML2/SSO")
        return (
            reply.status_code,
            [(k, v) for k, v in reply.raw.headers.items() if k.lower() not in _HOP_BY_HOP],
            content,
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.http.close()


@pytest.fixture(scope="module")
def federation(keys_dir, tmp_path_factory) -> Iterator[Federation]:
    var_dir = tmp_path_factory.mktemp("metadata-faults")
    text = DEMO_CONFIG.read_text()
    assert "refresh_interval_seconds: 300" in text
    config = var_dir / "federation-fast-refresh.yaml"
    config.write_text(text.replace("refresh_interval_seconds: 300", "refresh_interval_seconds: 1"))
    with running_federation(var_dir, keys_dir, FEDERATION_CONFIG=str(config)) as running:
        yield running


@pytest.fixture(scope="module")
def proxy(federation) -> Iterator[MetadataTamperingProxy]:
    """The real hub moved to a port of its own, the proxy on the hub's public port in front of it."""
    federation.stop("hub")
    backend = federation.start_extra("hub", name="hub-behind-proxy")
    running = MetadataTamperingProxy(federation.ports["hub"], backend)
    try:
        yield running
    finally:
        running.close()


def _logs(federation: Federation) -> dict[str, int]:
    return {name: len(log_text(federation, name)) for name in PARTIES}


def _all_logged(federation: Federation, since: dict[str, int], text: str) -> bool:
    return all(text in log_text(federation, name)[since[name] :] for name in PARTIES)


@pytest.mark.parametrize(
    ("mode", "logged"),
    [
        ("tampered", "federation metadata refresh refused (signature-invalid)"),
        ("error", "federation metadata refresh failed: HTTPError"),
    ],
)
def test_bad_refresh_keeps_the_last_good_copy(federation, proxy, browser, mode, logged):
    proxy.mode = "pass"
    assert "signed in" in sign_in(browser, federation, "alice").text.lower()
    since = _logs(federation)
    proxy.mode = mode
    try:
        assert wait_for(lambda: _all_logged(federation, since, logged), timeout=15), {
            name: log_text(federation, name)[since[name] :][-1500:] for name in PARTIES
        }
        page = sign_in(browser, federation, "alice")  # while every refresh is still refused
        assert "signed in" in page.text.lower(), page.heading
        assert not any("stub-idp-evil" in p.url for p in browser.history)
        assert _all_logged(federation, since, "keeping the last good copy")
    finally:
        proxy.mode = "pass"
