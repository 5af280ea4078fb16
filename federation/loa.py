"""Levels of assurance as an ordered type, so "at least LEVEL_2" is `loa >= LevelOfAssurance.LEVEL_2`."""

from __future__ import annotations

import enum

_URI_PREFIX = "urn:uk:gov:cabinet-office:tc:saml:authn-context:"

# Fraud responses carry this context; it is not a level anyone can be assured at, so it is not a member.
LEVEL_X_URI = _URI_PREFIX + "levelX"


class LevelOfAssurance(enum.IntEnum):
    LEVEL_1 = 1
    LEVEL_2 = 2
    LEVEL_3 = 3
    LEVEL_4 = 4

    @property
    def uri(self) -> str:
        return _URIS[self]

    @classmethod
    def from_uri(cls, uri: str) -> LevelOfAssurance:
        try:
            return _BY_URI[uri]
        except (KeyError, TypeError):
            raise ValueError(f"unknown level of assurance URI {uri!r}") from None

    @classmethod
    def from_name(cls, name: str) -> LevelOfAssurance:
        member = cls.__members__.get(name) if isinstance(name, str) else None
        if member is None:
            raise ValueError(f"unknown level {name!r} (expected LEVEL_1..LEVEL_4)")
        return member


_URIS: dict[LevelOfAssurance, str] = {
    LevelOfAssurance.LEVEL_1: _URI_PREFIX + "level1",
    LevelOfAssurance.LEVEL_2: _URI_PREFIX + "level2",
    LevelOfAssurance.LEVEL_3: _URI_PREFIX + "level3",
    LevelOfAssurance.LEVEL_4: _URI_PREFIX + "level4",
}
_BY_URI: dict[str, LevelOfAssurance] = {uri: level for level, uri in _URIS.items()}
