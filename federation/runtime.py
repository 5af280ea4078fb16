"""What every service process reads at start-up: the federation config and where its keys are.

Settings come from the environment so the same code runs the demo, the tests (services on free ports) and
a real deployment: `FEDERATION_CONFIG` (default: the demo federation), `FEDERATION_KEYS_DIR` (default:
keys/generated), `HUB_URL`, `IDP_URL`, `MS_URL`, `RP_URL`, `LOCAL_MATCHING_URL` (expanded inside the config),
`VAR_DIR` (audit log, databases; default: var/).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from federation.config import FederationConfig, load_federation_config
from federation.demo import DEMO_CONFIG

REPO_DIR = Path(__file__).resolve().parents[1]
DEFAULT_KEYS_DIR = REPO_DIR / "keys" / "generated"
DEFAULT_VAR_DIR = REPO_DIR / "var"


@dataclass(frozen=True)
class Runtime:
    config: FederationConfig
    keys_dir: Path
    var_dir: Path
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    def setting(self, name: str, default: str | None = None) -> str | None:
        return self.environ.get(name, default)


def load_runtime(environ: Mapping[str, str] | None = None) -> Runtime:
    """Load and validate the federation config; raises config.ConfigError naming file, entity, field."""
    environ = dict(os.environ if environ is None else environ)
    keys_dir = Path(environ.get("FEDERATION_KEYS_DIR", DEFAULT_KEYS_DIR))
    config_path = Path(environ.get("FEDERATION_CONFIG", DEMO_CONFIG))
    var_dir = Path(environ.get("VAR_DIR", DEFAULT_VAR_DIR))
    config = load_federation_config(config_path, keys_dir=keys_dir, variables=environ)
    var_dir.mkdir(parents=True, exist_ok=True)
    return Runtime(config=config, keys_dir=keys_dir, var_dir=var_dir, environ=environ)
