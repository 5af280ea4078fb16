"""A federation config with a real identity provider registered beside the stub IDPs: its certificates are
in the config, its private keys are not in the keys directory (they are at the identity provider)."""

from __future__ import annotations

from pathlib import Path

from federation.demo import DEMO_CONFIG
from tests.support.self_signed import write_self_signed

REAL_IDP_NAME = "real-idp"
REAL_IDP_ENTITY_ID = "https://real-idp.example"


def config_with_real_idp(directory: Path) -> Path:
    """Write the demo federation plus `real-idp` (SSO URL on another site) into `directory`; its path."""
    directory.mkdir(parents=True, exist_ok=True)
    _, signing = write_self_signed(directory, f"{REAL_IDP_NAME}-signing-elsewhere")
    _, encryption = write_self_signed(directory, f"{REAL_IDP_NAME}-encryption-elsewhere")
    for key in directory.glob(f"{REAL_IDP_NAME}-*.key"):
        key.unlink()  # the company keeps its keys; the federation holds certificates only
    entry = f"""
  - name: {REAL_IDP_NAME}
    entity_id: {REAL_IDP_ENTITY_ID}
    display_name:
      en: A real identity provider
      cy: Darparwr hunaniaeth go iawn
    levels_of_assurance: [LEVEL_2]
    sso_url: https://real-idp.example/SAML2/SSO
    signing_certificates:
      - {signing}
    encryption_certificate: {encryption}
"""
    path = directory / "federation-with-real-idp.yaml"
    path.write_text(DEMO_CONFIG.read_text(encoding="utf-8").rstrip("\n") + "\n" + entry, encoding="utf-8")
    return path
