"""The parties the third-party tests register: four departments' services (python3-saml and pysaml2, each
with and without a matching service) and one identity provider written with pysaml2.

Each party gets keys of its own from the development PKI's intermediate CAs, written into the test's own
directory (so the stub IDPs, which serve every identity provider whose signing key is in the keys
directory, leave the pysaml2 IDP to itself), and an entry in a copy of the demo federation config. The
apps listen on 127.0.0.1 and are addressed as `localhost`, another site than the hub's, as in life.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from flask import Flask

from federation.launcher import free_port
from federation.saml.constants import STANDARD_ATTRIBUTES
from tests.support.dev_pki import issue_keys
from tests.support.serving import serving

HUB_ENTITY_ID = "https://hub.federation.test"
MATCHING_SERVICE_ENTITY_ID = "https://test-rp-ms.federation.test"
ALL_ATTRIBUTES = STANDARD_ATTRIBUTES  # the whole catalogue (docs/saml-profiles.md)
MATCHING_ATTRIBUTES = ("surname", "date_of_birth", "postcode")

Library = Literal["python3-saml", "pysaml2"]


@dataclass(frozen=True)
class KeyPair:
    key: Path
    cert: Path


@dataclass(frozen=True)
class Department:
    """One department's service: which library it runs, whether it has a matching service, its keys."""

    library: Library
    matching: bool
    port: int
    signing: KeyPair
    encryption: KeyPair  # python3-saml has one key pair: the same as `signing`

    @property
    def name(self) -> str:
        return f"{self.library}-{'matching' if self.matching else 'non-matching'}"

    @property
    def entity_id(self) -> str:
        return f"https://{self.name}.department.test"

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def attributes(self) -> tuple[str, ...]:
        return MATCHING_ATTRIBUTES if self.matching else ALL_ATTRIBUTES

    @property
    def key_transport(self) -> str:
        """docs/saml-profiles.md: pysaml2's xmlsec1 1.2 unwraps only XML-Enc 1.0's rsa-oaep-mgf1p."""
        return "rsa-oaep-mgf1p" if self.library == "pysaml2" else "rsa-oaep"

    def config_entry(self) -> str:
        matching = f"\n    matching_service_entity_id: {MATCHING_SERVICE_ENTITY_ID}" if self.matching else ""
        return f"""
  - name: {self.name}
    entity_id: {self.entity_id}
    display_name: {{en: {self.name}, cy: {self.name}}}
    saml_profile: standard
    key_transport: {self.key_transport}
    attributes: [{", ".join(self.attributes)}]{matching}
    assertion_consumer_services:
      - {{index: 0, url: "{self.url}/acs", is_default: true}}
    levels_of_assurance: [LEVEL_1, LEVEL_2]
    service_home_url: {self.url}/
    other_ways: {{en: Apply by post., cy: Gwnewch gais drwy'r post.}}
    signing_certificates: [{self.signing.cert}]
    encryption_certificate: {self.encryption.cert}
"""


@dataclass(frozen=True)
class ThirdPartyIdp:
    """The identity provider written with pysaml2: certified for LEVEL_2, offered to every service."""

    port: int
    signing: KeyPair
    encryption: KeyPair
    name: str = "pysaml2-idp"
    display_name: str = "Pysaml2 Identity"
    entity_id: str = "https://pysaml2-idp.company.test"

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    @property
    def sso_url(self) -> str:
        return f"{self.url}/SAML2/SSO"

    def config_entry(self) -> str:
        return f"""
  - name: {self.name}
    entity_id: {self.entity_id}
    display_name: {{en: {self.display_name}, cy: {self.display_name}}}
    levels_of_assurance: [LEVEL_2]
    sso_url: {self.sso_url}
    signing_certificates: [{self.signing.cert}]
    encryption_certificate: {self.encryption.cert}
"""


def _pair(keys_dir: Path, directory: Path, stem: str, ca: str, usage: Literal["signing", "encryption"]) -> KeyPair:
    return KeyPair(*issue_keys(keys_dir, directory, stem, ca=ca, usage=usage))


def new_department(keys_dir: Path, directory: Path, library: Library, *, matching: bool) -> Department:
    stem = f"{library}-{'matching' if matching else 'non-matching'}"
    encryption = _pair(keys_dir, directory, f"{stem}-encryption", "rp-ca", "encryption")
    if library == "python3-saml":  # one key pair: it signs AuthnRequests and decrypts assertions
        return Department(library, matching, free_port(), encryption, encryption)
    signing = _pair(keys_dir, directory, f"{stem}-signing", "rp-ca", "signing")
    return Department(library, matching, free_port(), signing, encryption)


def new_idp(keys_dir: Path, directory: Path) -> ThirdPartyIdp:
    return ThirdPartyIdp(
        free_port(),
        _pair(keys_dir, directory, "pysaml2-idp-signing", "idp-ca", "signing"),
        _pair(keys_dir, directory, "pysaml2-idp-encryption", "idp-ca", "encryption"),
    )


@contextmanager
def serving_all(apps: dict[int, Flask]) -> Iterator[None]:
    """Serve each app on its port (a thread each) until the block ends."""
    with ExitStack() as stack:
        for port, app in apps.items():
            stack.enter_context(serving(app, port))
        yield
