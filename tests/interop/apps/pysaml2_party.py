"""What the pysaml2 parties here (a service, an identity provider) share: their keys, and the federation
metadata, which pysaml2 loads when it loads its configuration, as a `remote` source checked against the
one certificate given as its `cert`. pysaml2 leaves out three things this module adds:

- **Two pinned certificates** during a rotation of the federation's metadata-signing key: pysaml2 takes
  one per source (xmlsec1 reads the first certificate of a PEM file), so each is tried in turn.
- **A signature at all**: pysaml2 loads a document whose signature was removed as it stands
  (IdentityPython/pysaml2#1037).
- **What the signature covers**: pysaml2 checks that a signature verifies, not that it signs the document
  it reads; genuine signed content wrapped inside a forged document verifies. The signature's one
  Reference must be the root's ID, with nothing nested.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from saml2.config import Config
from saml2.sigver import SignatureError, get_xmlsec_binary

AnyConfig = TypeVar("AnyConfig", bound=Config)


@dataclass(frozen=True)
class Party:
    """A pysaml2 party's own entity and keys, and where it finds the federation metadata."""

    entity_id: str
    signing_key: Path
    signing_cert: Path
    encryption_key: Path
    encryption_cert: Path
    metadata_url: str  # the hub's GET /SAML2/metadata/federation
    # Pinned: the metadata-signing certificate, or during a rotation the current and the next one
    metadata_signing_certs: tuple[Path, ...]


class MetadataRefused(Exception):
    """The federation metadata is not what a pinned certificate signed: the party does not use it."""


def load_checked(load: Callable[[Path], AnyConfig], pinned: Sequence[Path]) -> AnyConfig:
    """`load(certificate)` (pysaml2's config, loading the metadata with that `cert`), checked as above."""
    refusal: Exception = MetadataRefused("no metadata-signing certificate is pinned")
    for certificate in pinned:
        try:
            config = load(certificate)
        except SignatureError as exc:  # not signed with this certificate
            refusal = exc
            continue
        for source, loaded in config.metadata.metadata.items():
            root = loaded.entities_descr
            if root is None or root.signature is None:
                raise MetadataRefused(f"unsigned metadata from {source}")
            references = [reference.uri for reference in root.signature.signed_info.reference]
            if not root.id or references != [f"#{root.id}"] or root.entities_descriptor:
                raise MetadataRefused(f"the signature does not cover the whole document from {source}")
        return config
    raise refusal


def load_config(config_class: type[AnyConfig], party: Party, **settings: Any) -> AnyConfig:
    """pysaml2's configuration of `party` (an SPConfig or IdPConfig) with `settings`, its metadata checked."""

    def load(pinned: Path) -> AnyConfig:
        config = config_class()
        config.load(
            {
                "entityid": party.entity_id,
                "xmlsec_binary": get_xmlsec_binary(["/usr/bin"]),
                "key_file": str(party.signing_key),
                "cert_file": str(party.signing_cert),
                "encryption_keypairs": [
                    {"key_file": str(party.encryption_key), "cert_file": str(party.encryption_cert)}
                ],
                "metadata": {"remote": [{"url": party.metadata_url, "cert": str(pinned)}]},
                **settings,
            }
        )
        return config

    return load_checked(load, party.metadata_signing_certs)
