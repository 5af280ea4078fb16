"""The department's matching decision: a citizen's matching dataset against candidate records.

A false match (handing a citizen somebody else's record) is the worst outcome the system can produce, so
every rule below leans towards "no match" when in doubt. A missed match only costs the citizen a cycle 3
question or another way to prove who they are; a false match discloses a stranger's data.

Normalisation
    Names: Unicode NFKD, accents (combining marks) removed, a few letters NFKD does not decompose mapped
    (ø->o, ł->l, đ->d, æ->ae, œ->oe, þ->th), casefolded (so ß->ss), and whitespace, hyphens/dashes and
    apostrophes removed: "Zoë Ó Briain" == "ZOE O'BRIAIN", "Siân" == "sian". "Müller" becomes "muller",
    never "mueller" (no transliteration guesses).
    Postcodes: uppercase, all whitespace removed ("sw1a 1aa" == "SW1A1AA"). Postcode first, international
    postcode when there is no postcode.
    NINO: uppercase, whitespace removed.

Only verified values count
    An IDP marks each value it has checked against evidence as verified. Unverified names, dates of birth
    and addresses are ignored entirely: they are what the citizen typed, and trusting them would let
    anyone steer the match towards a record of their choosing. If what is left is not enough for the rule,
    the answer is no match (`insufficient-verified-data`). Gender is never used (it is not a stable
    identifier and the matching profile does not need it).

Cycle 1 (the matching dataset alone); a record is a candidate when ALL of these hold:
    1. date of birth: the verified date of birth equals the record's;
    2. surname: a verified current surname (no `to` date) equals the record's surname or one of its
       previous surnames, or a verified historical surname (with a `to` date) equals the record's current
       surname. A historical surname against a historical surname is not enough: both sides have moved on
       and the pairing is too weak;
    3. first name: the verified first name equals the record's first name;
    4. postcode: a verified address postcode (current or previous address) equals the record's postcode or
       one of its previous postcodes;
    5. middle names never make a match on their own, but a verified middle name that contradicts the
       record's recorded middle names removes the candidate (both sides known and different). A record
       with no middle names on file is not removed: missing data is not a contradiction. So middle names
       can break a tie only where they actually differ.
    Exactly one candidate -> Match(record_id). None -> NoMatch(no-candidate). Several ->
    NoMatch(multiple-match): we never choose between two records.

Cycle 3 (an extra attribute, the National Insurance number, given after cycle 1 found nothing):
    exactly one candidate record's NINO must equal the normalised value, and that record must also pass the
    date of birth and surname rules (1 and 2). Two records with one NINO is a data error -> no match.

Pure Python: no Flask, no database, no I/O. The store finds candidates (by date of birth); this module
decides.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

# --- the matching dataset (what the IDP asserted) --------------------------------------------------------


@dataclass(frozen=True)
class Name:
    """A name value as asserted by an IDP; `to_date` set means a historical value."""

    value: str
    verified: bool
    from_date: date | None = None
    to_date: date | None = None

    @property
    def is_current(self) -> bool:
        return self.to_date is None


@dataclass(frozen=True)
class DateOfBirth:
    value: date
    verified: bool


@dataclass(frozen=True)
class Gender:
    value: str
    verified: bool


@dataclass(frozen=True)
class Address:
    lines: tuple[str, ...]
    post_code: str | None
    verified: bool
    international_post_code: str | None = None
    uprn: str | None = None
    from_date: date | None = None
    to_date: date | None = None

    @property
    def postcode_for_matching(self) -> str | None:
        raw = self.post_code or self.international_post_code
        normalised = normalise_postcode(raw) if raw else ""
        return normalised or None


@dataclass(frozen=True)
class MatchingDataset:
    first_name: Name | None = None
    middle_names: Name | None = None
    surnames: tuple[Name, ...] = ()
    gender: Gender | None = None
    date_of_birth: DateOfBirth | None = None
    addresses: tuple[Address, ...] = ()


# --- the department's record -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One row of the department's records (the CSV columns)."""

    record_id: str
    first_name: str
    surname: str
    date_of_birth: date
    middle_names: tuple[str, ...] = ()
    previous_surnames: tuple[str, ...] = ()
    gender: str | None = None
    address_lines: tuple[str, ...] = ()
    postcode: str | None = None
    previous_postcodes: tuple[str, ...] = ()
    nino: str | None = None


# --- the decision ----------------------------------------------------------------------------------------


class NoMatchReason(StrEnum):
    NO_CANDIDATE = "no-candidate"
    MULTIPLE_MATCH = "multiple-match"
    INSUFFICIENT_VERIFIED_DATA = "insufficient-verified-data"


@dataclass(frozen=True)
class Match:
    record_id: str


@dataclass(frozen=True)
class NoMatch:
    reason: NoMatchReason


Decision = Match | NoMatch


# --- normalisation ---------------------------------------------------------------------------------------

# Letters NFKD leaves alone but that people routinely write without the mark.
_LETTER_FOLDS = str.maketrans(
    {"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE"}
    | {"þ": "th", "Þ": "TH", "ı": "i"}
)
_APOSTROPHES = frozenset("'’‘ʼ`´ʹ′")


def normalise_name(value: str) -> str:
    """Fold a name to the form two spellings of the same name share."""
    decomposed = unicodedata.normalize("NFKD", value.translate(_LETTER_FOLDS))
    kept = []
    for char in decomposed:
        if unicodedata.combining(char) or char.isspace() or char in _APOSTROPHES:
            continue
        if unicodedata.category(char) == "Pd":  # any dash or hyphen
            continue
        kept.append(char)
    return "".join(kept).casefold()


def normalise_postcode(value: str) -> str:
    return "".join(value.split()).upper()


def normalise_nino(value: str) -> str:
    return "".join(value.split()).upper()


# --- the rule --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _VerifiedFacts:
    """The parts of a dataset the rule may use, already normalised."""

    first_name: str | None
    middle_names: str | None
    current_surnames: frozenset[str]
    historical_surnames: frozenset[str]
    date_of_birth: date | None
    postcodes: frozenset[str]


def _verified_facts(dataset: MatchingDataset) -> _VerifiedFacts:
    def verified_name(name: Name | None) -> str | None:
        if name is None or not name.verified:
            return None
        return normalise_name(name.value) or None

    surnames = [s for s in dataset.surnames if s.verified and normalise_name(s.value)]
    dob = dataset.date_of_birth
    return _VerifiedFacts(
        first_name=verified_name(dataset.first_name),
        middle_names=verified_name(dataset.middle_names),
        current_surnames=frozenset(normalise_name(s.value) for s in surnames if s.is_current),
        historical_surnames=frozenset(normalise_name(s.value) for s in surnames if not s.is_current),
        date_of_birth=dob.value if dob is not None and dob.verified else None,
        postcodes=frozenset(
            pc for a in dataset.addresses if a.verified and (pc := a.postcode_for_matching) is not None
        ),
    )


def _passes_dob_and_surname(facts: _VerifiedFacts, record: Record) -> bool:
    if facts.date_of_birth != record.date_of_birth:
        return False
    record_current = normalise_name(record.surname)
    record_previous = {normalise_name(s) for s in record.previous_surnames} - {""}
    if facts.current_surnames & ({record_current} | record_previous):
        return True
    return record_current in facts.historical_surnames


def _middle_names_contradict(facts: _VerifiedFacts, record: Record) -> bool:
    on_file = normalise_name(" ".join(record.middle_names))
    return bool(facts.middle_names and on_file and facts.middle_names != on_file)


def _passes_cycle1(facts: _VerifiedFacts, record: Record) -> bool:
    if not _passes_dob_and_surname(facts, record):
        return False
    if facts.first_name != normalise_name(record.first_name):
        return False
    record_postcodes = {normalise_postcode(p) for p in (record.postcode, *record.previous_postcodes) if p}
    if not facts.postcodes & record_postcodes:
        return False
    return not _middle_names_contradict(facts, record)


def _exactly_one(records: list[Record]) -> Decision:
    if not records:
        return NoMatch(NoMatchReason.NO_CANDIDATE)
    if len({r.record_id for r in records}) > 1:
        return NoMatch(NoMatchReason.MULTIPLE_MATCH)
    return Match(records[0].record_id)


def match_cycle1(dataset: MatchingDataset, candidates: Iterable[Record]) -> Decision:
    """Cycle 1: the verified matching dataset must single out exactly one record."""
    facts = _verified_facts(dataset)
    if not (facts.first_name and facts.date_of_birth and facts.postcodes) or not (
        facts.current_surnames or facts.historical_surnames
    ):
        return NoMatch(NoMatchReason.INSUFFICIENT_VERIFIED_DATA)
    return _exactly_one([r for r in candidates if _passes_cycle1(facts, r)])


def match_cycle3(dataset: MatchingDataset, nino: str, candidates: Iterable[Record]) -> Decision:
    """Cycle 3: the NINO singles out one record, which must also pass the DOB and surname rules."""
    facts = _verified_facts(dataset)
    wanted = normalise_nino(nino)
    if not wanted or facts.date_of_birth is None or not (facts.current_surnames or facts.historical_surnames):
        return NoMatch(NoMatchReason.INSUFFICIENT_VERIFIED_DATA)
    by_nino = [r for r in candidates if r.nino and normalise_nino(r.nino) == wanted]
    decision = _exactly_one(by_nino)
    if isinstance(decision, Match) and not _passes_dob_and_surname(facts, by_nino[0]):
        return NoMatch(NoMatchReason.NO_CANDIDATE)
    return decision
