"""The citizen's verified identity as a client receives it: OpenID Connect for Identity Assurance 1.0
`verified_claims`, and, for GOV.UK One Login compatibility, the payload of the signed identity JWT.

Only values the identity provider marked verified are released, only the claims the client is registered
for and asked for, and only when the journey reached identity confidence (a `P` above `P0`): an
authentication-only sign-in never carries identity, whatever the IDP sent.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from federation.config import CORE_IDENTITY_CLAIM
from federation.identity import Address, MatchingDataset, MdsValue

VERIFIED_CLAIMS = ("given_name", "family_name", "birthdate", "address")


def _current(values: tuple[MdsValue, ...]) -> MdsValue | None:
    """The verified value in force now (no end date), the IDP's first such one."""
    return next((value for value in values if value.verified and value.to_date is None), None)


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _address(address: Address) -> dict[str, str]:
    claim = {"formatted": ", ".join((*address.lines, address.postcode or "")).strip(", ")}
    claim["street_address"] = "\n".join(address.lines)
    if address.postcode:
        claim["postal_code"] = address.postcode
    return claim


def identity_claims(identity: MatchingDataset, wanted: tuple[str, ...]) -> dict[str, Any]:
    """The verified values of the `wanted` claims (names from VERIFIED_CLAIMS) that the IDP verified."""
    claims: dict[str, Any] = {}
    given, family = _current(identity.first_names), _current(identity.surnames)
    if "given_name" in wanted and given is not None:
        claims["given_name"] = given.value
    if "family_name" in wanted and family is not None:
        claims["family_name"] = family.value
    dob = identity.date_of_birth
    if "birthdate" in wanted and dob is not None and dob.verified:
        claims["birthdate"] = dob.value.isoformat()
    address = identity.current_address
    if "address" in wanted and address is not None and address.verified:
        claims["address"] = _address(address)
    return claims


def verified_claims(
    *,
    identity: MatchingDataset,
    wanted: tuple[str, ...],
    trust_framework: str,
    assurance_level: str,
    verified_at: datetime,
    voucher: str,
) -> dict[str, Any] | None:
    """The `verified_claims` object, or None when none of the wanted claims was verified."""
    claims = identity_claims(identity, wanted)
    if not claims:
        return None
    time = verified_at.isoformat().replace("+00:00", "Z")
    return {
        "verification": {
            "trust_framework": trust_framework,
            "assurance_level": assurance_level,
            "time": time,
            # What the IDP gave: a certified company vouched for the citizen at this level, digitally.
            "evidence": [
                {
                    "type": "vouch",
                    "attestation": {"type": "digital_attestation"},
                    "voucher": {"organization": voucher},
                    "time": time,
                }
            ],
        },
        "claims": claims,
    }


def _name_entries(identity: MatchingDataset) -> list[dict[str, Any]]:
    """Names with their validity: the verified given names with each verified surname the IDP gave."""
    given = [value for value in identity.first_names if value.verified]
    entries = []
    for surname in (value for value in identity.surnames if value.verified):
        parts = [{"type": "GivenName", "value": value.value} for value in given if value.to_date is None]
        parts.append({"type": "FamilyName", "value": surname.value})
        entry: dict[str, Any] = {"nameParts": parts}
        if surname.from_date is not None:
            entry["validFrom"] = _iso(surname.from_date)
        if surname.to_date is not None:
            entry["validUntil"] = _iso(surname.to_date)
        entries.append(entry)
    return entries


def identity_jwt_payload(identity: MatchingDataset, confidence: str) -> dict[str, Any]:
    """The identity JWT's claims besides iss, sub, aud and times: names with validity dates, birth date."""
    subject: dict[str, Any] = {"name": _name_entries(identity)}
    dob = identity.date_of_birth
    if dob is not None and dob.verified:
        subject["birthDate"] = [{"value": dob.value.isoformat()}]
    return {
        "vot": confidence,
        "vc": {"type": ["VerifiableCredential", "IdentityCheckCredential"], "credentialSubject": subject},
    }


def requested_identity(requested: tuple[str, ...], allowed: tuple[str, ...]) -> tuple[str, ...]:
    """The identity claims to release: those both requested and registered for the client."""
    return tuple(claim for claim in (*VERIFIED_CLAIMS, CORE_IDENTITY_CLAIM) if claim in requested and claim in allowed)
