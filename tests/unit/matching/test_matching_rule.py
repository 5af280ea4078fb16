"""The matching decision (matching_service.matching_rule): pure, no store, no Flask."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from matching_service.matching_rule import (
    Address,
    DateOfBirth,
    Match,
    MatchingDataset,
    Name,
    NoMatch,
    NoMatchReason,
    Record,
    match_cycle1,
    match_cycle3,
    normalise_name,
    normalise_postcode,
)

DOB = date(1984, 6, 17)


def dataset(
    first: str = "Elodie",
    surnames: tuple[Name, ...] = (Name("Martin", True),),
    dob: date = DOB,
    postcodes: tuple[str, ...] = ("SW1A 1AA",),
    middle: str | None = None,
    verified: bool = True,
) -> MatchingDataset:
    return MatchingDataset(
        first_name=Name(first, verified),
        middle_names=Name(middle, verified) if middle else None,
        surnames=surnames,
        date_of_birth=DateOfBirth(dob, verified),
        addresses=tuple(Address(("1 Street",), pc, verified) for pc in postcodes),
    )


def record(record_id: str = "R1", **changes) -> Record:
    base = Record(
        record_id=record_id,
        first_name="Elodie",
        surname="Martin",
        date_of_birth=DOB,
        postcode="SW1A1AA",
    )
    return replace(base, **changes)


# --- normalisation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Élodie", "elodie"),
        ("ZOË", "zoe"),
        ("Ó Briain", "O'Briain"),
        ("O’Briain", "obriain"),
        ("Anne-Marie", "Anne Marie"),
        ("  Mary   Ann ", "maryann"),
        ("Siân", "SIAN"),
        ("Groß", "GROSS"),
        ("Søren", "Soren"),
        ("Wiśniewski", "Wisniewski"),
        ("Ｊｏｈｎ", "John"),  # full-width letters fold under NFKD
    ],
)
def test_names_that_normalise_to_the_same_form(left: str, right: str) -> None:
    assert normalise_name(left) == normalise_name(right)


@pytest.mark.parametrize(("left", "right"), [("Müller", "Mueller"), ("Jon", "John"), ("Ann", "Anne")])
def test_names_that_stay_different(left: str, right: str) -> None:
    assert normalise_name(left) != normalise_name(right)


def test_postcode_normalisation() -> None:
    assert normalise_postcode(" sw1a  1aa ") == "SW1A1AA"


# --- cycle 1 ---------------------------------------------------------------------------------------------


def test_exact_match() -> None:
    assert match_cycle1(dataset(), [record()]) == Match("R1")


def test_case_and_accents_in_first_name_and_surname() -> None:
    ds = dataset(first="ÉLODIE", surnames=(Name("Mártin", True),))
    assert match_cycle1(ds, [record(first_name="elodie", surname="MARTIN")]) == Match("R1")


def test_postcode_spacing_and_case() -> None:
    assert match_cycle1(dataset(postcodes=("sw1a1aa",)), [record(postcode="SW1A 1AA")]) == Match("R1")


def test_every_core_field_is_needed() -> None:
    for changed in (
        record(first_name="Eloise"),
        record(surname="Martins"),
        record(date_of_birth=date(1984, 6, 18)),
        record(postcode="SW1A 2AA"),
    ):
        assert match_cycle1(dataset(), [changed]) == NoMatch(NoMatchReason.NO_CANDIDATE)


def test_no_candidates_is_no_match() -> None:
    assert match_cycle1(dataset(), []) == NoMatch(NoMatchReason.NO_CANDIDATE)


def test_dataset_previous_surname_matches_record_surname() -> None:
    surnames = (
        Name("Dubois", True, from_date=date(2015, 1, 1)),
        Name("Martin", True, from_date=DOB, to_date=date(2014, 12, 31)),
    )
    assert match_cycle1(dataset(surnames=surnames), [record()]) == Match("R1")


def test_record_previous_surname_matches_dataset_current_surname() -> None:
    ds = dataset(surnames=(Name("Martin", True),))
    assert match_cycle1(ds, [record(surname="Dubois", previous_surnames=("Martin",))]) == Match("R1")


def test_historical_surname_against_historical_surname_is_not_enough() -> None:
    surnames = (Name("Dubois", True), Name("Martin", True, to_date=date(2014, 12, 31)))
    candidate = record(surname="Leroy", previous_surnames=("Martin",))
    assert match_cycle1(dataset(surnames=surnames), [candidate]) == NoMatch(NoMatchReason.NO_CANDIDATE)


def test_moved_house_record_holds_the_previous_postcode() -> None:
    ds = dataset(postcodes=("YO1 7HX", "HG1 1TE"))
    assert match_cycle1(ds, [record(postcode="HG1 1TE")]) == Match("R1")


def test_record_previous_postcode_matches_dataset_current_postcode() -> None:
    ds = dataset(postcodes=("YO1 7HX",))
    assert match_cycle1(ds, [record(postcode="HG1 1TE", previous_postcodes=("YO17HX",))]) == Match("R1")


def test_same_name_and_dob_at_two_addresses_only_the_postcode_match() -> None:
    here, elsewhere = record("HERE"), record("ELSEWHERE", postcode="CF10 2HQ")
    assert match_cycle1(dataset(), [elsewhere, here]) == Match("HERE")


def test_twins_at_one_address_each_match_only_their_own_record() -> None:
    twin_a, twin_b = record("A", first_name="Priya"), record("B", first_name="Anjali")
    assert match_cycle1(dataset(first="Priya"), [twin_a, twin_b]) == Match("A")
    assert match_cycle1(dataset(first="Anjali"), [twin_a, twin_b]) == Match("B")
    assert match_cycle1(dataset(first="Asha"), [twin_a, twin_b]) == NoMatch(NoMatchReason.NO_CANDIDATE)


def test_two_records_that_both_fit_is_no_match() -> None:
    decision = match_cycle1(dataset(), [record("R1"), record("R2")])
    assert decision == NoMatch(NoMatchReason.MULTIPLE_MATCH)


def test_middle_names_break_a_tie_only_where_they_differ() -> None:
    paul, peter = record("PAUL", middle_names=("Paul",)), record("PETER", middle_names=("Peter",))
    assert match_cycle1(dataset(middle="Paul"), [paul, peter]) == Match("PAUL")
    # a record without middle names on file is not contradicted, so the tie stays a tie
    unknown = record("UNKNOWN")
    assert match_cycle1(dataset(middle="Paul"), [paul, unknown]) == NoMatch(NoMatchReason.MULTIPLE_MATCH)
    # middle names alone never make a match
    assert match_cycle1(dataset(first="Eloise", middle="Paul"), [paul]) == NoMatch(NoMatchReason.NO_CANDIDATE)


def test_contradicting_middle_names_remove_a_single_candidate() -> None:
    assert match_cycle1(dataset(middle="Paul"), [record(middle_names=("Peter",))]) == NoMatch(
        NoMatchReason.NO_CANDIDATE
    )
    assert match_cycle1(dataset(middle="Jean Paul"), [record(middle_names=("Jean", "Paul"))]) == Match("R1")


def test_unverified_values_are_ignored() -> None:
    all_unverified = dataset(verified=False)
    assert match_cycle1(all_unverified, [record()]) == NoMatch(NoMatchReason.INSUFFICIENT_VERIFIED_DATA)
    unverified_dob = replace(dataset(), date_of_birth=DateOfBirth(DOB, False))
    assert match_cycle1(unverified_dob, [record()]) == NoMatch(NoMatchReason.INSUFFICIENT_VERIFIED_DATA)
    unverified_first = replace(dataset(), first_name=Name("Elodie", False))
    assert match_cycle1(unverified_first, [record()]) == NoMatch(NoMatchReason.INSUFFICIENT_VERIFIED_DATA)


def test_an_unverified_postcode_cannot_pick_the_record() -> None:
    ds = replace(
        dataset(postcodes=()),
        addresses=(Address(("1 Street",), "SW1A 1AA", False), Address(("2 Road",), "CF10 2HQ", True)),
    )
    assert match_cycle1(ds, [record()]) == NoMatch(NoMatchReason.NO_CANDIDATE)


def test_an_unverified_middle_name_breaks_no_tie() -> None:
    paul, peter = record("PAUL", middle_names=("Paul",)), record("PETER", middle_names=("Peter",))
    ds = replace(dataset(), middle_names=Name("Paul", False))
    assert match_cycle1(ds, [paul, peter]) == NoMatch(NoMatchReason.MULTIPLE_MATCH)


def test_an_unverified_surname_is_ignored_but_a_verified_one_still_counts() -> None:
    surnames = (Name("Imposter", False), Name("Martin", True))
    assert match_cycle1(dataset(surnames=surnames), [record()]) == Match("R1")
    assert match_cycle1(dataset(surnames=(Name("Martin", False),)), [record()]) == NoMatch(
        NoMatchReason.INSUFFICIENT_VERIFIED_DATA
    )


def test_international_postcode_is_used_when_there_is_no_postcode() -> None:
    ds = replace(dataset(postcodes=()), addresses=(Address(("Rue 1",), None, True, "75001"),))
    assert match_cycle1(ds, [record(postcode="75001")]) == Match("R1")


# --- cycle 3 ---------------------------------------------------------------------------------------------


def test_cycle3_nino_narrows_to_one_record() -> None:
    ds = dataset(first="Ellie", postcodes=("G5 9JB",))  # first name and postcode differ from the record
    candidates = [record("R1", nino="QQ123456C"), record("R2", nino="QQ654321A")]
    assert match_cycle3(ds, "qq 12 34 56 c", candidates) == Match("R1")


def test_cycle3_record_must_also_pass_dob_and_surname() -> None:
    candidates = [record("R1", nino="QQ123456C", surname="Leroy")]
    assert match_cycle3(dataset(), "QQ123456C", candidates) == NoMatch(NoMatchReason.NO_CANDIDATE)
    candidates = [record("R1", nino="QQ123456C", date_of_birth=date(1990, 1, 1))]
    assert match_cycle3(dataset(), "QQ123456C", candidates) == NoMatch(NoMatchReason.NO_CANDIDATE)


def test_cycle3_unknown_or_shared_nino_is_no_match() -> None:
    assert match_cycle3(dataset(), "QQ999999D", [record(nino="QQ123456C")]) == NoMatch(NoMatchReason.NO_CANDIDATE)
    shared = [record("R1", nino="QQ123456C"), record("R2", nino="QQ123456C")]
    assert match_cycle3(dataset(), "QQ123456C", shared) == NoMatch(NoMatchReason.MULTIPLE_MATCH)


def test_cycle3_needs_a_verified_date_of_birth() -> None:
    ds = replace(dataset(), date_of_birth=DateOfBirth(DOB, False))
    assert match_cycle3(ds, "QQ123456C", [record(nino="QQ123456C")]) == NoMatch(
        NoMatchReason.INSUFFICIENT_VERIFIED_DATA
    )
