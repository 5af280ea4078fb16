"""From what the IDP asserted (SAML matching dataset) to what the local matcher and the RP receive.

Pure data conversion, no XML and no HTTP: the SAML side reads `federation.saml.assertion.MatchingDataset`,
the local matcher's contract speaks `matching_rule.MatchingDataset`, and account creation answers the
RP's requested attributes (GOV.UK Verify names: FIRST_NAME, SURNAME, DATE_OF_BIRTH, ...).

Where the SAML dataset holds several values and the contract holds one (first name, middle names), the
value chosen is the first verified current one, then the first verified, then the first current, then the
first: the matching rule only ever trusts verified values, so a verified value must never be displaced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from federation.saml.assertion import Address, Attribute, AttributeValue, MdsValue
from federation.saml.assertion import MatchingDataset as SamlMatchingDataset
from federation.saml.constants import ACCOUNT_CREATION_ATTRIBUTES
from matching_service import matching_rule as rule


def _choose(values: Sequence[MdsValue]) -> MdsValue | None:
    for wanted in (
        lambda v: v.verified and v.to_date is None,
        lambda v: v.verified,
        lambda v: v.to_date is None,
        lambda v: True,
    ):
        for value in values:
            if wanted(value):
                return value
    return None


def _name(value: MdsValue[str] | None) -> rule.Name | None:
    if value is None:
        return None
    return rule.Name(value=value.value, verified=value.verified, from_date=value.from_date, to_date=value.to_date)


def _address(address: Address) -> rule.Address:
    return rule.Address(
        lines=address.lines,
        post_code=address.postcode,
        verified=address.verified,
        international_post_code=address.international_postcode,
        uprn=address.uprn,
        from_date=address.from_date,
        to_date=address.to_date,
    )


def _addresses(dataset: SamlMatchingDataset) -> tuple[Address, ...]:
    current = (dataset.current_address,) if dataset.current_address is not None else ()
    return (*current, *dataset.previous_addresses)


def to_matching_rule_dataset(dataset: SamlMatchingDataset) -> rule.MatchingDataset:
    """The local matcher contract's dataset: current address first, then the previous ones."""
    gender = dataset.gender
    dob = dataset.date_of_birth
    return rule.MatchingDataset(
        first_name=_name(_choose(dataset.first_names)),
        middle_names=_name(_choose(dataset.middle_names)),
        surnames=tuple(_name(s) for s in dataset.surnames),  # type: ignore[misc]
        gender=rule.Gender(value=gender.value, verified=gender.verified) if gender is not None else None,
        date_of_birth=rule.DateOfBirth(value=dob.value, verified=dob.verified) if dob is not None else None,  # type: ignore[arg-type]
        addresses=tuple(_address(a) for a in _addresses(dataset)),
    )


# --- account creation ------------------------------------------------------------------------------------


class UnknownAttributeError(ValueError):
    """A requested attribute that is not in the profile's account-creation list."""


def account_creation_attributes(
    requested: Sequence[str], dataset: SamlMatchingDataset, cycle3_value: str | None = None
) -> tuple[Attribute, ...]:
    """The requested attributes, in the order requested, each with the values the IDP asserted.

    An attribute the dataset has no value for is left out (the RP learns it is unknown by its absence).
    """
    unknown = [name for name in requested if name not in ACCOUNT_CREATION_ATTRIBUTES]
    if unknown:
        raise UnknownAttributeError(f"{len(unknown)} requested attribute(s) are not account-creation attributes")
    first = _choose(dataset.first_names)
    middle = _choose(dataset.middle_names)
    surname = _choose(dataset.surnames)
    dob = dataset.date_of_birth
    current = dataset.current_address
    available: dict[str, tuple[AttributeValue, ...]] = {
        "FIRST_NAME": (first,) if first else (),
        "FIRST_NAME_VERIFIED": (first.verified,) if first else (),
        "MIDDLE_NAME": (middle,) if middle else (),
        "MIDDLE_NAME_VERIFIED": (middle.verified,) if middle else (),
        "SURNAME": (surname,) if surname else (),
        "SURNAME_VERIFIED": (surname.verified,) if surname else (),
        "DATE_OF_BIRTH": (dob,) if dob else (),
        "DATE_OF_BIRTH_VERIFIED": (dob.verified,) if dob else (),
        "CURRENT_ADDRESS": (current,) if current else (),
        "CURRENT_ADDRESS_VERIFIED": (current.verified,) if current else (),
        "ADDRESS_HISTORY": _addresses(dataset),
        "CYCLE_3": (cycle3_value,) if cycle3_value else (),
    }
    seen: set[str] = set()
    attributes = []
    for name in requested:
        if name not in seen and available[name]:
            attributes.append(Attribute(name, available[name]))
        seen.add(name)
    return tuple(attributes)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _value_json(value: AttributeValue) -> Any:
    if isinstance(value, Address):
        return {
            "lines": list(value.lines),
            "postCode": value.postcode,
            "internationalPostCode": value.international_postcode,
            "uprn": value.uprn,
            "from": _iso(value.from_date),
            "to": _iso(value.to_date),
            "verified": value.verified,
        }
    if isinstance(value, MdsValue):
        raw = value.value.isoformat() if isinstance(value.value, date) else value.value
        return {"value": raw, "verified": value.verified, "from": _iso(value.from_date), "to": _iso(value.to_date)}
    return value  # bool or str


def attributes_to_json(attributes: Sequence[Attribute]) -> Mapping[str, Any]:
    """The create-user body's attributes: one JSON value each, a list for ADDRESS_HISTORY."""
    body: dict[str, Any] = {}
    for attribute in attributes:
        values = [_value_json(v) for v in attribute.values]
        body[attribute.name] = values if attribute.name == "ADDRESS_HISTORY" else values[0]
    return body
