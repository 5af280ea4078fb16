"""The standard profile under test: the demo federation with two services switched to `standard`.

Real keys from the development PKI (the session's `keys_dir`), signed federation metadata, and Responses
built by `federation.saml.standard` exactly as the hub's front end will call it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml
from lxml import etree

from federation.config import FederationConfig, RelyingParty, load_federation_config
from federation.credentials import EntityCredentials, load_certificate, load_entity_credentials, load_signing_credential
from federation.demo import DEMO_CONFIG
from federation.loa import LevelOfAssurance
from federation.metadata import build_federation_metadata
from federation.saml import Address, MatchingDataset, MdsValue, new_id
from federation.saml.constants import STANDARD_ATTRIBUTES, MatchingOutcome
from federation.saml.standard import build_standard_response
from federation.xmlsecurity import KeyTransport

IDP_PID = "stub-idp-two-pid-0042"
# Attributes the service with a matching service asks for (the other one asks for the whole catalogue).
MATCHING_RP_ATTRIBUTES = ("surname", "date_of_birth", "postcode")

# A citizen as an IDP would assert them: a closed (To-dated) first name and surname, two current middle
# names of which one unverified, an unverified gender, a current address with a UPRN, a Welsh circumflex.
MDS = MatchingDataset(
    first_names=(
        MdsValue("Jane", True, from_date=date(1985, 7, 14), to_date=date(2001, 3, 1)),
        MdsValue("Siân", True, from_date=date(2001, 3, 1)),
    ),
    middle_names=(MdsValue("Olwen", True), MdsValue("Mair", False)),
    surnames=(MdsValue("Smith", True, to_date=date(2010, 6, 5)), MdsValue("O'Brien-Jones", True)),
    gender=MdsValue("FEMALE", False),
    date_of_birth=MdsValue(date(1985, 7, 14), True),
    current_address=Address(
        lines=("Flat 2", "10 Heol y Frenhines", "Caerdydd"),
        postcode="CF10 2BH",
        uprn="100100106420",
        verified=True,
        from_date=date(2015, 1, 1),
    ),
    previous_addresses=(Address(lines=("1 Old Road", "Leeds"), postcode="LS1 1AA", to_date=date(2014, 12, 31)),),
)

# What a service asking for everything reads from MDS, as every library returns it: name -> values.
EXPECTED_ALL = {
    "first_name": ["Siân"],
    "first_name_verified": ["true"],
    "middle_names": ["Olwen Mair"],
    "middle_names_verified": ["false"],
    "surname": ["O'Brien-Jones"],
    "surname_verified": ["true"],
    "date_of_birth": ["1985-07-14"],
    "date_of_birth_verified": ["true"],
    "gender": ["FEMALE"],
    "gender_verified": ["false"],
    "address_lines": ["Flat 2", "10 Heol y Frenhines", "Caerdydd"],
    "address_lines_verified": ["true"],
    "postcode": ["CF10 2BH"],
    "postcode_verified": ["true"],
    "uprn": ["100100106420"],
    "uprn_verified": ["true"],
}
EXPECTED_MATCHING = {
    "surname": ["O'Brien-Jones"],
    "surname_verified": ["true"],
    "date_of_birth": ["1985-07-14"],
    "date_of_birth_verified": ["true"],
    "postcode": ["CF10 2BH"],
    "postcode_verified": ["true"],
    "matching_outcome": ["match"],
}


@dataclass(frozen=True)
class StandardFederation:
    config: FederationConfig
    keys_dir: Path
    hub: EntityCredentials
    rp: EntityCredentials  # test-rp's keys, which both standard services use in the demo
    metadata: bytes  # the signed federation metadata, as a department downloads it

    @property
    def non_matching_rp(self) -> RelyingParty:
        return next(rp for rp in self.config.relying_parties if rp.name == "test-rp-non-matching")

    @property
    def matching_rp(self) -> RelyingParty:
        return next(rp for rp in self.config.relying_parties if rp.name == "test-rp")

    @property
    def idp_entity_id(self) -> str:
        return next(idp.entity_id for idp in self.config.identity_providers if idp.name == "stub-idp-two")

    def response(
        self,
        rp: RelyingParty,
        *,
        key_transport: KeyTransport,
        in_response_to: str | None = None,
        level: LevelOfAssurance = LevelOfAssurance.LEVEL_2,
        matching_outcome: MatchingOutcome | None = None,
        now: datetime | None = None,
    ) -> tuple[str, etree._Element]:
        """(the service's AuthnRequest ID, the hub's signed Response to it) for `rp` with `key_transport`."""
        request_id = in_response_to or new_id()
        now = now or datetime.now(UTC)
        response = build_standard_response(
            rp=dataclasses.replace(rp, key_transport=key_transport),
            hub_entity_id=self.config.hub.entity_id,
            credential=self.hub.signing,
            idp_entity_id=self.idp_entity_id,
            pid=IDP_PID,
            level=level,
            authn_instant=now - timedelta(seconds=40),
            matching_dataset=MDS,
            in_response_to=request_id,
            acs_url=rp.default_acs_url(),
            now=now,
            matching_outcome=matching_outcome,
        )
        return request_id, response


def standard_federation(keys_dir: Path, directory: Path) -> StandardFederation:
    """The demo federation with test-rp (matching) and test-rp-non-matching on the standard profile."""
    data = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    for service in data["relying_parties"]:
        if service["name"] == "test-rp":
            service.update(saml_profile="standard", attributes=list(MATCHING_RP_ATTRIBUTES))
        elif service["name"] == "test-rp-non-matching":
            service.update(saml_profile="standard", attributes=list(STANDARD_ATTRIBUTES))
    path = directory / "federation.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    config = load_federation_config(path, keys_dir=keys_dir, variables={})
    metadata_key = load_signing_credential(keys_dir / "metadata-signing.key", keys_dir / "metadata-signing.crt")
    metadata = build_federation_metadata(config, metadata_key, chain=[load_certificate(keys_dir / "metadata-ca.crt")])
    return StandardFederation(
        config=config,
        keys_dir=keys_dir,
        hub=load_entity_credentials(keys_dir, "hub"),
        rp=load_entity_credentials(keys_dir, "test-rp"),
        metadata=metadata,
    )
