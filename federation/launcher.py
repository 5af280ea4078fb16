"""Start the whole federation as processes on localhost, and stop it: used by `make demo` and the tests.

The hub is addressed as 127.0.0.1 and the identity providers as localhost, two different sites, as in real
life: the IDP's POST back to the hub is then cross-site and a SameSite=Lax cookie would not come with it.
By default the matching service runs the built-in local matcher inside its own process
(LOCAL_MATCHING_URL=builtin:): no listener and no token. With `separate_local_matcher=True` the local
matcher is a process of its own (LOCAL_MATCHER_URL), started before the matching service, which calls it
over HTTP as it would a department's own matcher; the two share a bearer token (a fresh one per federation
unless the environment names one), which no other process is given.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import requests

from federation.config import BUILTIN_LOCAL_MATCHER
from federation.runtime import REPO_DIR

ORDER = ("local_matcher", "matching_service", "stub_idps", "hub", "hub_operator", "relying_party_example")
DEMO_PORTS = {
    "hub": 8080,
    "stub_idps": 8081,
    "matching_service": 8082,
    "relying_party_example": 8083,
    "local_matcher": 8084,
    "hub_operator": 8090,  # the operator's listener (metrics): an internal address only
}
HEALTH_PATHS = {
    "hub": "/healthcheck",
    "hub_operator": "/healthcheck",
    "stub_idps": "/healthcheck",
    "matching_service": "/healthcheck",
    "relying_party_example": "/healthcheck",
    "local_matcher": "/healthcheck",
}
# The local matcher's credential: only the matching service (which sends it) and the matcher get it.
LOCAL_MATCHING_TOKEN_SETTINGS = ("LOCAL_MATCHING_TOKEN", "LOCAL_MATCHING_TOKEN_FILE")
LOCAL_MATCHING_TOKEN_HOLDERS = frozenset({"matching_service", "local_matcher"})


def _serve_module(name: str, env: Mapping[str, str]) -> str:
    """federation.serve, or federation.profiling (the same under cProfile) for the process FEDERATION_PROFILE names."""
    return "federation.profiling" if env.get("FEDERATION_PROFILE") == name else "federation.serve"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def federation_urls(ports: Mapping[str, int]) -> dict[str, str]:
    return {
        "LOCAL_MATCHER_URL": f"http://127.0.0.1:{ports['local_matcher']}",
        "HUB_URL": f"http://127.0.0.1:{ports['hub']}",
        "IDP_URL": f"http://localhost:{ports['stub_idps']}",
        "MS_URL": f"http://127.0.0.1:{ports['matching_service']}",
        "RP_URL": f"http://localhost:{ports['relying_party_example']}",  # another site than the hub's, as in life
    }


@dataclass
class Federation:
    ports: dict[str, int]
    env: dict[str, str]
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    services: tuple[str, ...] = ORDER  # the ones `start_federation` started, in order
    extras: dict[str, tuple[str, int]] = field(default_factory=dict)  # name -> (service, port)

    @property
    def urls(self) -> dict[str, str]:
        return federation_urls(self.ports)

    def url(self, service: str) -> str:
        """The configured URL of a service, or the direct 127.0.0.1 URL of an extra process by its name."""
        if service in self.extras:
            return f"http://127.0.0.1:{self.extras[service][1]}"
        if service == "hub_operator":
            return f"http://127.0.0.1:{self.ports[service]}"
        key = {
            "hub": "HUB_URL",
            "stub_idps": "IDP_URL",
            "matching_service": "MS_URL",
            "local_matcher": "LOCAL_MATCHER_URL",
        }.get(service, "RP_URL")
        return self.urls[key]

    @property
    def local_matching_token(self) -> str:
        """The bearer token the matching service and its local matcher share (tests call the matcher with it)."""
        if self.env.get("LOCAL_MATCHING_TOKEN_FILE"):
            return Path(self.env["LOCAL_MATCHING_TOKEN_FILE"]).read_text(encoding="ascii").strip()
        return self.env["LOCAL_MATCHING_TOKEN"]

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, service: str, *, extra_env: Mapping[str, str] | None = None, wait: bool = True) -> None:
        self._spawn(service, service, self.ports[service], extra_env)
        if wait:
            self.wait_healthy(service)

    def start_extra(
        self,
        service: str,
        *,
        name: str,
        port: int | None = None,
        extra_env: Mapping[str, str] | None = None,
        wait: bool = True,
    ) -> str:
        """Start another process of `service` (same config and environment, so the same public URLs, e.g.
        a second hub behind the first one's HUB_URL) on its own port, logging to `<name>.log`.

        Returns its direct base URL. `stop(name)` stops it; `stop_all()` stops it first."""
        if name in self.processes or name in self.ports:
            raise ValueError(f"a process named {name!r} is already known")
        self.extras[name] = (service, port or free_port())
        self._spawn(name, service, self.extras[name][1], extra_env)
        if wait:
            self.wait_healthy(name)
        return self.url(name)

    def _spawn(self, name: str, service: str, port: int, extra_env: Mapping[str, str] | None) -> None:
        env = {**self.env, **(extra_env or {})}
        if service not in LOCAL_MATCHING_TOKEN_HOLDERS:
            for setting in LOCAL_MATCHING_TOKEN_SETTINGS:
                env.pop(setting, None)
        with open(self.log_path(name), "ab") as log:  # the child keeps its own copy of the descriptor
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", _serve_module(name, env), service, "--host", "127.0.0.1", "--port", str(port)],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_DIR,
            )  # fmt: skip

    def wait_healthy(self, service: str, timeout: float = 60.0) -> None:
        kind = self.extras[service][0] if service in self.extras else service
        url = self.url(service).replace("localhost", "127.0.0.1") + HEALTH_PATHS[kind]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes[service]
            if process.poll() is not None:
                raise RuntimeError(
                    f"{service} exited with status {process.returncode}; see {self.log_path(service)}:\n"
                    + self.log_path(service).read_text(errors="replace")[-3000:]
                )
            try:
                if _healthy_and_ready(requests.get(url, timeout=1)):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{service} did not answer {url} within {timeout} s")

    def stop(self, service: str) -> None:
        process = self.processes.pop(service, None)
        if process and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def kill(self, name: str) -> None:
        """Stop a process abruptly (SIGKILL), as a crash would."""
        process = self.processes.pop(name, None)
        if process and process.poll() is None:
            process.kill()
            process.wait()

    def stop_all(self) -> None:
        for name in list(self.extras):
            self.stop(name)
        for service in reversed(ORDER):
            self.stop(service)


def _healthy_and_ready(response: requests.Response) -> bool:
    """200, and the federation metadata loaded if the party reads it (`"metadata": "loading"` until then)."""
    if response.status_code != 200:
        return False
    try:
        return response.json().get("metadata") != "loading"
    except ValueError:
        return True


def local_matcher_settings(ports: Mapping[str, int], *, separate: bool) -> dict[str, str]:
    """Where the matching service finds its local matcher: in process, or the separate matcher's listener."""
    if separate:
        return {"LOCAL_MATCHING_URL": f"{federation_urls(ports)['LOCAL_MATCHER_URL']}/local-matching"}
    return {"LOCAL_MATCHING_URL": BUILTIN_LOCAL_MATCHER}


def start_federation(
    *,
    ports: Mapping[str, int] | None = None,
    keys_dir: Path | None = None,
    var_dir: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
    separate_local_matcher: bool = False,
) -> Federation:
    """Start the processes and wait until each answers its health check with its metadata loaded. The local
    matcher is built into the matching service unless `separate_local_matcher` (then it is a process of its
    own, with a token)."""
    ports = dict(ports or {name: free_port() for name in ORDER})
    var_dir = Path(var_dir or REPO_DIR / "var")
    log_dir = var_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    metrics_dir = var_dir / "metrics"  # prometheus_client's multi-process files: emptied for each start
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    env = {
        **os.environ,
        **federation_urls(ports),
        "VAR_DIR": str(var_dir),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        **local_matcher_settings(ports, separate=separate_local_matcher),
        **(extra_env or {}),
    }
    if keys_dir:
        env["FEDERATION_KEYS_DIR"] = str(keys_dir)
    if not separate_local_matcher:  # nobody needs the credential: no process is given one
        for setting in LOCAL_MATCHING_TOKEN_SETTINGS:
            env.pop(setting, None)
    elif not any(env.get(name) for name in LOCAL_MATCHING_TOKEN_SETTINGS):
        env["LOCAL_MATCHING_TOKEN"] = secrets.token_urlsafe(32)
    env.setdefault("PYTHONUNBUFFERED", "1")
    services = ORDER if separate_local_matcher else tuple(s for s in ORDER if s != "local_matcher")
    federation = Federation(ports=ports, env=env, log_dir=log_dir, services=services)
    try:
        for service in services:
            federation.start(service, wait=False)
        for service in services:
            federation.wait_healthy(service)
    except BaseException:
        federation.stop_all()
        raise
    return federation
