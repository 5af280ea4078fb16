"""The real services for a test module or session: demo records loaded, headless stub IDPs on, and, when the
local matcher runs as a process of its own, a fresh local matching token (the matching service's credential
at its local matcher) for each federation; and the
demo federation's config with a test's own services and identity providers added."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from federation.demo import DEMO_CONFIG
from federation.launcher import Federation, start_federation
from matching_service.cli import main as matching_service_cli

RECORDS = "matching_service/demo/records.csv"


def fresh_local_matching_token() -> dict[str, str]:
    """A new token for this federation only (a token file named by the developer's environment is ignored)."""
    return {"LOCAL_MATCHING_TOKEN": secrets.token_urlsafe(32), "LOCAL_MATCHING_TOKEN_FILE": ""}


def shared_hub_env() -> dict[str, str]:
    """What every hub process sharing a store must share: the session key and the secret."""
    return {"HUB_SESSION_KEY": secrets.token_hex(32), "HUB_SECRET": secrets.token_hex(32)}


@contextmanager
def running_federation(
    var_dir: Path, keys_dir: Path, *, separate_local_matcher: bool = False, **extra_env: str
) -> Iterator[Federation]:
    """Start the federation (always stopped afterwards); `extra_env` overrides the defaults. The local matcher
    is built into the matching service unless `separate_local_matcher` (a process of its own, with a token)."""
    matching_service_cli(["import", RECORDS, "--database", str(var_dir / "matching-service.sqlite3")])
    env = {"STUB_IDP_HEADLESS": "1", **fresh_local_matching_token(), **shared_hub_env(), **extra_env}
    running = start_federation(
        keys_dir=keys_dir, var_dir=var_dir, extra_env=env, separate_local_matcher=separate_local_matcher
    )
    try:
        yield running
    finally:
        running.stop_all()


def demo_config_with(
    path: Path, *, relying_parties: str = "", oidc_clients: str = "", identity_providers: str = ""
) -> Path:
    """Write the demo federation to `path` with entries added to its SAML services, OpenID Connect clients
    and identity providers.

    Each argument is YAML list items indented as in the demo file (`  - name: ...`). Certificate paths
    in them may be absolute, for keys a test made outside the keys directory. Returns `path`."""
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    sections = ("\nrelying_parties:\n", "\noidc_clients:\n", "\nidentity_providers:\n")
    assert all(text.count(anchor) == 1 for anchor in sections), "the demo config's sections moved"
    assert text.index(sections[0]) < text.index(sections[1]) < text.index(sections[2]), "sections reordered"
    text = text.replace(sections[1], relying_parties + sections[1])  # the end of relying_parties
    text = text.replace(sections[2], oidc_clients + sections[2])  # the end of oidc_clients
    text = text.rstrip("\n") + "\n" + identity_providers
    path.write_text(text, encoding="utf-8")
    return path
