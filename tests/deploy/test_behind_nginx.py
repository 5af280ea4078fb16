"""The deployment the guide describes, run for real: nginx (Debian's) in front of the hub over TLS, from the
template the repository ships (deploy/nginx/hub.conf), two hub workers on Redis behind it, and the rest of
the federation reaching the hub only through nginx.

The client trusts only the test's CA. It connects to nginx from 127.0.0.2 (or another loopback address),
never from nginx's own 127.0.0.1, so that what the hub believes about the client's address can be seen:
the hub keeps no client address in its logs (it is personal data) but uses it for its rate limit, whose
log line names the client by a keyed hash. So the tests check that the limit counts the address nginx
passes on, that neither the client's own X-Forwarded-For through nginx nor one sent to the hub directly
is believed, and that nginx's access log (the client's address) and the hub's log share the request ID.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests

from federation.launcher import ORDER, Federation, free_port, start_federation
from federation.runtime import REPO_DIR
from hub.rate_limit import MemoryRateCounter, RateLimiter
from matching_service.cli import main as matching_service_cli
from tests.deploy.deploy_support import (
    Nginx,
    SourceAddressAdapter,
    nginx_missing,
    port_in_range,
    session_from,
    write_test_tls,
)
from tests.e2e.journey import IDP_THREE, IDP_TWO, expected_hashed_pid, sign_in
from tests.faults.faults_support import SHARED_REDIS_URL, redis_answers, wait_for
from tests.support.browser_client import BrowserClient
from tests.support.federation_under_test import RECORDS, shared_hub_env

pytestmark = pytest.mark.e2e

RATE_LIMIT = 12  # per client per minute at /SAML2/SSO: low enough to reach, high enough for two journeys
JOURNEY_CLIENT = "127.0.0.2"
THROTTLED_CLIENT = "127.0.0.4"
OTHER_CLIENT = "127.0.0.5"


@dataclass
class Deployment:
    federation: Federation
    nginx: Nginx
    hub_url: str  # https, through nginx
    plain_url: str  # http, through nginx: only a redirect
    hub_direct: str  # the hub's own listener, bypassing nginx
    ca: Path
    secret: bytes

    def hub_log(self) -> str:
        return self.federation.log_path("hub").read_text(errors="replace")

    def nginx_lines(self, request_id: str) -> list[str]:
        """nginx's access log lines of a request (nginx writes one just after it has answered)."""

        def lines() -> list[str]:
            return [line for line in self.nginx.access_log().splitlines() if line.endswith(" " + request_id)]

        wait_for(lambda: bool(lines()), timeout=5, interval=0.05)
        return lines()

    def client_hash(self, address: str) -> str:
        """How the hub's rate-limit log line names a client."""
        return RateLimiter(MemoryRateCounter(), per_window=1, secret=self.secret).client_hash(address)


@contextmanager
def _federation(var_dir: Path, keys_dir: Path, ports: dict[str, int], env: dict[str, str]) -> Iterator[Federation]:
    """The demo federation on the ports given (the hub's is the one nginx proxies to), stopped afterwards."""
    var_dir.mkdir()
    matching_service_cli(["import", RECORDS, "--database", str(var_dir / "matching-service.sqlite3")])
    env = {"STUB_IDP_HEADLESS": "1", **env}
    running = start_federation(ports=ports, keys_dir=keys_dir, var_dir=var_dir, extra_env=env)
    try:
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="module")
def deployment(keys_dir, tmp_path_factory) -> Iterator[Deployment]:
    if reason := nginx_missing():
        pytest.skip(reason)
    if not redis_answers(SHARED_REDIS_URL):
        pytest.skip(f"no Redis answers at {SHARED_REDIS_URL}: start one with `make redis`")
    directory = tmp_path_factory.mktemp("behind-nginx")
    ca, certificate, key = write_test_tls(directory / "tls")
    taken: set[int] = set()
    https_port, http_port = port_in_range(taken), port_in_range(taken)
    hub_port = free_port()
    nginx = Nginx(
        directory / "nginx",
        {
            "SERVER_NAME": "127.0.0.1",
            "HTTPS_PORT": str(https_port),
            "HTTP_PORT": str(http_port),
            "TLS_CERTIFICATE": str(certificate),
            "TLS_CERTIFICATE_KEY": str(key),
            "HUB_ADDRESS": f"127.0.0.1:{hub_port}",
            "REPOSITORY": str(REPO_DIR),
        },
    )
    checked = nginx.check()
    assert checked.returncode == 0, checked.stderr
    prefix = f"test-deploy-{uuid.uuid4().hex}:"
    hub_secrets = shared_hub_env()
    hub_url = f"https://127.0.0.1:{https_port}"
    env = {
        "HUB_URL": hub_url,  # every party, and every citizen, reaches the hub through nginx
        "REDIS_URL": SHARED_REDIS_URL,
        "HUB_REDIS_PREFIX": prefix + "hub:",
        "MATCHING_SERVICE_REDIS_URL": SHARED_REDIS_URL,
        "MATCHING_SERVICE_REDIS_PREFIX": prefix + "ms:",
        "HUB_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT),
        "REQUESTS_CA_BUNDLE": str(ca),  # the parties fetch the hub's metadata over https from nginx
        **hub_secrets,
    }
    ports = {name: free_port() for name in ORDER} | {"hub": hub_port}
    nginx.start(https_port)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("REQUESTS_CA_BUNDLE", str(ca))  # this process's health checks go through nginx too
            with _federation(directory / "var", keys_dir, ports, env) as federation:
                # the hub again, as deploy/env/hub.env runs it: two workers, believing nginx only
                federation.stop("hub")
                federation.start("hub", extra_env={"SERVE_WORKERS": "2", "TRUSTED_PROXY": "127.0.0.1"})
                yield Deployment(
                    federation=federation,
                    nginx=nginx,
                    hub_url=hub_url,
                    plain_url=f"http://127.0.0.1:{http_port}",
                    hub_direct=f"http://127.0.0.1:{hub_port}",
                    ca=ca,
                    secret=bytes.fromhex(hub_secrets["HUB_SECRET"]),
                )
    finally:
        nginx.stop()
        with redis.Redis.from_url(SHARED_REDIS_URL) as client:
            keys = list(client.scan_iter(match=prefix + "*"))
            if keys:
                client.delete(*keys)


def _worker_pids(supervisor: int) -> list[int]:
    return [int(pid) for pid in Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()]


def test_full_matched_journeys_over_tls_through_nginx_to_two_hub_workers(deployment):
    hub = deployment.federation.processes["hub"]
    assert len(_worker_pids(hub.pid)) == 2, "the hub runs two worker processes"
    for username, idp_name, display in (("alice", "stub-idp-two", IDP_TWO), ("tom", "stub-idp-three", IDP_THREE)):
        browser = BrowserClient()
        browser.http.mount(deployment.hub_url + "/", SourceAddressAdapter(JOURNEY_CLIENT))
        page = sign_in(browser, deployment.federation, username, display)
        assert "signed in" in page.text.lower(), (page.url, page.heading)
        assert expected_hashed_pid(idp_name, username) in page.text
        hub_exchanges = [e for e in browser.exchanges if e.url.startswith(deployment.hub_url)]
        assert hub_exchanges, "the journey went through nginx"
        # X-Forwarded-Proto believed: the hub's cookies are Secure
        hub_cookies = [c for c in browser.http.cookies if c.domain.startswith("127.0.0.1")]
        assert hub_cookies and all(c.secure for c in hub_cookies), [(c.name, c.secure) for c in hub_cookies]
        browser.http.close()
    # each company's answer reached the hub through nginx, from the client's address
    answers = [
        line
        for line in deployment.nginx.access_log().splitlines()
        if line.startswith(f"{JOURNEY_CLIENT} [") and '"POST /SAML2/SSO/Response/POST" 303' in line
    ]
    assert len(answers) == 2, deployment.nginx.access_log()[-3000:]


def test_the_request_id_joins_nginx_log_and_hub_log(deployment):
    forged = "forged-request-id-1234"
    with session_from(JOURNEY_CLIENT, deployment.hub_url + "/") as client:
        answer = client.get(deployment.hub_url + "/cookies", headers={"X-Request-ID": forged}, timeout=30)
    assert answer.status_code == 200
    request_id = answer.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id), "nginx's $request_id, believed from the trusted proxy"
    assert forged not in deployment.hub_log(), "the client's own X-Request-ID is overwritten by nginx"
    access_lines = deployment.nginx_lines(request_id)
    assert len(access_lines) == 1 and access_lines[0].startswith(f"{JOURNEY_CLIENT} ["), access_lines
    assert f"[{request_id}]: request GET /cookies 200" in deployment.hub_log()


def test_static_assets_come_from_nginx(deployment):
    with session_from(JOURNEY_CLIENT, deployment.hub_url + "/") as client:
        page = client.get(deployment.hub_url + "/cookies", timeout=30)
        css = client.get(deployment.hub_url + "/static/govuk/govuk-frontend.min.css", timeout=30)
        script = client.get(deployment.hub_url + "/static/federation/federation-web.js", timeout=30)
    assert "X-Request-ID" in page.headers, "an answer of the hub carries its request ID"
    for answer, path in (
        (css, REPO_DIR / "hub/static/govuk/govuk-frontend.min.css"),
        (script, REPO_DIR / "federation/web/static/federation-web.js"),
    ):
        assert answer.status_code == 200
        assert answer.content == path.read_bytes()
        assert answer.headers["Server"] == "nginx"
        assert "X-Request-ID" not in answer.headers, "answered by nginx, never by the hub"
        assert "max-age=3600" in answer.headers["Cache-Control"]
    assert "/static/" not in deployment.hub_log(), "the hub never saw a request for a static asset"


def _until_limited(session: requests.Session, url: str, headers: dict[str, str]) -> requests.Response:
    """GET `url` until the rate limit answers 429 (a new minute may reset the count once)."""
    for _ in range(2 * RATE_LIMIT + 2):
        answer = session.get(url, headers=headers, timeout=30)
        if answer.status_code == 429:
            return answer
    raise AssertionError(f"never rate limited at {url}")


def test_the_hub_believes_the_client_address_nginx_passes_and_no_spoofed_one(deployment):
    sso = "/SAML2/SSO"  # a limited endpoint: without a message each request is a 400 until the limit
    with session_from(THROTTLED_CLIENT, deployment.hub_url + "/", deployment.hub_direct + "/") as throttled:
        # the client claims another address: nginx overwrites X-Forwarded-For with the one it sees
        limited = _until_limited(throttled, deployment.hub_url + sso, {"X-Forwarded-For": OTHER_CLIENT})
        request_id = limited.headers["X-Request-ID"]
        hub_log = deployment.hub_log()
        limited_line = next(line for line in hub_log.splitlines() if f"[{request_id}]: rate limited" in line)
        assert f"(client {deployment.client_hash(THROTTLED_CLIENT)})" in limited_line, limited_line
        assert deployment.client_hash(OTHER_CLIENT) not in hub_log
        assert [line.split(" ")[0] for line in deployment.nginx_lines(request_id)] == [THROTTLED_CLIENT], (
            "nginx's log has the client's address under the hub's request ID"
        )
        # still the throttled address, whatever it claims, through nginx or straight to the hub
        again = throttled.get(deployment.hub_url + sso, headers={"X-Forwarded-For": OTHER_CLIENT}, timeout=30)
        assert again.status_code == 429
        direct = throttled.get(
            deployment.hub_direct + sso,
            headers={"X-Forwarded-For": OTHER_CLIENT, "X-Forwarded-Proto": "https"},
            timeout=30,
        )
        assert direct.status_code == 429, "forwarding headers from anyone but nginx are dropped"
    # the other address is its own client, with its own count
    with session_from(OTHER_CLIENT, deployment.hub_url + "/") as other:
        assert other.get(deployment.hub_url + sso, timeout=30).status_code != 429


def test_https_only_as_nginx_says_it(deployment):
    with session_from(JOURNEY_CLIENT, deployment.plain_url + "/") as client:
        plain = client.get(deployment.plain_url + "/cookies", allow_redirects=False, timeout=30)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://127.0.0.1")
    path = "/cookies?lang=cy"  # sets the language cookie, Secure on https
    with session_from(THROTTLED_CLIENT, deployment.hub_url + "/", deployment.hub_direct + "/") as client:
        through_nginx = client.get(deployment.hub_url + path, timeout=30)
        spoofed = client.get(deployment.hub_direct + path, headers={"X-Forwarded-Proto": "https"}, timeout=30)
    assert "Secure" in through_nginx.headers["Set-Cookie"]
    assert "Strict-Transport-Security" in through_nginx.headers
    # straight to the hub, a client's claim of https is not believed
    assert spoofed.status_code == 200 and "Secure" not in spoofed.headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in spoofed.headers
