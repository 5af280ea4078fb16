"""The premise of an address (matching_service.premises): what tells two households at one postcode apart."""

from __future__ import annotations

import pytest

from matching_service.premises import Premise, premises_agree, read_premise


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["Flat 2, 10 High St"], Premise(flat="2", number="10", street="highstreet")),
        (["2/10 High Street", "Oxford"], Premise(flat="2", number="10", street="highstreet")),
        (["FLAT 2", "10 HIGH STREET.", "OXFORD"], Premise(flat="2", number="10", street="highstreet")),
        (["Apartment 02", "10 High Street"], Premise(flat="2", number="10", street="highstreet")),
        (["10 A High St"], Premise(number="10a", street="highstreet")),
        (["10", "High Street"], Premise(number="10", street="highstreet")),
        (["10-12 Mill Lane"], Premise(number="10-12", street="milllane")),
        (["4 St John's Rd"], Premise(number="4", street="saintjohnsroad")),
        (["The Old Rectory", "Church Lane", "Ludlow"], Premise(name="oldrectory", street="churchlane")),
        (["Flat 3 Alder House", "10 High St"], Premise(flat="3", number="10", name="alderhouse", street="highstreet")),
        (["Ground Floor Flat", "12 Dashwood Rd"], Premise(flat="floor-ground", number="12", street="dashwoodroad")),
        (["FFLAT 2", "5 HEOL Y FRENHINES", "CAERDYDD"], Premise(flat="2", number="5", street="heolyfrenhines")),
        (["Church Lane", "Ludlow"], Premise(street="churchlane")),
        (["Meadow View", "New Close", "Leeds"], Premise(name="meadowview", street="newclose")),  # a house name
        (["Flat 9", "Mill View", "100 Alexandra Road"], Premise("9", "100", "millview", "alexandraroad")),
        (["10 High Street", "Flat 2"], Premise(flat="2", number="10", street="highstreet")),
        ([], Premise()),
        (["Oxford"], Premise()),  # a town alone is no house
        (["Rose Cottage", "Ludlow"], Premise(name="rosecottage")),
        (["Rose Cottage", "SY8 1AA"], Premise()),  # the postcode among the lines is not the town
        (["OX1 4AA"], Premise()),
    ],
)
def test_read_premise(lines: list[str], expected: Premise) -> None:
    assert read_premise(lines) == expected


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (["Flat 2, 10 High St"], ["2/10 High Street", "Oxford"]),
        (["10 High Rd"], ["10 HIGH ROAD", "Oxford"]),
        (["44 Kingsway"], ["44 Kings Way"]),
        (["Rose Cottage", "Mill Lane"], ["Rose Cottage, Mill Ln", "Ludlow"]),
        (["Rose Cottage", "5 Mill Lane"], ["5 Mill Lane"]),  # a house name on one side only
    ],
)
def test_the_same_premise(ours: list[str], theirs: list[str]) -> None:
    assert premises_agree(read_premise(ours), read_premise(theirs))


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (["12 High Street"], ["10 High Street"]),  # the neighbour
        (["10a High Street"], ["10 High Street"]),
        (["Flat 3, 10 High Street"], ["Flat 2, 10 High Street"]),  # another flat in the building
        (["10 High Street"], ["Flat 2, 10 High Street"]),  # a flat on one side only: which flat is it?
        (["10 High Street"], ["10 Mill Lane"]),  # two streets in one postcode
        (["10 Hihg Street"], ["10 High Street"]),  # no typo is guessed
        (["Rose Cottage", "Mill Lane"], ["Ivy Cottage", "Mill Lane"]),
        (["Rose Cottage", "Mill Lane"], ["5 Mill Lane"]),  # a name against a number compares nothing
        (["High Street"], ["High Street"]),  # no house number or name: a street is not a household
        (["10"], ["10"]),  # a number on no street
        (["Oxford"], ["Oxford"]),  # a town alone
        (["OX1 4AA"], ["OX1 4AA"]),  # a postcode in the lines is not a premise
    ],
)
def test_different_or_unknown_premises_do_not_agree(ours: list[str], theirs: list[str]) -> None:
    assert not premises_agree(read_premise(ours), read_premise(theirs))
    assert not premises_agree(read_premise(theirs), read_premise(ours))
