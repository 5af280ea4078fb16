"""The citizen's identity as an identity provider verified it: the matching dataset, as plain data.

Domain data, not SAML: the SAML profile reads and writes it (`federation.saml.assertion`), the hub keeps it
in the encrypted session for the front ends that release it to a service, the matching service matches on
it. Each value carries whether the IDP verified it and when it was true (`From`/`To`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

T = TypeVar("T", str, date)


@dataclass(frozen=True)
class MdsValue(Generic[T]):
    """One value of a matching-dataset attribute, with the IDP's verification and its validity period."""

    value: T
    verified: bool = False
    from_date: date | None = None
    to_date: date | None = None


@dataclass(frozen=True)
class Address:
    lines: tuple[str, ...]
    postcode: str | None = None
    international_postcode: str | None = None
    uprn: str | None = None
    verified: bool = False
    from_date: date | None = None
    to_date: date | None = None


@dataclass(frozen=True)
class MatchingDataset:
    first_names: tuple[MdsValue[str], ...] = ()
    middle_names: tuple[MdsValue[str], ...] = ()
    surnames: tuple[MdsValue[str], ...] = ()
    gender: MdsValue[str] | None = None
    date_of_birth: MdsValue[date] | None = None
    current_address: Address | None = None
    previous_addresses: tuple[Address, ...] = ()
