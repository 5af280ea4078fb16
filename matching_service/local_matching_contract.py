"""The local matcher's JSON contract (ARCHITECTURE section 2, step 8): parse strictly, build faithfully.

Both sides use this module: the local matcher parses requests with `parse_match_request` /
`parse_create_user_request`, and the SAML AttributeQuery endpoint builds them with `match_request_to_json`,
so the two cannot drift apart.

    POST /local-matching/match
    {"matchId": str, "levelOfAssurance": "LEVEL_1".."LEVEL_4", "hashedPid": 64 hex digits,
     "matchingDataset": {"firstName": V?, "middleNames": V?, "surnames": [V], "gender": V?,
                         "dateOfBirth": V?, "addresses": [A]},
     "cycle3Dataset": {"attributes": {name: str}}?}
        V = {"value": str, "verified": bool, "from": date?, "to": date?}
        A = {"lines": [str], "postCode": str?, "internationalPostCode": str?, "uprn": str?,
             "from": date?, "to": date?, "verified": bool}
        dates: ISO 8601 "YYYY-MM-DD" (a full ISO timestamp is accepted and its date used)
    -> {"result": "match" | "no-match"}

    POST /local-matching/create-user
    {"hashedPid": ..., "levelOfAssurance": ..., <any other keys: the account-creation attributes>}
    -> {"result": "success" | "failure"}

Strict: unknown keys, wrong types, missing required keys and oversized values are refused with a
`ContractError` whose message names the field path only, never the value (values are personal data).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from matching_service.matching_rule import Address, DateOfBirth, Gender, MatchingDataset, Name

LEVELS_OF_ASSURANCE = frozenset({"LEVEL_1", "LEVEL_2", "LEVEL_3", "LEVEL_4"})
MATCH_RESULTS = frozenset({"match", "no-match"})
CREATE_USER_RESULTS = frozenset({"success", "failure"})

MAX_TEXT = 500
MAX_LIST = 20
MAX_CREATE_USER_ATTRIBUTES = 50
_HASHED_PID = re.compile(r"\A[0-9a-fA-F]{64}\Z")


class ContractError(ValueError):
    """A request that does not follow the contract; `path` is the offending field."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


@dataclass(frozen=True)
class MatchRequest:
    match_id: str
    level_of_assurance: str
    hashed_pid: str
    matching_dataset: MatchingDataset
    cycle3_attributes: Mapping[str, str] | None = None


@dataclass(frozen=True)
class CreateUserRequest:
    hashed_pid: str
    level_of_assurance: str
    attributes: Mapping[str, Any] = field(default_factory=dict)


# --- parsing ---------------------------------------------------------------------------------------------


def _object(value: object, path: str, allowed: set[str], required: set[str] = frozenset()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ContractError(path, "must be a JSON object")
    for key in value:
        if key not in allowed:
            raise ContractError(_join(path, key), "unknown field")
    for key in required:
        if key not in value:
            raise ContractError(_join(path, key), "is required")
    return value


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _optional_text(value: object, path: str) -> str | None:
    return None if value is None else _text(value, path, allow_empty=True)


def _text(value: object, path: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise ContractError(path, "must be a string")
    if not value.strip() and not allow_empty:
        raise ContractError(path, "must not be empty")
    if len(value) > MAX_TEXT:
        raise ContractError(path, f"longer than {MAX_TEXT} characters")
    return value


def _bool(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise ContractError(path, "must be true or false")
    return value


def _date(value: object, path: str, *, optional: bool = True) -> date | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise ContractError(path, "must be an ISO 8601 date string")
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value)
        if re.match(r"\d{4}-\d{2}-\d{2}T", value):
            return datetime.fromisoformat(value).date()
    except ValueError:
        pass
    raise ContractError(path, "must be an ISO 8601 date (YYYY-MM-DD)")


def _list(value: object, path: str, *, optional: bool = True) -> list[Any]:
    if value is None and optional:
        return []
    if not isinstance(value, list):
        raise ContractError(path, "must be a JSON array")
    if len(value) > MAX_LIST:
        raise ContractError(path, f"more than {MAX_LIST} entries")
    return value


_SIMPLE_KEYS = {"value", "verified", "from", "to"}


def _name(value: object, path: str) -> Name | None:
    if value is None:
        return None
    obj = _object(value, path, _SIMPLE_KEYS, {"value", "verified"})
    return Name(
        value=_text(obj["value"], _join(path, "value")),
        verified=_bool(obj["verified"], _join(path, "verified")),
        from_date=_date(obj.get("from"), _join(path, "from")),
        to_date=_date(obj.get("to"), _join(path, "to")),
    )


def _date_of_birth(value: object, path: str) -> DateOfBirth | None:
    if value is None:
        return None
    obj = _object(value, path, _SIMPLE_KEYS, {"value", "verified"})
    _date(obj.get("from"), _join(path, "from"))
    _date(obj.get("to"), _join(path, "to"))
    return DateOfBirth(
        value=_date(obj["value"], _join(path, "value"), optional=False),
        verified=_bool(obj["verified"], _join(path, "verified")),
    )


def _gender(value: object, path: str) -> Gender | None:
    if value is None:
        return None
    obj = _object(value, path, _SIMPLE_KEYS, {"value", "verified"})
    _date(obj.get("from"), _join(path, "from"))
    _date(obj.get("to"), _join(path, "to"))
    return Gender(
        value=_text(obj["value"], _join(path, "value")), verified=_bool(obj["verified"], _join(path, "verified"))
    )


_ADDRESS_KEYS = {"lines", "postCode", "internationalPostCode", "uprn", "from", "to", "verified"}


def _address(value: object, path: str) -> Address:
    obj = _object(value, path, _ADDRESS_KEYS, {"verified"})
    lines = _list(obj.get("lines"), _join(path, "lines"))
    return Address(
        lines=tuple(_text(line, _join(_join(path, "lines"), i), allow_empty=True) for i, line in enumerate(lines)),
        post_code=_optional_text(obj.get("postCode"), _join(path, "postCode")),
        verified=_bool(obj["verified"], _join(path, "verified")),
        international_post_code=_optional_text(obj.get("internationalPostCode"), _join(path, "internationalPostCode")),
        uprn=_optional_text(obj.get("uprn"), _join(path, "uprn")),
        from_date=_date(obj.get("from"), _join(path, "from")),
        to_date=_date(obj.get("to"), _join(path, "to")),
    )


_DATASET_KEYS = {"firstName", "middleNames", "surnames", "gender", "dateOfBirth", "addresses"}


def parse_matching_dataset(value: object, path: str = "matchingDataset") -> MatchingDataset:
    obj = _object(value, path, _DATASET_KEYS)
    surnames = _list(obj.get("surnames"), _join(path, "surnames"))
    addresses = _list(obj.get("addresses"), _join(path, "addresses"))
    parsed_surnames = []
    for i, surname in enumerate(surnames):
        parsed = _name(surname, _join(_join(path, "surnames"), i))
        if parsed is None:
            raise ContractError(_join(_join(path, "surnames"), i), "must be an object")
        parsed_surnames.append(parsed)
    return MatchingDataset(
        first_name=_name(obj.get("firstName"), _join(path, "firstName")),
        middle_names=_name(obj.get("middleNames"), _join(path, "middleNames")),
        surnames=tuple(parsed_surnames),
        gender=_gender(obj.get("gender"), _join(path, "gender")),
        date_of_birth=_date_of_birth(obj.get("dateOfBirth"), _join(path, "dateOfBirth")),
        addresses=tuple(_address(a, _join(_join(path, "addresses"), i)) for i, a in enumerate(addresses)),
    )


def _level_of_assurance(value: object, path: str = "levelOfAssurance") -> str:
    if value not in LEVELS_OF_ASSURANCE:
        raise ContractError(path, "must be one of " + ", ".join(sorted(LEVELS_OF_ASSURANCE)))
    return str(value)


def _hashed_pid(value: object, path: str = "hashedPid") -> str:
    if not isinstance(value, str) or not _HASHED_PID.match(value):
        raise ContractError(path, "must be 64 hexadecimal digits (hex SHA-256)")
    return value.lower()


def _cycle3(value: object, path: str = "cycle3Dataset") -> dict[str, str] | None:
    if value is None:
        return None
    obj = _object(value, path, {"attributes"}, {"attributes"})
    attributes = obj["attributes"]
    apath = _join(path, "attributes")
    if not isinstance(attributes, dict) or not attributes:
        raise ContractError(apath, "must be a non-empty JSON object")
    if len(attributes) > MAX_LIST:
        raise ContractError(apath, f"more than {MAX_LIST} entries")
    return {_text(name, apath): _text(attr, _join(apath, name)) for name, attr in attributes.items()}


_MATCH_KEYS = {"matchId", "levelOfAssurance", "hashedPid", "matchingDataset", "cycle3Dataset"}


def parse_match_request(body: object) -> MatchRequest:
    obj = _object(body, "", _MATCH_KEYS, {"matchId", "levelOfAssurance", "hashedPid", "matchingDataset"})
    return MatchRequest(
        match_id=_text(obj["matchId"], "matchId"),
        level_of_assurance=_level_of_assurance(obj["levelOfAssurance"]),
        hashed_pid=_hashed_pid(obj["hashedPid"]),
        matching_dataset=parse_matching_dataset(obj["matchingDataset"]),
        cycle3_attributes=_cycle3(obj.get("cycle3Dataset")),
    )


def parse_create_user_request(body: object) -> CreateUserRequest:
    if not isinstance(body, dict):
        raise ContractError("", "must be a JSON object")
    for key in ("hashedPid", "levelOfAssurance"):
        if key not in body:
            raise ContractError(key, "is required")
    attributes = {k: v for k, v in body.items() if k not in {"hashedPid", "levelOfAssurance"}}
    if len(attributes) > MAX_CREATE_USER_ATTRIBUTES:
        raise ContractError("", f"more than {MAX_CREATE_USER_ATTRIBUTES} attributes")
    return CreateUserRequest(
        hashed_pid=_hashed_pid(body["hashedPid"]),
        level_of_assurance=_level_of_assurance(body["levelOfAssurance"]),
        attributes=attributes,
    )


# --- building --------------------------------------------------------------------------------------------


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _name_json(name: Name) -> dict[str, Any]:
    return {"value": name.value, "verified": name.verified, "from": _iso(name.from_date), "to": _iso(name.to_date)}


def matching_dataset_to_json(dataset: MatchingDataset) -> dict[str, Any]:
    return {
        "firstName": _name_json(dataset.first_name) if dataset.first_name else None,
        "middleNames": _name_json(dataset.middle_names) if dataset.middle_names else None,
        "surnames": [_name_json(s) for s in dataset.surnames],
        "gender": {"value": dataset.gender.value, "verified": dataset.gender.verified} if dataset.gender else None,
        "dateOfBirth": (
            {"value": dataset.date_of_birth.value.isoformat(), "verified": dataset.date_of_birth.verified}
            if dataset.date_of_birth
            else None
        ),
        "addresses": [
            {
                "lines": list(a.lines),
                "postCode": a.post_code,
                "internationalPostCode": a.international_post_code,
                "uprn": a.uprn,
                "from": _iso(a.from_date),
                "to": _iso(a.to_date),
                "verified": a.verified,
            }
            for a in dataset.addresses
        ],
    }


def match_request_to_json(request: MatchRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "matchId": request.match_id,
        "levelOfAssurance": request.level_of_assurance,
        "hashedPid": request.hashed_pid,
        "matchingDataset": matching_dataset_to_json(request.matching_dataset),
    }
    if request.cycle3_attributes is not None:
        body["cycle3Dataset"] = {"attributes": dict(request.cycle3_attributes)}
    return body


def create_user_request_to_json(request: CreateUserRequest) -> dict[str, Any]:
    return {
        **dict(request.attributes),
        "hashedPid": request.hashed_pid,
        "levelOfAssurance": request.level_of_assurance,
    }
