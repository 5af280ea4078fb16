"""Names as records and identity documents hold them (matching_service.name_forms)."""

from __future__ import annotations

import pytest

from matching_service.name_forms import (
    GivenNamesAgreement,
    Surname,
    compare_given_names,
    given_names,
    normalise_name,
    read_surname,
)

AGREE, CONFLICT, TOO_WEAK = GivenNamesAgreement.AGREE, GivenNamesAgreement.CONFLICT, GivenNamesAgreement.TOO_WEAK


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Jones Jnr", Surname("jones", "jnr")),
        ("JONES JR.", Surname("jones", "jnr")),
        ("Jones Senior", Surname("jones", "snr")),
        ("Windsor III", Surname("windsor", "iii")),
        ("St. John", Surname("stjohn")),
        ("St John", Surname("stjohn")),
        ("O'Neill", Surname("oneill")),
        ("Smith-Jones", Surname("smithjones")),
        ("Junior", Surname("junior")),  # a surname that is only a suffix word stays a surname
        ("Ó Briain", Surname("obriain")),
    ],
)
def test_surnames_set_suffixes_and_punctuation_aside(value: str, expected: Surname) -> None:
    assert read_surname(value) == expected


@pytest.mark.parametrize(
    ("first", "middle", "expected"),
    [
        ("Mr Oliver", None, ("oliver",)),
        ("DR. Oliver", "James", ("oliver", "james")),
        ("Oliver James", None, ("oliver", "james")),
        ("Mary-Jane", None, ("mary", "jane")),
        ("J.", "Michael", ("j", "michael")),
        ("Oliver", ("James", "Peter"), ("oliver", "james", "peter")),
        ("Miss", None, ("miss",)),  # a title alone is kept: it is all there is
    ],
)
def test_given_names_are_one_ordered_list_without_titles(first, middle, expected) -> None:
    assert given_names(first, middle) == expected


@pytest.mark.parametrize(
    ("ours", "theirs", "expected"),
    [
        (("Oliver", "James"), ("Oliver James", None), AGREE),  # a middle name in the first-name field
        (("Oliver James Peter", None), ("Oliver", "James Peter"), AGREE),  # all given names in one field
        (("Mary-Jane", None), ("Mary", "Jane"), AGREE),  # hyphenated, split
        (("Maryjane", None), ("Mary", "Jane"), AGREE),  # hyphenated, joined
        (("James", "Michael"), ("J", "Michael"), AGREE),  # a first initial with the full middle name
        (("Oliver", "James"), ("Oliver", "J"), AGREE),  # a middle name recorded as an initial
        (("Oliver", "James"), ("Oliver", None), AGREE),  # a middle name one side lacks: missing, not different
        (("Oliver", "James"), ("Oliver", "Peter"), CONFLICT),
        (("Oliver", "James"), ("Oliver", "P"), CONFLICT),
        (("James", None), ("Michael", None), CONFLICT),
        (("James", "Michael"), ("Michael", None), CONFLICT),  # lists are compared from the first name on
        (("Jon", None), ("John", None), CONFLICT),  # one letter off is another name
        (("Mohammed", None), ("Muhammad", None), CONFLICT),  # transliterations are not guessed
        (("Jean", None), ("Jeanpaul", None), CONFLICT),  # a prefix is not a name
        (("J", None), ("James", None), TOO_WEAK),  # an initial alone agrees with nothing enough
        (("J", "M"), ("James", "Michael"), TOO_WEAK),
        (("James", None), ("J", "Michael"), TOO_WEAK),
    ],
)
def test_compare_given_names(ours, theirs, expected) -> None:
    assert compare_given_names(given_names(*ours), given_names(*theirs)) is expected
    assert compare_given_names(given_names(*theirs), given_names(*ours)) is expected  # symmetric


def test_initials_as_wildcards_only_silence_initials() -> None:
    assert compare_given_names(("oliver", "james"), ("oliver", "p"), initials_as_wildcards=True) is AGREE
    assert compare_given_names(("oliver", "james"), ("oliver", "peter"), initials_as_wildcards=True) is CONFLICT


def test_a_hostile_number_of_names_is_bounded() -> None:
    many = tuple("ab" for _ in range(200))
    assert compare_given_names(many, ("abab",) * 100) is TOO_WEAK
    assert compare_given_names(("ab",) * 12, ("abab",) * 6) is AGREE


@pytest.mark.parametrize(("left", "right"), [("St. John", "StJohn"), ("D'Souza", "D Souza"), ("Zoë", "ZOE")])
def test_normalise_name_ignores_punctuation_and_accents(left: str, right: str) -> None:
    assert normalise_name(left) == normalise_name(right)
