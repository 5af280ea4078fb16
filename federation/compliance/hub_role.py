"""The hub's part as the compliance tool plays it: the federation config and the hub's own keys.

The operator runs the tool in the integration environment with the hub's keys directory
(`FEDERATION_KEYS_DIR`): the tool signs as the hub and decrypts what identity providers encrypt for the
hub, exactly as the hub would.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from federation.config import FederationConfig, IdentityProvider, RelyingParty, load_federation_config
from federation.credentials import DecryptionCredential, SigningCredential, load_hub_credentials
from federation.demo import DEMO_CONFIG
from federation.runtime import DEFAULT_KEYS_DIR


@dataclass(frozen=True)
class HubRole:
    config: FederationConfig
    keys_dir: Path
    signing: SigningCredential
    decryption: tuple[DecryptionCredential, ...]

    def identity_provider(self, name_or_entity_id: str) -> IdentityProvider:
        for idp in self.config.identity_providers:
            if name_or_entity_id in (idp.name, idp.entity_id):
                return idp
        known = ", ".join(idp.name for idp in self.config.identity_providers)
        raise LookupError(f"no identity provider {name_or_entity_id!r} in {self.config.source} (known: {known})")

    def relying_party(self, name_or_entity_id: str) -> RelyingParty:
        for rp in self.config.relying_parties:
            if name_or_entity_id in (rp.name, rp.entity_id):
                return rp
        known = ", ".join(rp.name for rp in self.config.relying_parties)
        raise LookupError(f"no service {name_or_entity_id!r} in {self.config.source} (known: {known})")


def load_hub_role(environ: Mapping[str, str] | None = None, *, keys_dir: Path | None = None) -> HubRole:
    """The config from `FEDERATION_CONFIG` (its `${...}` from the environment) and the hub's keys from
    `keys_dir` or `FEDERATION_KEYS_DIR`. ConfigError / CredentialError name what is wrong."""
    environ = os.environ if environ is None else environ
    keys = Path(keys_dir or environ.get("FEDERATION_KEYS_DIR") or DEFAULT_KEYS_DIR)
    config = load_federation_config(
        Path(environ.get("FEDERATION_CONFIG") or DEMO_CONFIG), keys_dir=keys, variables=environ
    )
    hub = config.hub
    credentials = load_hub_credentials(
        keys, hub.signing_certificates[0].path, tuple(cert.path for cert in hub.encryption_certificates)
    )
    return HubRole(config=config, keys_dir=keys, signing=credentials.signing, decryption=credentials.decryption)
