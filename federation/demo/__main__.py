"""`make demo`: load the demo department records, start the four services, print where to begin."""

from __future__ import annotations

import signal
import sys
import time

from federation.launcher import DEMO_PORTS, start_federation
from federation.runtime import REPO_DIR


def main() -> int:
    var_dir = REPO_DIR / "var"
    from matching_service.cli import main as matching_service_cli

    matching_service_cli(
        ["import", str(REPO_DIR / "matching_service" / "demo" / "records.csv"),
         "--database", str(var_dir / "matching-service.sqlite3")]
    )  # fmt: skip
    print("Starting the federation (hub, stub IDPs, matching service, example service)...", flush=True)
    try:
        federation = start_federation(ports=DEMO_PORTS, var_dir=var_dir)
    except RuntimeError as exc:
        print(f"The demo could not start: {exc}", file=sys.stderr)
        return 1
    urls = federation.urls
    print(
        "\nThe federation is running:\n"
        f"  example service (start here)  {urls['RP_URL']}/\n"
        f"  hub                           {urls['HUB_URL']}/\n"
        f"  signed federation metadata    {urls['HUB_URL']}/SAML2/metadata/federation\n"
        f"  stub identity providers       {urls['IDP_URL']}/\n"
        f"  matching service              {urls['MS_URL']}/healthcheck\n"
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
