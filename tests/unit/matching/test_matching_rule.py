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
        address_lines=("1 Street",),  # the premise every dataset() address holds
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


def test_a_previous_postcode_on_the_record_alone_is_not_enough() -> None:
    # The record's previous postcodes hold no premise: the citizen could be any household there (changed:
    # this used to match on the postcode alone, the neighbour false match of the issue).
    ds = dataset(postcodes=("YO1 7HX",))
    candidate = record(postcode="HG1 1TE", previous_postcodes=("YO17HX",))
    assert match_cycle1(ds, [candidate]) == NoMatch(NoMatchReason.NO_CANDIDATE)


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
    ds = replace(dataset(postcodes=()), addresses=(Address(("1 Rue de Rivoli",), None, True, "75001"),))
    assert match_cycle1(ds, [record(address_lines=("1 rue de Rivoli", "Paris"), postcode="75001")]) == Match("R1")


def at(*lines: str, postcode: str = "SW1A 1AA", verified: bool = True) -> Address:
    return Address(tuple(lines), postcode, verified)


def test_the_premise_tells_neighbours_apart() -> None:
    ds = replace(dataset(), addresses=(at("12 High Street", "London"),))
    neighbour = record("NEIGHBOUR", address_lines=("10 High St", "London"))
    assert match_cycle1(ds, [neighbour]) == NoMatch(NoMatchReason.NO_CANDIDATE)
    own = record("OWN", address_lines=("12 High Rd",))  # same number, another street of the postcode
    assert match_cycle1(ds, [neighbour, own]) == NoMatch(NoMatchReason.NO_CANDIDATE)
    own = record("OWN", address_lines=("12, HIGH ST.",))
    assert match_cycle1(ds, [neighbour, own]) == Match("OWN")


def test_the_flat_tells_neighbours_in_one_building_apart() -> None:
    flat_2, flat_3 = record("F2", address_lines=("Flat 2", "10 High St")), record("F3", address_lines=("3/10 High St",))
    ds = replace(dataset(), addresses=(at("Flat 3, 10 High Street"),))
    assert match_cycle1(ds, [flat_2, flat_3]) == Match("F3")
    no_flat = replace(dataset(), addresses=(at("10 High Street"),))
    assert match_cycle1(no_flat, [flat_2]) == NoMatch(NoMatchReason.NO_CANDIDATE)  # which flat? not ours to say


def test_a_postcode_alone_is_never_enough() -> None:
    assert match_cycle1(dataset(), [record(address_lines=())]) == NoMatch(NoMatchReason.NO_CANDIDATE)
    no_premise = replace(dataset(), addresses=(at("High Street"),))
    assert match_cycle1(no_premise, [record()]) == NoMatch(NoMatchReason.INSUFFICIENT_VERIFIED_DATA)


def test_an_unverified_address_gives_no_premise() -> None:
    ds = replace(dataset(), addresses=(at("1 Street", verified=False), at("9 Other Road", postcode="CF10 2HQ")))
    assert match_cycle1(ds, [record()]) == NoMatch(NoMatchReason.NO_CANDIDATE)


@pytest.mark.parametrize(
    ("changes", "ds_changes"),
    [
        ({"first_name": "Mr Elodie"}, {}),  # a title in the first-name field
        ({"first_name": "DR. ELODIE"}, {}),
        ({"surname": "Martin Jnr"}, {}),  # a suffix in the surname field
        ({"surname": "St. John"}, {"surnames": (Name("St John", True),)}),  # punctuation in a surname
        ({"surname": "O'Neill-Smith"}, {"surnames": (Name("ONeill Smith", True),)}),
        ({"first_name": "Elodie Anne"}, {"middle": "Anne"}),  # a middle name in the first-name field
        ({"first_name": "Elodie", "middle_names": ("Anne", "Marie")}, {"first": "Elodie Anne Marie"}),
        ({"first_name": "E", "middle_names": ("Anne",)}, {"middle": "Anne"}),  # a first initial, full middle
        ({"middle_names": ("A",)}, {"middle": "Anne"}),  # a middle name as an initial
        ({"first_name": "Mary", "middle_names": ("Jane",)}, {"first": "Mary-Jane"}),  # hyphenated, split
        ({"first_name": "Maryjane"}, {"first": "Mary-Jane"}),  # hyphenated, joined
    ],
)
def test_names_as_records_hold_them(changes: dict, ds_changes: dict) -> None:
    surnames = ds_changes.pop("surnames", (Name("Martin", True),))
    assert match_cycle1(dataset(surnames=surnames, **ds_changes), [record(**changes)]) == Match("R1")


@pytest.mark.parametrize(
    ("first", "surname"),
    [("Mohammed", "Martin"), ("Elodie", "Martyn"), ("Elodi", "Martin"), ("Élodie", "Martin-Dubois")],
)
def test_other_spellings_are_other_names(first: str, surname: str) -> None:
    candidate = record(first_name="Muhammad" if first == "Mohammed" else "Elodie", nino="QQ123456C")
    ds = dataset(first=first, surnames=(Name(surname, True),))
    assert match_cycle1(ds, [candidate]) == NoMatch(NoMatchReason.NO_CANDIDATE)
    if surname == "Martin":  # cycle 3 finds a transliterated first name by the NINO
        assert match_cycle3(ds, "QQ123456C", [candidate]) == Match("R1")


def test_an_initial_never_decides_between_two_records() -> None:
    # twins at one address: one record holds "Elodie A", the other "Elodie P"
    anne, paule = record("A", middle_names=("A",)), record("P", middle_names=("P",))
    assert match_cycle1(dataset(middle="Anne"), [anne]) == Match("A")
    assert match_cycle1(dataset(middle="Anne"), [anne, paule]) == NoMatch(NoMatchReason.MULTIPLE_MATCH)
    # a full name that differs does decide
    assert match_cycle1(dataset(middle="Anne"), [anne, record("P", middle_names=("Paule",))]) == Match("A")


def test_a_suffix_both_sides_hold_is_evidence() -> None:
    senior, junior = record("SNR", surname="Martin Snr"), record("JNR", surname="Martin Jnr")
    assert match_cycle1(dataset(surnames=(Name("Martin Jnr", True),)), [senior, junior]) == Match("JNR")
    assert match_cycle1(dataset(), [senior, junior]) == NoMatch(NoMatchReason.MULTIPLE_MATCH)
    assert match_cycle1(dataset(surnames=(Name("Martin Jr.", True),)), [senior]) == NoMatch(NoMatchReason.NO_CANDIDATE)


def test_parent_and_child_with_one_name_at_one_address_are_told_apart_by_the_date_of_birth() -> None:
    parent = record("PARENT", date_of_birth=date(1958, 2, 1), surname="Martin Snr")
    child = record("CHILD")
    assert match_cycle1(dataset(), [parent, child]) == Match("CHILD")
    assert match_cycle1(dataset(dob=date(1958, 2, 1)), [parent, child]) == Match("PARENT")


def test_a_day_and_month_swap_is_another_date() -> None:
    assert match_cycle1(dataset(dob=date(1984, 6, 17)), [record(date_of_birth=date(1984, 6, 17))]) == Match("R1")
    swapped = record(date_of_birth=date(1984, 6, 7))
    assert match_cycle1(dataset(dob=date(1984, 7, 6)), [swapped]) == NoMatch(NoMatchReason.NO_CANDIDATE)


def test_a_record_without_a_date_of_birth_never_matches() -> None:
    undated = record(date_of_birth=None, nino="QQ123456C")
    assert match_cycle1(dataset(), [undated]) == NoMatch(NoMatchReason.NO_CANDIDATE)
    assert match_cycle3(dataset(), "QQ123456C", [undated]) == NoMatch(NoMatchReason.NO_CANDIDATE)


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
