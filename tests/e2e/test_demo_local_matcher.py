"""The demo's local matcher. By default it is built into the matching service: no process, listener or token
of its own, and journeys still match. With `--separate-local-matcher`, `make demo`'s local matching token is
a fresh one in var/local-matching.token (mode 0600) unless the operator set one, read from there by the
local matcher it starts (here on free ports, never the demo's fixed ones)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import requests

from federation.demo.__main__ import demo_local_matching_token
from federation.launcher import ORDER, Federation, federation_urls, free_port
from tests.e2e.journey import IDP_TWO, expected_hashed_pid, sign_in

pytestmark = pytest.mark.e2e


def test_the_demo_writes_a_fresh_token_only_its_user_can_read(tmp_path):
    path = tmp_path / "local-matching.token"
    path.write_text("stale\n")
    path.chmod(0o644)
    assert demo_local_matching_token(tmp_path, {}) == {"LOCAL_MATCHING_TOKEN_FILE": str(path)}
    first = path.read_text().strip()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) >= 43 and first != "stale"
    demo_local_matching_token(tmp_path, {})
    assert path.read_text().strip() != first  # a new one for every start
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local-matching.token"]  # no partial file left behind


@pytest.mark.parametrize("setting", ["LOCAL_MATCHING_TOKEN", "LOCAL_MATCHING_TOKEN_FILE"])
def test_the_operators_own_token_setting_wins(tmp_path, setting):
    assert demo_local_matching_token(tmp_path, {setting: "set-by-the-operator"}) == {}
    assert not (tmp_path / "local-matching.token").exists()


def test_the_local_matcher_started_as_the_demo_starts_it_answers_only_that_token(keys_dir, tmp_path):
    var_dir = tmp_path / "var"
    settings = demo_local_matching_token(var_dir, {})
    ports = {name: free_port() for name in ORDER}
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCAL_MATCHING_TOKEN")}
    env.update(federation_urls(ports), VAR_DIR=str(var_dir), FEDERATION_KEYS_DIR=str(keys_dir), **settings)
    (var_dir / "log").mkdir(parents=True)
    federation = Federation(ports=ports, env=env, log_dir=var_dir / "log")
    try:
        federation.start("local_matcher")
        url = federation.url("local_matcher") + "/local-matching/create-user"
        body = {"hashedPid": "c" * 64, "levelOfAssurance": "LEVEL_2"}
        assert requests.post(url, json=body, timeout=10).status_code == 401
        token = (var_dir / "local-matching.token").read_text().strip()
        assert federation.local_matching_token == token
        answer = requests.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 200 and answer.json() == {"result": "success"}
    finally:
        federation.stop_all()
    assert token not in federation.log_path("local_matcher").read_text()


def _process_tree(pid: int) -> list[int]:
    """`pid` and every process below it (the server's supervisor forks its workers, which hold the socket)."""
    tree, index = [pid], 0
    while index < len(tree):
        children = Path(f"/proc/{tree[index]}/task/{tree[index]}/children")
        tree += [int(child) for child in children.read_text().split()] if children.exists() else []
        index += 1
    return tree


def _listening_tcp_ports(pid: int) -> set[int]:
    """The TCP ports process `pid` and its children listen on (socket inodes matched against /proc/net/tcp{,6})."""
    inodes = set()
    for member in _process_tree(pid):
        for fd in Path(f"/proc/{member}/fd").iterdir():
            target = os.readlink(fd) if fd.is_symlink() else ""
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs /proc to list a process's sockets")
def test_the_builtin_matcher_has_no_process_no_listener_and_no_token(federation, browser):
    assert "local_matcher" not in federation.processes and "local_matcher" not in federation.services
    ms = federation.processes["matching_service"]
    assert _listening_tcp_ports(ms.pid) == {federation.ports["matching_service"]}  # the SAML endpoints only
    for name, process in federation.processes.items():
        for member in _process_tree(process.pid):
            assert b"LOCAL_MATCHING_TOKEN" not in Path(f"/proc/{member}/environ").read_bytes(), name
    with pytest.raises(requests.ConnectionError):
        requests.get(federation.url("local_matcher") + "/healthcheck", timeout=2)
    page = sign_in(browser, federation, "alice", IDP_TWO)  # and a citizen is matched through it
    assert expected_hashed_pid("stub-idp-two", "alice") in page.text
    log = federation.log_path("matching_service").read_text()
    assert "local matcher: built-in, in this process (no listener)" in log and "local match " in log
