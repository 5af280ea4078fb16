"""Helpers of the fault tests: a federation per module, a private redis-server, logs, URL rewriting."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
import requests

from federation.launcher import Federation, free_port
from tests.support.federation_under_test import running_federation, shared_hub_env  # noqa: F401 (re-exported)

SHARED_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_answers(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


def log_text(federation: Federation, name: str) -> str:
    return federation.log_path(name).read_text(errors="replace")


def wait_for(condition, *, timeout: float = 10.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def health(url: str) -> dict:
    return requests.get(url + "/healthcheck", timeout=5).json()


class PrivateRedis:
    """A redis-server of the test's own on a free port, saving nothing, which the test may kill and
    restart on the same port (the restarted one is empty: that Redis kept its data in memory only)."""

    def __init__(self, directory: Path, *options: str) -> None:
        """`options`: more redis-server arguments, e.g. ("--replicaof", "127.0.0.1", "6380")."""
        self.port = free_port()
        self.directory = directory
        self.options = options
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--daemonize", "no", "--dir", str(self.directory), *self.options]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for(lambda: redis_answers(self.url), timeout=10, interval=0.05):
            self.kill()
            raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


def with_port(url: str, base: str) -> str:
    """`url` moved to the scheme, host and port of `base` (the same path on another hub process)."""
    parts, target = urlsplit(url), urlsplit(base)
    return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))


def form_fields(form) -> Mapping[str, str]:
    return {i.get("name"): i.get("value") or "" for i in form.xpath(".//input[@name]")}
