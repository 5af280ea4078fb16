"""The registration form of a stub IDP: posted fields -> a new StubUser, or errors per field.

Plain Python (no Flask) so the rules are easy to read and test. Every value the stub "verifies" is marked
verified, as a real IDP would after its checks. Error values are message keys of the stub's catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from federation.loa import LevelOfAssurance
from federation.saml import Address, MatchingDataset, MdsValue
from stub_idps.users import StubUser

GENDERS = ("FEMALE", "MALE", "NOT_SPECIFIED")
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# Loose UK postcode shape: outward code, optional space, inward code
POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$")
MAX_TEXT = 100
_ERR = "stub_idp.register.errors."  # message keys in stub_idps/messages.yaml

# Field names of the form, in page order (the error summary links to them)
FIELDS = (
    "username",
    "password",
    "first_name",
    "middle_names",
    "surname",
    "gender",
    "dob",
    "address_line1",
    "address_line2",
    "address_town",
    "postcode",
    "level_of_assurance",
)


@dataclass(frozen=True)
class RegistrationResult:
    user: StubUser | None
    errors: Mapping[str, str] = field(default_factory=dict)  # field -> message key


def _text(form: Mapping[str, str], name: str) -> str:
    return " ".join((form.get(name) or "").split())


def _date_of_birth(form: Mapping[str, str], today: date) -> date | None:
    parts = [(form.get(f"dob-{part}") or "").strip() for part in ("day", "month", "year")]
    if not all(p.isdigit() for p in parts):
        return None
    day, month, year = (int(p) for p in parts)
    try:
        born = date(year, month, day)
    except ValueError:
        return None
    return born if date(1900, 1, 1) <= born < today else None


def parse_registration(
    form: Mapping[str, str], *, idp_levels: Sequence[LevelOfAssurance], today: date
) -> RegistrationResult:
    errors: dict[str, str] = {}
    username = (form.get("username") or "").strip()
    password = form.get("password") or ""
    first_name, middle_names, surname = (_text(form, n) for n in ("first_name", "middle_names", "surname"))
    line1, line2, town = (_text(form, n) for n in ("address_line1", "address_line2", "address_town"))
    postcode = _text(form, "postcode").upper()
    gender = form.get("gender") or "NOT_SPECIFIED"

    if not USERNAME.match(username):
        errors["username"] = _ERR + "username"
    if not password or len(password) > MAX_TEXT:
        errors["password"] = _ERR + "password"
    for name, value in (("first_name", first_name), ("surname", surname), ("address_line1", line1)):
        if not value or len(value) > MAX_TEXT:
            errors[name] = _ERR + name
    for name, value in (("middle_names", middle_names), ("address_line2", line2), ("address_town", town)):
        if len(value) > MAX_TEXT:
            errors[name] = _ERR + "too_long"
    if gender not in GENDERS:
        errors["gender"] = _ERR + "gender"
    born = _date_of_birth(form, today)
    if born is None:
        errors["dob"] = _ERR + "dob"
    if not POSTCODE.match(postcode):
        errors["postcode"] = _ERR + "postcode"
    level = next((lv for lv in idp_levels if lv.name == form.get("level_of_assurance")), None)
    if level is None:
        errors["level_of_assurance"] = _ERR + "level_of_assurance"
    if errors:
        return RegistrationResult(user=None, errors=errors)

    dataset = MatchingDataset(
        first_names=(MdsValue(first_name, verified=True),),
        middle_names=(MdsValue(middle_names, verified=True),) if middle_names else (),
        surnames=(MdsValue(surname, verified=True),),
        gender=MdsValue(gender, verified=gender != "NOT_SPECIFIED"),
        date_of_birth=MdsValue(born, verified=True),  # type: ignore[arg-type]
        current_address=Address(
            lines=tuple(line for line in (line1, line2, town) if line), postcode=postcode, verified=True
        ),
    )
    user = StubUser(
        username=username,
        password=password,
        level_of_assurance=level,  # type: ignore[arg-type]
        matching_dataset=dataset,
        scenario="registered",
    )
    return RegistrationResult(user=user)
