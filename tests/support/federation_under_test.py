"""The four real services for a test module or session: demo records loaded, headless stub IDPs on."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from federation.launcher import Federation, start_federation
from matching_service.cli import main as matching_service_cli

RECORDS = "matching_service/demo/records.csv"


def shared_hub_env() -> dict[str, str]:
    """What every hub process sharing a store must share: the session key and the secret."""
    return {"HUB_SESSION_KEY": secrets.token_hex(32), "HUB_SECRET": secrets.token_hex(32)}


@contextmanager
def running_federation(var_dir: Path, keys_dir: Path, **extra_env: str) -> Iterator[Federation]:
    """Start the federation (always stopped afterwards); `extra_env` overrides the defaults."""
    matching_service_cli(["import", RECORDS, "--database", str(var_dir / "matching-service.sqlite3")])
    env = {"STUB_IDP_HEADLESS": "1", **shared_hub_env(), **extra_env}
    running = start_federation(keys_dir=keys_dir, var_dir=var_dir, extra_env=env)
    try:
        yield running
    finally:
        running.stop_all()
