"""The department's matching decision: a citizen's matching dataset against candidate records.

A false match (handing a citizen somebody else's record) is the worst outcome the system can produce, so
every rule below leans towards "no match" when in doubt. A missed match only costs the citizen a cycle 3
question or another way to prove who they are; a false match discloses a stranger's data. The rule as a
decision table, with the reason for each case: docs/matching-rule.md.

Normalisation (name_forms.py, premises.py)
    Names: accents, case, spacing and punctuation folded ("Zoë Ó Briain" == "ZOE O'BRIAIN", "St. John" ==
    "St John"); titles ("Mr", "Dr") and surname suffixes ("Jnr", "Snr") set aside; no spelling or
    transliteration guesses ("Müller" != "Mueller", "Mohammed" != "Muhammad": those go to cycle 3).
    Given names: the first- and middle-name fields read as one ordered list ("Oliver James" + "" ==
    "Oliver" + "James"; "Mary-Jane" == "Mary" "Jane" == "Maryjane").
    Addresses: the postcode (uppercase, no spaces; the international postcode when there is no postcode)
    and the premise read from the lines: flat, house number and street, or house name ("Flat 2, 10 High
    St" == "2/10 High Street").
    NINO: uppercase, whitespace removed.

Only verified values count
    An IDP marks each value it has checked against evidence as verified. Unverified names, dates of birth
    and addresses are ignored entirely: they are what the citizen typed, and trusting them would let
    anyone steer the match towards a record of their choosing. If what is left is not enough for the rule,
    the answer is no match (`insufficient-verified-data`). Gender is never used (it is not a stable
    identifier and the matching profile does not need it).

Cycle 1 (the matching dataset alone); a record is a candidate when ALL of these hold:
    1. date of birth: the verified date of birth equals the record's (a record without one never matches;
       a day/month swap is a different date);
    2. surname: a verified current surname (no `to` date) equals the record's surname or one of its
       previous surnames, or a verified historical surname (with a `to` date) equals the record's current
       surname. A historical surname against a historical surname is not enough: both sides have moved on
       and the pairing is too weak. A generation suffix held by both sides must be the same (Jnr != Snr);
    3. given names: the ordered lists agree from the first name on, at least one full name (not an
       initial) agrees, and no name held by both contradicts (an initial agrees with a name it starts;
       names one side does not hold are missing data, not a contradiction);
    4. address: a verified address (current or previous) has the record's postcode AND the same premise
       (same flat or neither has one; same house number on the same street, or the same house name). A
       postcode alone is never enough: a record without a readable premise, or one the citizen's addresses
       only share by a previous postcode (which holds no premise), does not match at cycle 1.
    Exactly one candidate -> Match(record_id). None -> NoMatch(no-candidate). Several ->
    NoMatch(multiple-match): we never choose between two records. An initial never decides either: if the
    one candidate left is only alone because another record's initial differs, that is multiple-match too.

Cycle 3 (an extra attribute, the National Insurance number, given after cycle 1 found nothing):
    exactly one candidate record's NINO must equal the normalised value, and that record must also pass the
    date of birth and surname rules (1 and 2). Two records with one NINO is a data error -> no match.

Pure Python: no Flask, no database, no I/O. The store finds candidates (by date of birth); this module
decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from matching_service.name_forms import (
    GivenNamesAgreement,
    compare_given_names,
    given_names,
    read_surname,
)
from matching_service.name_forms import normalise_name as normalise_name  # re-exported: tests fold names as we do
from matching_service.premises import Premise, premises_agree, read_premise

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
    date_of_birth: date | None  # departments hold records without one; such a record never matches
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


def normalise_postcode(value: str) -> str:
    return "".join(value.split()).upper()


def normalise_nino(value: str) -> str:
    return "".join(value.split()).upper()


# --- the rule --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _VerifiedFacts:
    """The parts of a dataset the rule may use, already normalised."""

    given_names: tuple[str, ...]
    current_surnames: frozenset[str]
    historical_surnames: frozenset[str]
    suffixes: frozenset[str]
    date_of_birth: date | None
    addresses: tuple[tuple[str, Premise], ...]  # (postcode, premise) of each verified address

    @property
    def has_surname(self) -> bool:
        return bool(self.current_surnames or self.historical_surnames)


def _verified_facts(dataset: MatchingDataset) -> _VerifiedFacts:
    first, middle = dataset.first_name, dataset.middle_names
    given = ()
    if first is not None and first.verified:
        given = given_names(first.value, middle.value if middle is not None and middle.verified else None)
    surnames = [(s, read_surname(s.value)) for s in dataset.surnames if s.verified]
    surnames = [(s, read) for s, read in surnames if read.key]
    dob = dataset.date_of_birth
    return _VerifiedFacts(
        given_names=given,
        current_surnames=frozenset(read.key for s, read in surnames if s.is_current),
        historical_surnames=frozenset(read.key for s, read in surnames if not s.is_current),
        suffixes=frozenset(read.suffix for s, read in surnames if s.is_current and read.suffix),
        date_of_birth=dob.value if dob is not None and dob.verified else None,
        addresses=tuple(
            (pc, read_premise(a.lines))
            for a in dataset.addresses
            if a.verified and (pc := a.postcode_for_matching) is not None
        ),
    )


def _passes_dob_and_surname(facts: _VerifiedFacts, record: Record) -> bool:
    if record.date_of_birth is None or facts.date_of_birth != record.date_of_birth:
        return False
    current = read_surname(record.surname)
    if facts.suffixes and current.suffix and current.suffix not in facts.suffixes:
        return False  # "Jones Snr" is not "Jones Jnr": a suffix both sides hold is evidence
    previous = {read_surname(s).key for s in record.previous_surnames} - {""}
    if facts.current_surnames & ({current.key} | previous):
        return True
    return current.key in facts.historical_surnames


def _address_agrees(facts: _VerifiedFacts, record: Record) -> bool:
    if not record.postcode:
        return False
    postcode, premise = normalise_postcode(record.postcode), read_premise(record.address_lines)
    return any(pc == postcode and premises_agree(ours, premise) for pc, ours in facts.addresses)


class _Verdict(StrEnum):
    PASSES = "passes"
    FAILS = "fails"
    FAILS_ONLY_BY_AN_INITIAL = "fails-only-by-an-initial"


def _cycle1_verdict(facts: _VerifiedFacts, record: Record) -> _Verdict:
    if not (_passes_dob_and_surname(facts, record) and _address_agrees(facts, record)):
        return _Verdict.FAILS
    theirs = given_names(record.first_name, record.middle_names)
    if compare_given_names(facts.given_names, theirs) is GivenNamesAgreement.AGREE:
        return _Verdict.PASSES
    if compare_given_names(facts.given_names, theirs, initials_as_wildcards=True) is GivenNamesAgreement.AGREE:
        return _Verdict.FAILS_ONLY_BY_AN_INITIAL
    return _Verdict.FAILS


def _exactly_one(records: list[Record]) -> Decision:
    if not records:
        return NoMatch(NoMatchReason.NO_CANDIDATE)
    if len({r.record_id for r in records}) > 1:
        return NoMatch(NoMatchReason.MULTIPLE_MATCH)
    return Match(records[0].record_id)


def match_cycle1(dataset: MatchingDataset, candidates: Iterable[Record]) -> Decision:
    """Cycle 1: the verified matching dataset must single out exactly one record."""
    facts = _verified_facts(dataset)
    if not (facts.given_names and facts.date_of_birth and facts.has_surname) or not any(
        premise.is_known for _, premise in facts.addresses
    ):
        return NoMatch(NoMatchReason.INSUFFICIENT_VERIFIED_DATA)
    verdicts = [(record, _cycle1_verdict(facts, record)) for record in candidates]
    passing = [record for record, verdict in verdicts if verdict is _Verdict.PASSES]
    if len(passing) == 1 and any(v is _Verdict.FAILS_ONLY_BY_AN_INITIAL for _, v in verdicts):
        return NoMatch(NoMatchReason.MULTIPLE_MATCH)  # an initial never decides between two records
    return _exactly_one(passing)


def match_cycle3(dataset: MatchingDataset, nino: str, candidates: Iterable[Record]) -> Decision:
    """Cycle 3: the NINO singles out one record, which must also pass the DOB and surname rules."""
    facts = _verified_facts(dataset)
    wanted = normalise_nino(nino)
    if not wanted or facts.date_of_birth is None or not facts.has_surname:
        return NoMatch(NoMatchReason.INSUFFICIENT_VERIFIED_DATA)
    by_nino = [r for r in candidates if r.nino and normalise_nino(r.nino) == wanted]
    decision = _exactly_one(by_nino)
    if isinstance(decision, Match) and not _passes_dob_and_surname(facts, by_nino[0]):
        return NoMatch(NoMatchReason.NO_CANDIDATE)
    return decision
