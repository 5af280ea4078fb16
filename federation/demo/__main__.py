"""`make demo`: load the demo department records, start the services, print where to begin.

The matching service runs the built-in local matcher in its own process; `--separate-local-matcher` starts it
as a process of its own instead, behind a bearer token, as a department's own matcher would run."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from federation.launcher import DEMO_PORTS, start_federation
from federation.runtime import REPO_DIR

TOKEN_FILE = "local-matching.token"  # noqa: S105 - a file name, not a secret


def demo_local_matching_token(var_dir: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The settings that give the matching service and its local matcher their shared token.

    The operator's own LOCAL_MATCHING_TOKEN or LOCAL_MATCHING_TOKEN_FILE wins; otherwise a fresh token is
    written to `<var_dir>/local-matching.token`, readable by this user only, and both processes read it
    from there (LOCAL_MATCHING_TOKEN_FILE), so it never sits in any process's environment."""
    if environ.get("LOCAL_MATCHING_TOKEN") or environ.get("LOCAL_MATCHING_TOKEN_FILE"):
        return {}
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / TOKEN_FILE
    partial = path.with_name(f".{TOKEN_FILE}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # even if a stale file of that name was there with a wider mode
        os.write(fd, (secrets.token_urlsafe(32) + "\n").encode("ascii"))
    finally:
        os.close(fd)
    os.replace(partial, path)
    return {"LOCAL_MATCHING_TOKEN_FILE": str(path)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m federation.demo", description=__doc__)
    parser.add_argument(
        "--separate-local-matcher",
        action="store_true",
        help="run the local matcher as a process of its own on 127.0.0.1:8084, behind a bearer token, as a "
        "department's own matcher would be (default: built into the matching service, no listener)",
    )
    separate = parser.parse_args(argv).separate_local_matcher
    var_dir = REPO_DIR / "var"
    # the department's demo records, loaded as a department loads its own (the matching service's command)
    subprocess.run(
        [sys.executable, "-m", "matching_service.cli", "import",
         str(REPO_DIR / "matching_service" / "demo" / "records.csv"),
         "--database", str(var_dir / "matching-service.sqlite3")],
        check=False,
    )  # fmt: skip
    token_settings = demo_local_matching_token(var_dir, os.environ) if separate else {}
    print(
        "Starting the federation (hub, stub IDPs, matching service and its local matcher, example service)...",
        flush=True,
    )
    try:
        federation = start_federation(
            ports=DEMO_PORTS, var_dir=var_dir, extra_env=token_settings, separate_local_matcher=separate
        )
    except RuntimeError as exc:
        print(f"The demo could not start: {exc}", file=sys.stderr)
        return 1
    urls = federation.urls
    matcher = (
        f"{urls['LOCAL_MATCHER_URL']}/local-matching "
        f"(bearer token: {token_settings.get('LOCAL_MATCHING_TOKEN_FILE', 'as set in your environment')})"
        if separate
        else "built into the matching service (no listener; --separate-local-matcher for one of its own)"
    )
    print(
        "\nThe federation is running:\n"
        f"  example service (start here)  {urls['RP_URL']}/\n"
        f"    its other demo services     {urls['RP_URL']}/non-matching/  /new-accounts/  /standard/  /oidc/\n"
        f"  hub                           {urls['HUB_URL']}/\n"
        f"  its OpenID Connect discovery  {urls['HUB_URL']}/.well-known/openid-configuration\n"
        f"  signed federation metadata    {urls['HUB_URL']}/SAML2/metadata/federation\n"
        f"  stub identity providers       {urls['IDP_URL']}/\n"
        f"  matching service              {urls['MS_URL']}/healthcheck\n"
        f"  its local matcher             {matcher}\n"
        f"Logs: {federation.log_dir}   Audit events: {var_dir / 'audit.jsonl'}\n"
        f"\nOpen {urls['RP_URL']}/ in a browser. Press Ctrl-C to stop.",
        flush=True,
    )
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for name, process in federation.processes.items():
                if process.poll() is not None:
                    print(f"{name} stopped (status {process.returncode}); see {federation.log_dir}/{name}.log")
                    stopping = True
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        federation.stop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
