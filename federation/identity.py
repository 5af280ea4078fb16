"""The citizen's identity as an identity provider verified it: the matching dataset, as plain data.

Domain data, not SAML: the SAML profile reads and writes it (`federation.saml.assertion`), the hub keeps it
in the encrypted session for the front ends that release it to a service, the matching service matches on
it. Each value carries whether the IDP verified it and when it was true (`From`/`To`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

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


# --- plain-data form (JSON), for what keeps a dataset between requests ---------------------------------------


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _value_to_dict(value: MdsValue) -> dict[str, Any]:
    raw = value.value.isoformat() if isinstance(value.value, date) else value.value
    return {"value": raw, "verified": value.verified, "from": _iso(value.from_date), "to": _iso(value.to_date)}


def _value_from_dict(raw: Mapping[str, Any], *, is_date: bool = False) -> MdsValue:
    value = date.fromisoformat(raw["value"]) if is_date else str(raw["value"])
    return MdsValue(value, bool(raw["verified"]), _date(raw.get("from")), _date(raw.get("to")))


def _address_to_dict(address: Address) -> dict[str, Any]:
    return {
        "lines": list(address.lines),
        "postcode": address.postcode,
        "international_postcode": address.international_postcode,
        "uprn": address.uprn,
        "verified": address.verified,
        "from": _iso(address.from_date),
        "to": _iso(address.to_date),
    }


def _address_from_dict(raw: Mapping[str, Any]) -> Address:
    return Address(
        lines=tuple(str(line) for line in raw["lines"]),
        postcode=raw.get("postcode"),
        international_postcode=raw.get("international_postcode"),
        uprn=raw.get("uprn"),
        verified=bool(raw["verified"]),
        from_date=_date(raw.get("from")),
        to_date=_date(raw.get("to")),
    )


def dataset_to_dict(dataset: MatchingDataset) -> dict[str, Any]:
    return {
        "first_names": [_value_to_dict(v) for v in dataset.first_names],
        "middle_names": [_value_to_dict(v) for v in dataset.middle_names],
        "surnames": [_value_to_dict(v) for v in dataset.surnames],
        "gender": _value_to_dict(dataset.gender) if dataset.gender else None,
        "date_of_birth": _value_to_dict(dataset.date_of_birth) if dataset.date_of_birth else None,
        "current_address": _address_to_dict(dataset.current_address) if dataset.current_address else None,
        "previous_addresses": [_address_to_dict(a) for a in dataset.previous_addresses],
    }


def dataset_from_dict(raw: Mapping[str, Any]) -> MatchingDataset:
    """The dataset `dataset_to_dict` gave; KeyError, TypeError or ValueError for anything else."""
    return MatchingDataset(
        first_names=tuple(_value_from_dict(v) for v in raw["first_names"]),
        middle_names=tuple(_value_from_dict(v) for v in raw["middle_names"]),
        surnames=tuple(_value_from_dict(v) for v in raw["surnames"]),
        gender=_value_from_dict(raw["gender"]) if raw["gender"] else None,
        date_of_birth=_value_from_dict(raw["date_of_birth"], is_date=True) if raw["date_of_birth"] else None,
        current_address=_address_from_dict(raw["current_address"]) if raw["current_address"] else None,
        previous_addresses=tuple(_address_from_dict(a) for a in raw["previous_addresses"]),
    )
