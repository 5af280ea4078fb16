"""What an OpenID Connect client receives of the verified identity: only verified, current values, as
OIDC4IDA verified_claims, and the identity JWT's names with their validity dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

from federation.config import CORE_IDENTITY_CLAIM
from federation.identity import Address, MatchingDataset, MdsValue
from hub.frontends.oidc import claims

IDENTITY = MatchingDataset(
    first_names=(MdsValue("Alice", True), MdsValue("Ally", False)),
    surnames=(MdsValue("Evans", True, date(2010, 6, 1)), MdsValue("Jones", True, None, date(2010, 5, 31))),
    date_of_birth=MdsValue(date(1985, 3, 14), True),
    current_address=Address(("12 Orchard Road", "Bristol"), "BS7 8QT", verified=False),
)
WHEN = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def test_only_verified_current_values_of_the_wanted_claims():
    released = claims.identity_claims(IDENTITY, ("given_name", "family_name", "birthdate", "address"))
    assert released == {"given_name": "Alice", "family_name": "Evans", "birthdate": "1985-03-14"}  # address unverified
    assert claims.identity_claims(IDENTITY, ("birthdate",)) == {"birthdate": "1985-03-14"}


def test_verified_claims_say_who_vouched_and_when():
    verified = claims.verified_claims(
        identity=IDENTITY, wanted=("given_name",), trust_framework="uk_tfida", assurance_level="P2",
        verified_at=WHEN, voucher="Stub IDP Two",
    )  # fmt: skip
    assert verified == {
        "verification": {
            "trust_framework": "uk_tfida",
            "assurance_level": "P2",
            "time": "2026-11-29T10:00:00Z",
            "evidence": [
                {
                    "type": "vouch",
                    "attestation": {"type": "digital_attestation"},
                    "voucher": {"organization": "Stub IDP Two"},
                    "time": "2026-11-29T10:00:00Z",
                }
            ],
        },
        "claims": {"given_name": "Alice"},
    }
    none = claims.verified_claims(
        identity=IDENTITY, wanted=("address",), trust_framework="uk_tfida", assurance_level="P2",
        verified_at=WHEN, voucher="x",
    )  # fmt: skip
    assert none is None  # nothing verified to release: no empty verified_claims


def test_identity_jwt_names_carry_their_validity():
    payload = claims.identity_jwt_payload(IDENTITY, "P2")
    names = payload["vc"]["credentialSubject"]["name"]
    assert names == [
        {"nameParts": [{"type": "GivenName", "value": "Alice"}, {"type": "FamilyName", "value": "Evans"}],
         "validFrom": "2010-06-01"},
        {"nameParts": [{"type": "GivenName", "value": "Alice"}, {"type": "FamilyName", "value": "Jones"}],
         "validUntil": "2010-05-31"},
    ]  # fmt: skip
    assert payload["vc"]["credentialSubject"]["birthDate"] == [{"value": "1985-03-14"}]
    assert payload["vot"] == "P2"


def test_a_client_gets_only_what_it_asked_for_and_is_registered_for():
    asked = ("given_name", "address", CORE_IDENTITY_CLAIM)
    assert claims.requested_identity(asked, ("given_name", "birthdate")) == ("given_name",)
    assert claims.requested_identity(asked, ("address", CORE_IDENTITY_CLAIM)) == ("address", CORE_IDENTITY_CLAIM)
