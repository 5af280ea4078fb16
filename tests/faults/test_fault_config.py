"""A broken federation config stops every service before it serves anything: exit status 2 and one line
on stderr naming the file, the entity and the field, never a traceback. So does a missing or unusable local
matching token, for the local matcher and for a matching service that calls one over HTTP (with the built-in
matcher in process, no token is needed)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests

from federation.demo import DEMO_CONFIG
from federation.launcher import free_port
from federation.runtime import REPO_DIR
from tests.support.real_idp import REAL_IDP_ENTITY_ID, config_with_real_idp

SERVICES = ("hub", "stub_idps", "matching_service", "relying_party_example", "local_matcher")
TOKEN_SETTINGS = ("LOCAL_MATCHING_TOKEN", "LOCAL_MATCHING_TOKEN_FILE")

# (name, text replaced in the demo config, replacement, entity and field the message must name)
MISTAKES = {
    "unknown-loa-in-rp": (
        "    levels_of_assurance: [LEVEL_2]\n    matching_service_entity_id: https://test-rp-ms.federation.test\n"
        "    cycle3_attribute",
        "    levels_of_assurance: [LEVEL_9]\n    matching_service_entity_id: https://test-rp-ms.federation.test\n"
        "    cycle3_attribute",
        ("relying party 'https://test-rp.federation.test'", "field 'levels_of_assurance'", "LEVEL_9"),
    ),
    "unknown-loa-in-idp": (
        "    levels_of_assurance: [LEVEL_2]\n    enabled: true",
        "    levels_of_assurance: [LEVEL_7]\n    enabled: true",
        ("identity provider 'https://stub-idp-three.federation.test'", "field 'levels_of_assurance'", "LEVEL_7"),
    ),
    "negative-session-lifetime": (
        "session_lifetime_minutes: 90",
        "session_lifetime_minutes: -90",
        ("federation", "field 'federation.session_lifetime_minutes'", "greater than 0"),
    ),
    "missing-certificate": (
        "    encryption_certificate: test-rp-ms-encryption.crt",
        "    encryption_certificate: no-such-certificate.crt",
        ("matching service 'https://test-rp-ms.federation.test'", "field 'encryption_certificate'", "not found"),
    ),
}


def _broken_copy(directory, name: str) -> tuple:
    old, new, expected = MISTAKES[name]
    text = DEMO_CONFIG.read_text()
    assert text.count(old) == 1, f"the demo config changed: {old!r} no longer occurs exactly once"
    path = directory / f"broken-{name}.yaml"
    path.write_text(text.replace(old, new))
    return path, expected


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
@pytest.mark.parametrize("service", SERVICES)
def test_service_refuses_to_start_naming_file_entity_and_field(service, mistake, keys_dir, tmp_path):
    config, expected = _broken_copy(tmp_path, mistake)
    env = {**os.environ, "FEDERATION_CONFIG": str(config), "FEDERATION_KEYS_DIR": str(keys_dir)}
    env["VAR_DIR"] = str(tmp_path / "var")
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "federation.serve", service, "--port", str(port)],
        env=env, cwd=REPO_DIR, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(f"{service}: refusing to start: {config}: "), message
    for part in expected:
        assert part in message, (part, message)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("service", "settings", "problem"),
    [
        ("local_matcher", {}, "no local matching token: set LOCAL_MATCHING_TOKEN, or LOCAL_MATCHING_TOKEN_FILE"),
        (
            "matching_service",
            {"LOCAL_MATCHING_URL": "http://127.0.0.1:9/local-matching"},  # a matcher of its own: over HTTP
            "no local matching token: set LOCAL_MATCHING_TOKEN, or LOCAL_MATCHING_TOKEN_FILE",
        ),
        ("local_matcher", {"LOCAL_MATCHING_TOKEN": "guessable"}, "at least 32 visible ASCII characters"),
        ("local_matcher", {"LOCAL_MATCHING_TOKEN_FILE": "/nonexistent/token"}, "cannot read LOCAL_MATCHING_TOKEN_FILE"),
    ],
    ids=["matcher-without-token", "ms-without-token", "matcher-weak-token", "matcher-missing-token-file"],
)
def test_no_usable_local_matching_token_refuses_to_start(service, settings, problem, keys_dir, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in TOKEN_SETTINGS}
    env.update(FEDERATION_KEYS_DIR=str(keys_dir), VAR_DIR=str(tmp_path / "var"), **settings)
    result = subprocess.run(
        [sys.executable, "-m", "federation.serve", service, "--port", str(free_port())],
        env=env, cwd=REPO_DIR, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(f"{service}: refusing to start: "), message
    assert problem in message, message
    assert "Traceback" not in result.stderr and "guessable" not in result.stderr


def test_a_real_identity_provider_beside_the_stubs_does_not_stop_the_stub_process(keys_dir, tmp_path):
    """Its keys are at the company, not here: the stub process serves the three stubs and says so once."""
    config = config_with_real_idp(tmp_path / "config")
    env = {**os.environ, "FEDERATION_CONFIG": str(config), "FEDERATION_KEYS_DIR": str(keys_dir)}
    env["VAR_DIR"] = str(tmp_path / "var")
    port = free_port()
    log_path = tmp_path / "stub_idps.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "federation.serve", "stub_idps", "--port", str(port)],
            env=env, cwd=REPO_DIR, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                index = requests.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except (requests.ConnectionError, requests.Timeout):  # the port listens before the app is loaded
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
        assert index.status_code == 200
        assert "https://stub-idp-two.federation.test" in index.text and REAL_IDP_ENTITY_ID not in index.text
        lines = [line for line in log_path.read_text().splitlines() if "not serving identity provider" in line]
        assert len(lines) == 1 and f"real-idp ({REAL_IDP_ENTITY_ID}): no signing key" in lines[0], lines
    finally:
        process.terminate()
        process.wait(timeout=10)
