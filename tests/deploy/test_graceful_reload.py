"""SIGHUP (`systemctl reload`, the units' ExecReload) replaces a service's workers with every request answered,
and a reload whose config has a mistake keeps the running workers.

The hub alone, as deploy/env/hub.env runs it (two workers on Redis), on a port of our range. Clients keep
requesting real pages, each on a new connection as nginx sends them (deploy/nginx/hub.conf), while the
supervisor gets SIGHUP; every request must be answered 200 and the workers' PIDs must all be new. A
connection the old worker accepts in the instant it stops can be reset (granian; about once in 6,700
requests back to back): the client sends that GET again, as a browser does, and such resets must stay rare.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests

from federation.runtime import REPO_DIR
from tests.deploy.deploy_support import port_in_range
from tests.faults.faults_support import SHARED_REDIS_URL, redis_answers, wait_for
from tests.support.federation_under_test import shared_hub_env

pytestmark = pytest.mark.e2e

CLIENTS = 4
PATHS = ("/cookies", "/healthcheck")  # a page rendered from templates, and the cheapest answer


@dataclass
class RunningHub:
    process: subprocess.Popen
    url: str
    log: Path
    keys_dir: Path

    def workers(self) -> set[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        return {int(pid) for pid in children.split()}

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def hub(keys_dir, tmp_path) -> Iterator[RunningHub]:
    if not redis_answers(SHARED_REDIS_URL):
        pytest.skip(f"no Redis answers at {SHARED_REDIS_URL}: start one with `make redis`")
    own_keys = tmp_path / "keys"  # a copy this test may break
    shutil.copytree(keys_dir, own_keys)
    port = port_in_range()
    prefix = f"test-reload-{uuid.uuid4().hex}:"
    env = {
        **os.environ,
        "FEDERATION_KEYS_DIR": str(own_keys),
        "VAR_DIR": str(tmp_path / "var"),
        "HUB_URL": f"http://127.0.0.1:{port}",
        "REDIS_URL": SHARED_REDIS_URL,
        "HUB_REDIS_PREFIX": prefix,
        "SERVE_WORKERS": "2",
        "SERVE_RELOAD_DELAY": "5",  # the default: a new worker gets time to load the app on a busy machine
        "PYTHONUNBUFFERED": "1",
        **shared_hub_env(),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = tmp_path / "hub.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "federation.serve", "hub", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO_DIR,
        )  # fmt: skip
    running = RunningHub(process, f"http://127.0.0.1:{port}", log, own_keys)
    try:
        # both workers have built their app (a worker still starting would read the keys a test then breaks)
        ready = wait_for(
            lambda: (
                _answers(running.url + "/healthcheck")
                and len(running.workers()) == 2
                and all(f"Started worker-{n}" in running.log_text() for n in (1, 2))
            ),
            timeout=60,
        )
        assert ready, log.read_text(errors="replace")[-3000:]
        yield running
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=60)
        with redis.Redis.from_url(SHARED_REDIS_URL) as client:
            keys = list(client.scan_iter(match=prefix + "*"))
            if keys:
                client.delete(*keys)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _keep_asking(url: str, stop: threading.Event, outcomes: Counter, lock: threading.Lock) -> None:
    """Request the paths in turn, each on a new connection, until told to stop; count what came back."""
    turn = 0
    while not stop.is_set():
        path = PATHS[turn % len(PATHS)]
        turn += 1
        outcome = _get(url + path, path)
        if outcome.startswith("ConnectionError "):  # reset as the old worker stopped: a GET is sent again
            with lock:
                outcomes["reset"] += 1
            outcome = _get(url + path, path)
        with lock:
            outcomes[outcome] += 1


def _get(url: str, path: str) -> str:
    try:
        answer = requests.get(url, timeout=30, headers={"Connection": "close"})
    except requests.RequestException as exc:
        return f"{type(exc).__name__} {path}"
    return f"{answer.status_code} {path}"


def test_sighup_replaces_every_worker_while_every_request_is_answered(hub):
    before = hub.workers()
    stop, lock, outcomes = threading.Event(), threading.Lock(), Counter()
    clients = [
        threading.Thread(target=_keep_asking, args=(hub.url, stop, outcomes, lock), name=f"client-{n}")
        for n in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    try:
        time.sleep(1)
        hub.process.send_signal(signal.SIGHUP)
        # both workers replaced (one at a time: the new one starts, then the old one stops), then a little more
        replaced = wait_for(lambda: len(hub.workers()) == 2 and not hub.workers() & before, timeout=90, interval=0.2)
        time.sleep(1)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=60)
    after = hub.workers()
    assert replaced, (before, after, hub.log_text()[-3000:])
    assert hub.process.poll() is None, "the supervisor goes on"
    assert not before & after and len(after) == 2
    resets = outcomes.pop("reset", 0)
    answered = sum(n for outcome, n in outcomes.items() if outcome.startswith("200 "))
    assert answered == sum(outcomes.values()), outcomes  # each request answered, a GET after at most one repeat
    assert resets <= max(2, answered // 500), (resets, outcomes)  # granian's rare reset as a worker stops
    assert answered >= 20, outcomes  # requests were running all through the reload
    assert "hub: reloading" in hub.log_text()


def test_a_reload_with_a_config_mistake_keeps_the_running_workers(hub):
    before = hub.workers()
    (hub.keys_dir / "hub-signing.crt").write_text("not a certificate\n")
    hub.process.send_signal(signal.SIGHUP)
    refused = wait_for(lambda: "reload refused" in hub.log_text(), timeout=30)
    assert refused, hub.log_text()[-3000:]
    line = next(line for line in hub.log_text().splitlines() if "reload refused" in line)
    assert "hub-signing.crt" in line and "not a PEM X.509 certificate" in line, line
    time.sleep(1)
    assert hub.process.poll() is None
    assert hub.workers() == before, "the same workers go on serving"
    assert requests.get(hub.url + "/cookies", timeout=30).status_code == 200
