"""Names in the forms records and identity documents really hold them, folded so that only real
differences remain.

Why a module of its own: the matching rule must accept "Mr Oliver", "Jones Jnr", "St. John" and
"Mary-Jane" against "Oliver", "Jones", "St John" and "Mary" "Jane" without ever treating two different
names as one. Everything here is a pure function of the text; nothing guesses a spelling or a
transliteration ("Müller" is "muller", never "mueller"; "Mohammed" is not "Muhammad").

Folding: Unicode NFKD, accents (combining marks) removed, a few letters NFKD does not decompose mapped
(ø->o, ł->l, đ->d, æ->ae, œ->oe, þ->th), casefolded (so ß->ss). Apostrophes are dropped inside a word
("O'Brien" -> "obrien"); whitespace, hyphens, full stops and other punctuation separate words.

Given names: the first-name and middle-name fields read as one ordered list of words, so a middle name
typed into the first-name field, all given names in one field, or a hyphenated name split across fields
all give the same list. Leading titles (Mr, Dr, ...) are set aside. A one-letter word is an initial.

Surnames: a trailing generation suffix (Jnr, Snr, II, ...) is set aside as a separate fact (it can tell a
father from a son), then every separator is removed: "St. John" = "St John" = "StJohn".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

# Letters NFKD leaves alone but that people routinely write without the mark.
_LETTER_FOLDS = str.maketrans(
    {"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE"}
    | {"þ": "th", "Þ": "TH", "ı": "i"}
)
_APOSTROPHES = frozenset("'’‘ʼ`´ʹ′")

TITLES: frozenset[str] = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "master", "dr", "doctor", "prof", "professor", "sir", "dame", "lord", "lady"}
    | {"rev", "revd", "reverend", "fr", "father", "sister", "brother"}
)
# Spelling of a generation suffix -> the one form compared.
SUFFIXES: dict[str, str] = {
    "jnr": "jnr",
    "jr": "jnr",
    "junior": "jnr",
    "snr": "snr",
    "sr": "snr",
    "senior": "snr",
    "ii": "ii",
    "iii": "iii",
    "iv": "iv",
}


def fold_words(value: str) -> tuple[str, ...]:
    """The words of a name, folded; punctuation and spacing only ever separate words."""
    decomposed = unicodedata.normalize("NFKD", value.translate(_LETTER_FOLDS))
    kept: list[str] = []
    for char in decomposed:
        if unicodedata.combining(char) or char in _APOSTROPHES:
            continue
        if char.isspace() or unicodedata.category(char)[0] in "PSZ":  # punctuation, symbols, separators
            kept.append(" ")
        else:
            kept.append(char)
    return tuple("".join(kept).casefold().split())


def normalise_name(value: str) -> str:
    """One name folded to the form two spellings of the same name share (separators removed)."""
    return "".join(fold_words(value))


# --- surnames --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Surname:
    """A surname as compared: the folded name without separators, and its generation suffix if any."""

    key: str
    suffix: str | None = None


def read_surname(value: str) -> Surname:
    """Set a trailing Jnr/Snr/II aside ("Jones Jnr" -> jones + jnr); a lone "Junior" stays a surname."""
    words = list(fold_words(value))
    suffix = None
    if len(words) > 1 and words[-1] in SUFFIXES:
        suffix = SUFFIXES[words.pop()]
    return Surname("".join(words), suffix)


# --- given names -----------------------------------------------------------------------------------------


def given_names(first: str | None, middle: str | Sequence[str] | None = None) -> tuple[str, ...]:
    """The ordered given names across the first- and middle-name fields, titles set aside."""
    middles = [middle] if isinstance(middle, str) else list(middle or ())
    words = [w for field in (first or "", *middles) for w in fold_words(field)]
    while len(words) > 1 and words[0] in TITLES:
        words.pop(0)
    return tuple(words)


# More given names than this on one side is no name we can line up with confidence (and bounds the work).
MAX_GIVEN_NAMES = 12


class GivenNamesAgreement(StrEnum):
    AGREE = "agree"
    CONFLICT = "conflict"  # a name on one side contradicts the other's, or they do not line up from the first
    TOO_WEAK = "too-weak"  # nothing contradicts, but no full name agrees (initials only): not enough to match


def compare_given_names(
    ours: Sequence[str], theirs: Sequence[str], *, initials_as_wildcards: bool = False
) -> GivenNamesAgreement:
    """Compare two ordered lists of given names from the first one on.

    Pairs agree when equal, when one is an initial the other starts with, or when one name equals several
    consecutive names of the other ("maryjane" = "mary" "jane"). Names beyond the shorter list are missing
    data, not a contradiction. At least one full name (not an initial) must agree.
    `initials_as_wildcards` lets an initial pair with any name: used only to ask "would this candidate
    pass if its initials said nothing?", because an initial must never be what tells two records apart.
    """
    if not ours or not theirs or max(len(ours), len(theirs)) > MAX_GIVEN_NAMES:
        return GivenNamesAgreement.TOO_WEAK
    best = _align(tuple(ours), tuple(theirs), initials_as_wildcards, {})
    if best is None:
        return GivenNamesAgreement.CONFLICT
    return GivenNamesAgreement.AGREE if best > 0 else GivenNamesAgreement.TOO_WEAK


def _is_initial(name: str) -> bool:
    return len(name) == 1


def _pair(a: str, b: str, wildcards: bool) -> bool:
    if a == b:
        return True
    if _is_initial(a) or _is_initial(b):
        return wildcards or (a.startswith(b) if _is_initial(b) else b.startswith(a))
    return False


def _joins(names: tuple[str, ...], count: int, target: str) -> bool:
    """Do the first `count` names (all full names) written together make `target`?"""
    head = names[:count]
    return len(head) == count and not any(_is_initial(n) for n in head) and "".join(head) == target


_Memo = dict[tuple[int, int], "int | None"]


def _align(ours: tuple[str, ...], theirs: tuple[str, ...], wildcards: bool, memo: _Memo) -> int | None:
    """The most full-name agreements of any way to line the lists up, or None when none exists."""
    if not ours or not theirs:
        return 0  # the rest of the longer list is missing on the other side
    key = (len(ours), len(theirs))  # suffixes of the same two lists: their lengths identify them
    if key not in memo:
        memo[key] = _align_heads(ours, theirs, wildcards, memo)
    return memo[key]


def _align_heads(ours: tuple[str, ...], theirs: tuple[str, ...], wildcards: bool, memo: _Memo) -> int | None:
    a, b = ours[0], theirs[0]
    results: list[int] = []
    if _pair(a, b, wildcards):
        rest = _align(ours[1:], theirs[1:], wildcards, memo)
        if rest is not None:
            results.append(rest + (0 if _is_initial(a) or _is_initial(b) else 1))
    for count in range(2, max(len(ours), len(theirs)) + 1):
        if _joins(theirs, count, a) and (rest := _align(ours[1:], theirs[count:], wildcards, memo)) is not None:
            results.append(rest + 1)
        if _joins(ours, count, b) and (rest := _align(ours[count:], theirs[1:], wildcards, memo)) is not None:
            results.append(rest + 1)
    return max(results) if results else None
