"""The systemd units in deploy/systemd/: each starts a real service of federation.serve, reads environment
files that exist in deploy/env/ (the ones under /etc are the operator's own), reloads with SIGHUP, and is
hardened; `systemd-analyze verify` accepts each when it is installed."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from federation.runtime import REPO_DIR
from federation.serve import SERVICES
from tests.deploy.deploy_support import DEPLOY_DIR

UNITS_DIR = DEPLOY_DIR / "systemd"
INSTALLED_AT = "/opt/federation"  # where the units expect the repository (docs/deployment.md)
UNITS = sorted(UNITS_DIR.glob("*.service"))
# every service of federation.serve has a unit
EXPECTED = {
    "federation-hub.service": "hub",
    "federation-hub-operator.service": "hub_operator",
    "federation-matching-service.service": "matching_service",
    "federation-local-matcher.service": "local_matcher",
    "federation-stub-idps.service": "stub_idps",
    "federation-relying-party-example.service": "relying_party_example",
}
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "CapabilityBoundingSet": "",
}


def directives(unit: Path) -> dict[str, list[str]]:
    """Each key of the [Service] section with its values, in order (a key may repeat)."""
    found: dict[str, list[str]] = {}
    section = None
    for raw in unit.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def in_repository(path: str) -> Path:
    assert path.startswith(INSTALLED_AT + "/"), path
    return REPO_DIR / path.removeprefix(INSTALLED_AT + "/")


def test_there_is_one_unit_per_service():
    assert {unit.name for unit in UNITS} == set(EXPECTED)
    assert set(EXPECTED.values()) == set(SERVICES)


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_unit_runs_its_service_with_its_settings(unit: Path):
    service = directives(unit)
    command = shlex.split(service["ExecStart"][0])
    assert command[:3] == [f"{INSTALLED_AT}/.venv/bin/python", "-m", "federation.serve"], command
    assert command[3] == EXPECTED[unit.name] and command[3] in SERVICES
    assert len(command) == 4, "every option comes from the environment files"
    files = service["EnvironmentFile"]
    shipped = [path for path in files if not path.startswith("-")]
    assert shipped == [f"{INSTALLED_AT}/deploy/env/common.env", f"{INSTALLED_AT}/deploy/env/{command[3]}.env"]
    for path in shipped:
        assert in_repository(path).is_file(), path
    settings = in_repository(shipped[1]).read_text()
    assert "SERVE_PORT=" in settings and "SERVE_HOST=" in settings and "SERVE_WORKERS=" in settings
    assert all(path.startswith("-/etc/federation/") for path in files if path.startswith("-")), files
    assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]


@pytest.mark.parametrize("unit", UNITS, ids=lambda unit: unit.name)
def test_unit_is_hardened(unit: Path):
    service = directives(unit)
    for key, value in HARDENING.items():
        assert service.get(key) == [value], (key, service.get(key))
    assert service["User"][0] not in ("", "root")
    writable = service["ReadWritePaths"]
    assert writable and all(path.startswith("/var/lib/federation/") for path in writable), writable
    env = in_repository(service["EnvironmentFile"][1]).read_text()
    var_dir = next(line.split("=", 1)[1] for line in env.splitlines() if line.startswith("VAR_DIR="))
    assert var_dir in writable, "the service's state (audit log, records, metrics) is where it may write"


def test_systemd_analyze_verify_accepts_every_unit(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian's systemd package): the units were not verified")
    copies = []
    for unit in UNITS:  # installed where this checkout is, so that ExecStart names an executable that exists
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text().replace(INSTALLED_AT, str(REPO_DIR)))
        copies.append(str(copy))
    result = subprocess.run(
        ["systemd-analyze", "verify", *copies], capture_output=True, text=True, timeout=120, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for complaint in ("Unknown key", "Unknown section", "Failed to parse", "not executable", "Invalid"):
        assert complaint not in output, output
