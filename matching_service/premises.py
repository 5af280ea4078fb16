"""The premise of an address (flat, house number or name, street), read from its free-text lines.

Why: a postcode covers about fifteen households, so a postcode stands in for an address only in a rule
that does not care which house; ours must care (the neighbour with the same name and date of birth is
the classic false match). Two addresses at one postcode are the same premise only when this module reads
the same flat, the same house number on the same street, or the same house name from both.

Reading is forgiving of how people write an address and strict about what it means:
    "Flat 2, 10 High St" = "2/10 High Street" = "FLAT 2|10 HIGH STREET." = "Apartment 2, 10 High Street";
    "St" = "Street", "Rd" = "Road", ... (at the end of a street name only: "St John's Road" keeps its saint);
    case, accents, spacing and punctuation are ignored; "10 A" = "10a"; "Flat 02" = "Flat 2";
    the first line without a number, before the street, is the house (or building) name; "The" is dropped
    from a house name; lines after the street (locality, town) are ignored.
What it never does: guess a number that is not written, treat "10" as "10a", or match a street by a typo.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from matching_service.name_forms import fold_words

# A word that introduces a flat (Welsh "fflat" too); the word after it is the flat's identifier.
FLAT_WORDS: frozenset[str] = frozenset(
    {"flat", "fflat", "flt", "apartment", "apt", "unit", "maisonette", "room", "suite", "studio"}
)
_FLOOR_WORDS: dict[str, str] = {
    "basement": "basement",
    "lower": "lower-ground",
    "ground": "ground",
    "first": "1",
    "1st": "1",
    "second": "2",
    "2nd": "2",
    "third": "3",
    "3rd": "3",
    "top": "top",
}
# Street types and their usual abbreviations -> the word compared.
STREET_TYPES: dict[str, str] = {
    "street": "street",
    "st": "street",
    "str": "street",
    "road": "road",
    "rd": "road",
    "avenue": "avenue",
    "ave": "avenue",
    "av": "avenue",
    "lane": "lane",
    "ln": "lane",
    "close": "close",
    "cl": "close",
    "drive": "drive",
    "dr": "drive",
    "crescent": "crescent",
    "cres": "crescent",
    "place": "place",
    "pl": "place",
    "gardens": "gardens",
    "gdns": "gardens",
    "terrace": "terrace",
    "terr": "terrace",
    "tce": "terrace",
    "court": "court",
    "ct": "court",
    "square": "square",
    "sq": "square",
    "grove": "grove",
    "gr": "grove",
    "park": "park",
    "pk": "park",
    "parade": "parade",
    "pde": "parade",
    "way": "way",
    "walk": "walk",
    "row": "row",
    "mews": "mews",
    "hill": "hill",
    "green": "green",
    "rise": "rise",
    "view": "view",
    "vale": "vale",
    "heol": "heol",  # Welsh: road (written first: "Heol y Frenhines")
}
# Abbreviations anywhere else in a street name.
_STREET_WORDS: dict[str, str] = {"st": "saint", "gt": "great", "nth": "north", "sth": "south", "upr": "upper"}
_STREET_WORDS |= {"lwr": "lower", "mt": "mount"}

# Private-use characters carry "/" and "-" through name folding (which treats punctuation as a separator).
_KEEP = {"/": "\ue000", "-": "\ue001"}
_RESTORE = str.maketrans({"\ue000": "/", "\ue001": "-"})
_NUMBER = re.compile(r"\d+[a-z]?(?:-\d+[a-z]?)?")
_FLAT_AND_NUMBER = re.compile(r"(\d+[a-z]?)/(\d+[a-z]?)")
_UK_POSTCODE = re.compile(r"[a-z]{1,2}\d[a-z\d]?\d[a-z]{2}")
_FLAT_ID = re.compile(r"[0-9]{1,4}[a-z]?|[a-z][0-9]{0,3}")


@dataclass(frozen=True)
class Premise:
    """What identifies one household at a postcode; every part normalised, None when not written."""

    flat: str | None = None
    number: str | None = None
    name: str | None = None
    street: str | None = None

    @property
    def is_known(self) -> bool:
        """A premise needs a house number or a house name; a flat or a street alone is not a household."""
        return bool(self.number or self.name)


def _words(line: str) -> list[str]:
    # "/" and "-" between digits are part of a number ("2/10", "10-12"); everywhere else they separate.
    protected = re.sub(r"(?<=\d)\s*([/-])\s*(?=\d)", lambda m: _KEEP[m.group(1)], line)
    return [w.translate(_RESTORE) for w in fold_words(protected)]


def _segments(lines: Sequence[str]) -> list[list[str]]:
    """The words of each line (a comma splits a line too); a postcode written among the lines is dropped."""
    segments = [words for line in lines for part in line.split(",") if (words := _words(part))]
    return [words for words in segments if not _UK_POSTCODE.fullmatch("".join(words))]


def _number(word: str) -> str:
    return re.sub(r"(?<![0-9])0+(?=\d)", "", word)  # "02" -> "2", "10-012" -> "10-12"


def _street(words: Sequence[str]) -> str:
    expanded = [STREET_TYPES.get(w, w) if i == len(words) - 1 else _STREET_WORDS.get(w, w) for i, w in enumerate(words)]
    return "".join(expanded)


def _is_street(words: Sequence[str]) -> bool:
    return words[-1] in STREET_TYPES or words[0] == "heol"


def _starts_with_number(words: Sequence[str] | None) -> bool:
    return bool(words) and bool(_NUMBER.fullmatch(words[0]) or _FLAT_AND_NUMBER.fullmatch(words[0]))


def _take_flat(words: list[str]) -> tuple[str | None, list[str]]:
    """A leading flat ("flat 2", "ground floor flat") and the words after it."""
    head = words[0]
    if head in FLAT_WORDS and len(words) > 1 and _FLAT_ID.fullmatch(words[1]):
        return _number(words[1]), words[2:]
    if head in _FLOOR_WORDS and (words[1:3] == ["floor", "flat"] or words[1:2] == ["flat"]):
        return "floor-" + _FLOOR_WORDS[head], words[words.index("flat") + 1 :]
    return None, words


def read_premise(lines: Sequence[str]) -> Premise:
    """Read the flat, house number or name and street from an address's lines (see the module doc).

    Line by line (commas split lines too): a flat first if written; a line starting with a number gives
    the house number and, after it, the street (or the street is the next line); a line without a number
    before the street is the house or building name when a numbered line or a street follows it (so
    "Meadow View, New Close" is a house called Meadow View), else a street; later lines are the locality.
    A last line on its own is the town, never a house name; a postcode among the lines is ignored.
    """
    segments = _segments(lines)
    flat = number = name = street = None
    i = 0
    while i < len(segments):
        rest, following = segments[i], (segments[i + 1] if i + 1 < len(segments) else None)
        i += 1
        if flat is None:
            flat, rest = _take_flat(rest)
        if not rest or number is not None:
            continue  # after the house number and its street: locality, town
        if (both := _FLAT_AND_NUMBER.fullmatch(rest[0])) and flat is None:
            flat, number, rest = _number(both.group(1)), _number(both.group(2)), rest[1:]
        elif _NUMBER.fullmatch(rest[0]):
            number, rest = _number(rest[0]), rest[1:]
            if len(rest) > 1 and len(rest[0]) == 1 and rest[0].isalpha() and number[-1].isdigit():
                number, rest = number + rest[0], rest[1:]  # "10 A High Street"
        elif (
            name is None
            and street is None
            and following is not None  # a lone last line is the town, not a house
            and (not _is_street(rest) or _starts_with_number(following) or _is_street(following))
        ):
            name = "".join(rest[1:] if rest[0] == "the" and len(rest) > 1 else rest)
            continue
        elif street is None and _is_street(rest):
            street = _street(rest)
            continue
        else:
            continue
        if rest:
            street = _street(rest)  # the words after the number are the street
        elif following and not _starts_with_number(following):
            street, i = _street(following), i + 1  # "10" on a line of its own: the street is the next line
    return Premise(flat=flat, number=number, name=name, street=street)


def premises_agree(ours: Premise, theirs: Premise) -> bool:
    """The same household: same flat (or neither has one), and the same house number on the same street or
    the same house name. Anything held by both sides that differs is a contradiction; a premise that is
    not known on either side never agrees (a postcode alone is not an address)."""
    if not (ours.is_known and theirs.is_known) or ours.flat != theirs.flat:
        return False
    compared = False
    if ours.number and theirs.number:
        if ours.number != theirs.number or not (ours.street and theirs.street) or ours.street != theirs.street:
            return False
        compared = True
    if ours.name and theirs.name:
        if ours.name != theirs.name:
            return False
        compared = True
    if ours.street and theirs.street and ours.street != theirs.street:
        return False
    return compared
