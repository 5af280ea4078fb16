"""Attacks on the local matcher's JSON contract, against the real processes the launcher starts.

The contract says whether a person is in the department's records, confirms a National Insurance number and
writes PID links and accounts. It is served only by the local matcher process, on a listener of its own
(LOCAL_MATCHER_URL), to holders of the bearer token; the matching service's public listener (MS_URL, the one
the hub reaches) does not serve it at all. A caller's match ID cannot forge a line of the matcher's log.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
import requests

from tests.hostile.forge_ms import LogTail

pytestmark = pytest.mark.hostile

CONTRACT = ("/local-matching/match", "/local-matching/create-user")


def _no_one(match_id: str = "_hostile-probe") -> dict:
    """A well-formed match request for a person who is in no record (a fresh hashed PID each time)."""
    return {
        "matchId": match_id,
        "levelOfAssurance": "LEVEL_2",
        "hashedPid": secrets.token_hex(32),
        "matchingDataset": {
            "firstName": {"value": "Probe", "verified": True, "from": None, "to": None},
            "middleNames": None,
            "surnames": [{"value": "Nobody", "verified": True, "from": None, "to": None}],
            "gender": None,
            "dateOfBirth": {"value": "1901-01-01", "verified": True, "from": None, "to": None},
            "addresses": [],
        },
    }


def _matcher(federation) -> str:
    return federation.url("local_matcher")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _matcher_log(var_dir: Path) -> LogTail:
    return LogTail(var_dir / "log" / "local_matcher.log")


@pytest.mark.parametrize("path", CONTRACT)
@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "missing-credential"),
        ({"Authorization": "Bearer wrong-token-" + "w" * 40}, "wrong-token"),
        ({"Authorization": "Basic bWF0Y2hlcjptYXRjaGVy"}, "not-bearer"),
    ],
    ids=["no-token", "wrong-token", "basic-auth"],
)
def test_the_matcher_listener_refuses_calls_without_its_token(federation, var_dir, path, headers, error):
    tail = _matcher_log(var_dir)
    body = _no_one()
    if path.endswith("create-user"):
        body = {"hashedPid": body["hashedPid"], "levelOfAssurance": "LEVEL_2", "FIRST_NAME": "Mallory"}
    answer = requests.post(_matcher(federation) + path, json=body, headers=headers, timeout=10)
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == error and answer.headers["WWW-Authenticate"].startswith("Bearer")
    logged = tail.wait_for(f"local matcher call refused: {error} ('POST' '{path}' from '127.0.0.1')")
    assert federation.local_matching_token not in logged
    if path.endswith("create-user"):  # nothing was written: the holder of the token can still create it
        created = requests.post(
            _matcher(federation) + path, json=body, headers=_bearer(federation.local_matching_token), timeout=10
        )
        assert created.json() == {"result": "success"}


def test_the_matcher_listener_answers_the_holder_of_the_token(federation):
    answer = requests.post(
        _matcher(federation) + "/local-matching/match",
        json=_no_one(),
        headers=_bearer(federation.local_matching_token),
        timeout=10,
    )
    assert answer.status_code == 200 and answer.json() == {"result": "no-match"}


@pytest.mark.parametrize("path", [*CONTRACT, "/local-matching/", "/local-matching"])
@pytest.mark.parametrize("with_token", [False, True], ids=["no-token", "right-token"])
def test_the_public_listener_does_not_serve_the_contract(federation, path, with_token):
    headers = _bearer(federation.local_matching_token) if with_token else {}
    public = federation.urls["MS_URL"]
    assert requests.post(public + path, json=_no_one(), headers=headers, timeout=10).status_code == 404
    assert requests.get(public + path, headers=headers, timeout=10).status_code == 404


def test_a_match_id_cannot_forge_a_line_of_the_matcher_log(federation, var_dir):
    probe = f"_probe-{secrets.token_hex(4)}"
    forged = "2026-01-01 00:00:00,000 local_matcher INFO x: local match _v: cycle 1, match"
    tail = _matcher_log(var_dir)
    answer = requests.post(
        _matcher(federation) + "/local-matching/match",
        json=_no_one(f"{probe}\n{forged}\r\x1b[2K" + "padding" * 50),
        headers=_bearer(federation.local_matching_token),
        timeout=10,
    )
    assert answer.json() == {"result": "no-match"}
    logged = tail.wait_for("chars): cycle 1, no-match")
    (line,) = [line for line in logged.splitlines() if probe in line or "2026-01-01" in line]
    assert f"local match '{probe}\\n2026-01-01 00:00:00,000 local_matcher" in line  # the newline escaped
    assert "\r" not in logged and "\x1b" not in logged and "padding" * 20 not in logged  # and the length capped


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc to read a process's environment")
def test_only_the_matching_service_and_its_matcher_are_given_the_token(federation):
    token = federation.local_matching_token.encode()
    holders = {"matching_service", "local_matcher"}
    for name in ("local_matcher", "matching_service", "stub_idps", "hub", "relying_party_example"):
        environ = Path(f"/proc/{federation.processes[name].pid}/environ").read_bytes()
        assert (token in environ) == (name in holders), name
    assert os.environ.get("LOCAL_MATCHING_TOKEN", "").encode() != token  # a fresh token per federation
