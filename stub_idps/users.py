"""The stub IDPs' test users: `data/users.yaml` read into frozen dataclasses, plus users registered at run time.

TEST DATA ONLY: every person is fictional and every password a published test credential. Registered users
live in memory for the life of the process; nothing is written anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from federation.loa import LevelOfAssurance
from federation.saml import Address, MatchingDataset, MdsValue

USERS_FILE = Path(__file__).resolve().parent / "data" / "users.yaml"
MAX_REGISTERED_PER_IDP = 1000  # a test tool open to anyone: keep memory bounded


@dataclass(frozen=True)
class StubUser:
    username: str
    password: str
    level_of_assurance: LevelOfAssurance
    matching_dataset: MatchingDataset
    idps: tuple[str, ...] = ()  # the stub IDPs that know this user; empty = all
    scenario: str | None = None

    def known_to(self, idp_name: str) -> bool:
        return not self.idps or idp_name in self.idps


def pid_for(idp_name: str, username: str) -> str:
    """The persistent NameID of a user at one stub IDP: derived, stable, different at each IDP."""
    return hashlib.sha256(f"{idp_name}:{username}".encode()).hexdigest()


def level_at(user: StubUser, idp_levels: Iterable[LevelOfAssurance]) -> LevelOfAssurance:
    """The LoA an IDP asserts for `user`: the user's own level, but never above what the IDP is certified
    for (an IDP certified for LEVEL_1 only cannot vouch for LEVEL_2). Not capped to what the hub asked."""
    within = [level for level in idp_levels if level <= user.level_of_assurance]
    return max(within) if within else user.level_of_assurance


# --- users.yaml -----------------------------------------------------------------------------------------


class UsersFileError(ValueError):
    """users.yaml does not describe a valid user; the message names the user and the field."""


def _date(value: Any, where: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise UsersFileError(f"{where}: {value!r} is not an ISO date") from None


def _mds_value(raw: Mapping[str, Any], where: str, *, as_date: bool = False) -> MdsValue:
    if not isinstance(raw, Mapping) or "value" not in raw:
        raise UsersFileError(f"{where}: expected a mapping with a value")
    value = _date(raw["value"], where) if as_date else str(raw["value"])
    return MdsValue(
        value=value,  # type: ignore[arg-type]
        verified=bool(raw.get("verified", False)),
        from_date=_date(raw.get("from"), where),
        to_date=_date(raw.get("to"), where),
    )


def _mds_values(raw: Any, where: str) -> tuple[MdsValue, ...]:
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    return tuple(_mds_value(item, where) for item in items)


def _address(raw: Mapping[str, Any], where: str) -> Address:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("lines"), list):
        raise UsersFileError(f"{where}: an address needs a list of lines")
    return Address(
        lines=tuple(str(line) for line in raw["lines"]),
        postcode=str(raw["postcode"]) if raw.get("postcode") is not None else None,
        international_postcode=str(raw["international_postcode"]) if raw.get("international_postcode") else None,
        uprn=str(raw["uprn"]) if raw.get("uprn") is not None else None,
        verified=bool(raw.get("verified", False)),
        from_date=_date(raw.get("from"), where),
        to_date=_date(raw.get("to"), where),
    )


def _matching_dataset(raw: Mapping[str, Any], who: str) -> MatchingDataset:
    where = f"user {who}, matching_dataset"
    current = raw.get("current_address")
    return MatchingDataset(
        first_names=_mds_values(raw.get("first_name"), f"{where}.first_name"),
        middle_names=_mds_values(raw.get("middle_names"), f"{where}.middle_names"),
        surnames=_mds_values(raw.get("surnames"), f"{where}.surnames"),
        gender=_mds_value(raw["gender"], f"{where}.gender") if raw.get("gender") else None,
        date_of_birth=(
            _mds_value(raw["date_of_birth"], f"{where}.date_of_birth", as_date=True)
            if raw.get("date_of_birth")
            else None
        ),
        current_address=_address(current, f"{where}.current_address") if current else None,
        previous_addresses=tuple(
            _address(item, f"{where}.previous_addresses") for item in raw.get("previous_addresses") or ()
        ),
    )


def _user(raw: Mapping[str, Any]) -> StubUser:
    username = str(raw.get("username") or "")
    if not username or not raw.get("password"):
        raise UsersFileError(f"user {username or '?'}: username and password are required")
    try:
        level = LevelOfAssurance.from_name(str(raw.get("level_of_assurance")))
    except ValueError as exc:
        raise UsersFileError(f"user {username}, level_of_assurance: {exc}") from None
    return StubUser(
        username=username,
        password=str(raw["password"]),
        level_of_assurance=level,
        matching_dataset=_matching_dataset(raw.get("matching_dataset") or {}, username),
        idps=tuple(raw.get("idps") or ()),
        scenario=raw.get("scenario"),
    )


def load_users(path: Path = USERS_FILE) -> tuple[StubUser, ...]:
    with Path(path).open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    users = tuple(_user(raw) for raw in data.get("users") or ())
    names = [u.username for u in users]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UsersFileError(f"duplicate usernames: {', '.join(duplicates)}")
    return users


# --- the store ------------------------------------------------------------------------------------------


class UsernameTaken(Exception):
    pass


class RegistrationFull(Exception):
    pass


class UserStore:
    """File users (read-only) and users registered at one IDP while the process runs. Thread-safe."""

    def __init__(self, users: Iterable[StubUser]) -> None:
        self._file = {user.username: user for user in users}
        self._registered: dict[tuple[str, str], StubUser] = {}
        self._lock = threading.Lock()

    def find(self, idp_name: str, username: str) -> StubUser | None:
        with self._lock:
            registered = self._registered.get((idp_name, username))
        if registered is not None:
            return registered
        user = self._file.get(username)
        return user if user is not None and user.known_to(idp_name) else None

    def authenticate(self, idp_name: str, username: str, password: str) -> StubUser | None:
        user = self.find(idp_name, username)
        if user is None or not hmac.compare_digest(user.password.encode(), password.encode()):
            return None
        return user

    def register(self, idp_name: str, user: StubUser) -> None:
        with self._lock:
            if (idp_name, user.username) in self._registered or self._known_file_user(idp_name, user.username):
                raise UsernameTaken(user.username)
            if sum(1 for idp, _ in self._registered if idp == idp_name) >= MAX_REGISTERED_PER_IDP:
                raise RegistrationFull(idp_name)
            self._registered[(idp_name, user.username)] = user

    def file_users(self, idp_name: str) -> tuple[StubUser, ...]:
        """The users.yaml users this IDP knows (shown to testers on the sign-in page)."""
        return tuple(user for user in self._file.values() if user.known_to(idp_name))

    def _known_file_user(self, idp_name: str, username: str) -> bool:
        user = self._file.get(username)
        return user is not None and user.known_to(idp_name)
