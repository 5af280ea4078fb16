"""`make demo`'s local matching token: a fresh one in var/local-matching.token (mode 0600) unless the operator
set one, read from there by the local matcher it starts (here on free ports, never the demo's fixed ones)."""

from __future__ import annotations

import os
import stat

import pytest
import requests

from federation.demo.__main__ import demo_local_matching_token
from federation.launcher import ORDER, Federation, federation_urls, free_port

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
