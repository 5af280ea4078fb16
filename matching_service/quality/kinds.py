"""The kinds of case in the hard set, each a small story about people and their records.

Groups:
    match       the asker's record is on file and a careful rule can find it;
    negative    the asker is not on file, a record that looks like theirs is (any match is false);
    by-design   the asker's record is on file but the rule answers no match on purpose (a spelling the
                rule does not guess, no date of birth, a flat on one side only...): cycle 3 or nothing.
The label of a query is ground truth about people (whose record is the asker's), never a prediction of
the rule.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from matching_service.quality.world import (
    ADDRESS_STYLES,
    BUILDING_NAMES,
    HYPHENATED_GIVEN,
    MALE,
    PUNCTUATED_SURNAMES,
    SPELLINGS,
    SUFFIXES,
    SURNAMES,
    TITLES,
    Asserted,
    Neighbourhood,
    Person,
    World,
    add_query,
    add_record,
    address,
    value,
)

Case = Callable[[World, Neighbourhood], None]
KINDS: dict[str, tuple[str, str, Case]] = {}


def kind(name: str, group: str, description: str) -> Callable[[Case], Case]:
    def register(case: Case) -> Case:
        KINDS[name] = (group, description, case)
        return case

    return register


def _one_letter_off(rng: random.Random, name: str) -> str:
    """Another name one letter away (substituted, dropped or added), never the same once folded."""
    letters = "abcdefghijklmnoprstuvwy"
    while True:
        i = rng.randrange(1, len(name))
        op = rng.choice(("substitute", "drop", "add"))
        if op == "substitute":
            other = name[:i] + rng.choice(letters) + name[i + 1 :]
        elif op == "drop" and len(name) > 3:
            other = name[:i] + name[i + 1 :]
        else:
            other = name[:i] + rng.choice(letters) + name[i:]
        if other.casefold() != name.casefold():
            return other


def _day_and_month_both_months(world: World) -> date:
    """A date whose day could be a month (and is not the month): one a day/month swap turns into another."""
    while True:
        dob = world.date_of_birth()
        if dob.day <= 12 and dob.day != dob.month:
            return dob


def _another_given(world: World, person: Person) -> tuple[str, ...]:
    """Given names for a sibling: as many as the person's, another first name."""
    while True:
        given = world.given(person.gender, len(person.given))
        if given[0] != person.given[0]:
            return given


@kind("exact", "match", "the record holds what the identity provider asserts")
def _exact(world: World, area: Neighbourhood) -> None:
    person = world.person(area.any_home())
    add_query(world, "exact", person, add_record(world, person))


@kind(
    "address-format", "match", "one address written two ways: Flat 2, 10 High St = 2/10 High Neighbourhood, case, lines"
)
def _address_format(world: World, area: Neighbourhood) -> None:
    rng = world.rng
    person = world.person(rng.choice((area.house, area.flat, area.flat))())
    ours, theirs = rng.sample(ADDRESS_STYLES, 2)
    record = add_record(world, person, address_style=ours, postcode_style=rng.choice(("plain", "squashed", "lower")))
    add_query(world, "address-format", person, record, Asserted(addresses=(address(person.home, theirs),)))


@kind("moved-house", "match", "the record holds the address the identity provider verified as previous")
def _moved_house(world: World, area: Neighbourhood) -> None:
    old_home = area.any_home()
    new_street = Neighbourhood(world)
    person = world.person(new_street.any_home(), previous_home=old_home)
    record = add_record(world, person, home=old_home, previous_postcodes="")
    moved = world.date_of_birth(2015, 2023)
    addresses = (address(person.home), address(old_home, to=moved))
    add_query(world, "moved-house", person, record, Asserted(addresses=addresses))


@kind("title-in-first-name", "match", 'a title in the first-name field: "Mr Oliver"')
def _title(world: World, area: Neighbourhood) -> None:
    person = world.person(area.any_home())
    record = add_record(world, person, first_name=f"{world.rng.choice(TITLES)} {person.given[0]}")
    add_query(world, "title-in-first-name", person, record)


@kind("suffix-in-surname", "match", 'a suffix in the surname field: "Jones Jnr"')
def _suffix(world: World, area: Neighbourhood) -> None:
    person = world.person(area.any_home())
    record = add_record(world, person, surname=f"{person.surname} {world.rng.choice(SUFFIXES)}")
    add_query(world, "suffix-in-surname", person, record)


@kind("surname-punctuation", "match", 'punctuation in a surname: "St. John" = "St John", "O\'Neill" = "ONeill"')
def _surname_punctuation(world: World, area: Neighbourhood) -> None:
    forms = world.rng.choice(PUNCTUATED_SURNAMES)
    ours, theirs = world.rng.sample(forms, 2)
    person = world.person(area.any_home(), surname=ours)
    record = add_record(world, person)
    add_query(world, "surname-punctuation", person, record, Asserted(surnames=(value(theirs),)))


@kind("middle-name-in-first-name", "match", "a middle name typed into the first-name field (either side)")
def _middle_in_first(world: World, area: Neighbourhood) -> None:
    gender = world.rng.choice(("FEMALE", "MALE"))
    person = world.person(area.any_home(), gender=gender, given=world.given(gender, 2))
    both = " ".join(person.given)
    if world.rng.random() < 0.5:
        record = add_record(world, person, first_name=both, middle_names="")
        add_query(world, "middle-name-in-first-name", person, record)
    else:
        record = add_record(world, person)
        add_query(world, "middle-name-in-first-name", person, record, Asserted(first=both, middle=""))


@kind("all-given-names-in-one-field", "match", "all given names in the first-name field (either side)")
def _all_in_first(world: World, area: Neighbourhood) -> None:
    gender = world.rng.choice(("FEMALE", "MALE"))
    person = world.person(area.any_home(), gender=gender, given=world.given(gender, 3))
    everything = " ".join(person.given)
    if world.rng.random() < 0.5:
        record = add_record(world, person, first_name=everything, middle_names="")
        add_query(world, "all-given-names-in-one-field", person, record)
    else:
        record = add_record(world, person)
        asserted = Asserted(first=everything, middle="")
        add_query(world, "all-given-names-in-one-field", person, record, asserted)


@kind("first-initial-full-middle", "match", 'the record holds a first initial and the full middle name: "J" "Michael"')
def _first_initial(world: World, area: Neighbourhood) -> None:
    gender = world.rng.choice(("FEMALE", "MALE"))
    person = world.person(area.any_home(), gender=gender, given=world.given(gender, 2))
    initial = person.given[0][0] + world.rng.choice(("", "."))
    record = add_record(world, person, first_name=initial)
    add_query(world, "first-initial-full-middle", person, record)


@kind("middle-name-initial", "match", 'the record holds the middle name as an initial: "Oliver" "J"')
def _middle_initial(world: World, area: Neighbourhood) -> None:
    gender = world.rng.choice(("FEMALE", "MALE"))
    person = world.person(area.any_home(), gender=gender, given=world.given(gender, 2))
    record = add_record(world, person, middle_names=person.given[1][0] + world.rng.choice(("", ".")))
    add_query(world, "middle-name-initial", person, record)


@kind("hyphenated-given-name", "match", 'a hyphenated given name split or joined: "Mary-Jane" = "Mary" "Jane"')
def _hyphenated(world: World, area: Neighbourhood) -> None:
    parts = world.rng.choice(HYPHENATED_GIVEN)
    person = world.person(area.any_home(), given=("-".join(parts),))
    form = world.rng.choice(("split", "joined", "spaced"))
    if form == "split":
        record = add_record(world, person, first_name=parts[0], middle_names=parts[1])
    else:
        record = add_record(world, person, first_name=("".join(parts) if form == "joined" else " ".join(parts)))
    add_query(world, "hyphenated-given-name", person, record)


@kind("previous-surname", "match", "a surname changed on marriage: the old one on one side, the history on the other")
def _previous_surname(world: World, area: Neighbourhood) -> None:
    old, new = world.rng.sample(SURNAMES, 2)
    married = world.date_of_birth(2005, 2022)
    person = world.person(area.any_home(), gender="FEMALE", surname=new, previous_surname=old)
    if world.rng.random() < 0.5:  # the department still has the old surname; the IDP knows both
        record = add_record(world, person, surname=old, previous_surnames="")
        surnames = (value(new), value(old, to=married))
        add_query(world, "previous-surname", person, record, Asserted(surnames=surnames))
    else:  # the department has both; the IDP only the new one
        record = add_record(world, person)
        add_query(world, "previous-surname", person, record)


@kind(
    "parent-and-child",
    "match",
    "parent and child with one name at one address, both on file: the dates of birth decide",
)
def _parent_and_child(world: World, area: Neighbourhood) -> None:
    home = area.any_home()
    parent = world.person(home, gender="MALE", date_of_birth=world.date_of_birth(1940, 1970))
    child = replace(parent, date_of_birth=parent.date_of_birth + timedelta(days=world.rng.randint(8000, 14000)))
    child = replace(child, nino=world.nino())
    suffixes = world.rng.choice(((None, None), ("Snr", "Jnr"), (None, "Jnr")))
    parent_record = add_record(world, replace(parent, suffix=suffixes[0]))
    child_record = add_record(world, replace(child, suffix=suffixes[1]))
    add_query(world, "parent-and-child", parent, parent_record)
    add_query(world, "parent-and-child", child, child_record)


@kind("twins", "match", "twins: one surname, date of birth and address, both on file")
def _twins(world: World, area: Neighbourhood) -> None:
    home = area.any_home()
    gender = world.rng.choice(("FEMALE", "MALE"))
    one = world.person(home, gender=gender)
    other = replace(one, given=_another_given(world, one), nino=world.nino())
    add_query(world, "twins", one, add_record(world, one))
    add_query(world, "twins", other, add_record(world, other))


@kind(
    "neighbours-both-on-file", "match", "namesakes (name and date of birth) at two houses of one postcode, both on file"
)
def _neighbours_both(world: World, area: Neighbourhood) -> None:
    one = world.person(area.house())
    other = replace(one, home=world.rng.choice((area.house, area.named_house))(), nino=world.nino())
    add_query(world, "neighbours-both-on-file", one, add_record(world, one))
    add_query(world, "neighbours-both-on-file", other, add_record(world, other))


@kind("flat-neighbours-both-on-file", "match", "namesakes in two flats of one building, both on file")
def _flat_neighbours_both(world: World, area: Neighbourhood) -> None:
    one = world.person(area.flat())
    other = replace(one, home=area.flat(), nino=world.nino())
    add_query(world, "flat-neighbours-both-on-file", one, add_record(world, one, address_style="slash"))
    add_query(world, "flat-neighbours-both-on-file", other, add_record(world, other))


@kind("suffix-distinguishes", "match", "Jnr and Snr at one address with one recorded date of birth: the suffix decides")
def _suffix_distinguishes(world: World, area: Neighbourhood) -> None:
    home = area.any_home()
    junior = world.person(home, gender="MALE", suffix="Jnr")
    senior = replace(junior, suffix="Snr", nino=world.nino())
    add_record(world, senior)
    record = add_record(world, junior)
    add_query(world, "suffix-distinguishes", junior, record, Asserted(surnames=(value(f"{junior.surname} Jnr"),)))


@kind(
    "spelling-variant-cycle3", "match", "a transliterated first name (Mohammed / Muhammad) found at cycle 3 by the NINO"
)
def _spelling_cycle3(world: World, area: Neighbourhood) -> None:
    ours, theirs = world.rng.sample(world.rng.choice(SPELLINGS), 2)
    person = world.person(area.any_home(), given=(ours,))
    record = add_record(world, person)
    nino = person.nino if world.rng.random() < 0.5 else " ".join((person.nino[:2], person.nino[2:8], person.nino[8:]))
    add_query(world, "spelling-variant-cycle3", person, record, Asserted(first=theirs), nino=nino)


@kind("cycle3-new-address", "match", "an address the department does not know: found at cycle 3 by the NINO")
def _cycle3_new_address(world: World, area: Neighbourhood) -> None:
    person = world.person(area.any_home())
    record = add_record(world, person)
    elsewhere = Neighbourhood(world).any_home()
    add_query(world, "cycle3-new-address", person, record, Asserted(addresses=(address(elsewhere),)), nino=person.nino)


@kind(
    "combined-variations", "match", "several of the forms above at once (title, initial, fields, punctuation, layout)"
)
def _combined(world: World, area: Neighbourhood) -> None:
    rng = world.rng
    gender = rng.choice(("FEMALE", "MALE"))
    forms = rng.choice(PUNCTUATED_SURNAMES)
    person = world.person(area.any_home(), gender=gender, given=world.given(gender, 2), surname=forms[0])
    record: dict[str, Any] = {"address_style": rng.choice(ADDRESS_STYLES), "postcode_style": "squashed"}
    first = person.given[0]
    for variation in rng.sample(("title", "suffix", "middle-initial", "middle-in-first", "surname-form"), 3):
        if variation == "title":
            first = f"{rng.choice(TITLES)} {first}"
        elif variation == "suffix":
            record["surname"] = f"{person.surname} {rng.choice(SUFFIXES)}"
        elif variation == "middle-initial":
            record["middle_names"] = person.given[1][0]
        elif variation == "middle-in-first" and "middle_names" not in record:
            first, record["middle_names"] = f"{first} {person.given[1]}", ""
        elif variation == "surname-form":
            record.setdefault("surname", rng.choice(forms[1:]))
    record_id = add_record(world, person, first_name=first, **record)
    asserted = Asserted(addresses=(address(person.home, rng.choice(ADDRESS_STYLES)),))
    add_query(world, "combined-variations", person, record_id, asserted)


# hard negatives: the person asking is not on file ----------------------------------------------------------


@kind(
    "neighbour-other-house",
    "negative",
    "a namesake (name and date of birth) at another house of the postcode is on file",
)
def _neighbour_house(world: World, area: Neighbourhood) -> None:
    person = world.person(area.house())
    neighbour = replace(person, home=world.rng.choice((area.house, area.house, area.named_house))(), nino=world.nino())
    add_record(world, neighbour, address_style=world.rng.choice(ADDRESS_STYLES))
    add_query(world, "neighbour-other-house", person, None)


@kind("neighbour-other-flat", "negative", "a namesake in another flat of the same building is on file")
def _neighbour_flat(world: World, area: Neighbourhood) -> None:
    person = world.person(area.flat())
    neighbour = replace(person, home=area.flat(), nino=world.nino())
    add_record(world, neighbour, address_style=world.rng.choice(ADDRESS_STYLES))
    add_query(world, "neighbour-other-flat", person, None)


@kind(
    "neighbour-flat-omitted",
    "negative",
    "a namesake in flat 2 is on file; the asker lives in flat 3 and the IDP omits the flat",
)
def _neighbour_flat_omitted(world: World, area: Neighbourhood) -> None:
    person = world.person(area.flat())
    neighbour = replace(person, home=area.flat(), nino=world.nino())
    add_record(world, neighbour)
    no_flat = replace(person.home, flat=None, building=None)
    add_query(world, "neighbour-flat-omitted", person, None, Asserted(addresses=(address(no_flat),)))


@kind(
    "namesake-moved-away",
    "negative",
    "a namesake who used to live at the postcode is on file (record: previous postcode)",
)
def _namesake_moved_away(world: World, area: Neighbourhood) -> None:
    person = world.person(area.any_home())
    namesake = replace(person, home=Neighbourhood(world).any_home(), previous_home=area.any_home(), nino=world.nino())
    add_record(world, namesake)
    add_query(world, "namesake-moved-away", person, None)


@kind(
    "one-letter-off-first-name",
    "negative",
    "a relative at the same address and date of birth, first name one letter off",
)
def _one_letter_first(world: World, area: Neighbourhood) -> None:
    relative = world.person(area.any_home())
    person = replace(
        relative, given=(_one_letter_off(world.rng, relative.given[0]), *relative.given[1:]), nino=world.nino()
    )
    add_record(world, relative)
    add_query(world, "one-letter-off-first-name", person, None)


@kind("one-letter-off-surname", "negative", "a namesake at the same address and date of birth, surname one letter off")
def _one_letter_surname(world: World, area: Neighbourhood) -> None:
    other = world.person(area.any_home())
    person = replace(other, surname=_one_letter_off(world.rng, other.surname), nino=world.nino())
    add_record(world, other)
    add_query(world, "one-letter-off-surname", person, None)


@kind("twin-not-on-file", "negative", "the twin (same surname, date of birth, address) is on file; the asker is not")
def _twin_not_on_file(world: World, area: Neighbourhood) -> None:
    gender = world.rng.choice(("FEMALE", "MALE"))
    twin = world.person(area.any_home(), gender=gender)
    person = replace(twin, given=_another_given(world, twin), nino=world.nino())
    add_record(world, twin)
    add_query(world, "twin-not-on-file", person, None)


@kind("spouse", "negative", "the spouse (same surname and address, same first initial and date of birth) is on file")
def _spouse(world: World, area: Neighbourhood) -> None:
    spouse = world.person(area.any_home(), gender="FEMALE")
    initial = spouse.given[0][0]
    same_initial = [n for n in MALE if n[0] == initial] or MALE
    person = replace(spouse, gender="MALE", given=(world.rng.choice(same_initial),), nino=world.nino())
    add_record(world, spouse, first_name=initial if world.rng.random() < 0.5 else spouse.given[0])
    add_query(world, "spouse", person, None)


@kind("parent-or-child-not-on-file", "negative", "the parent (or child) with the same name and address is on file")
def _relative_not_on_file(world: World, area: Neighbourhood) -> None:
    parent = world.person(area.any_home(), gender="MALE", date_of_birth=world.date_of_birth(1940, 1970))
    child = replace(
        parent, date_of_birth=parent.date_of_birth + timedelta(days=world.rng.randint(8000, 14000)), nino=world.nino()
    )
    on_file, asking = (parent, child) if world.rng.random() < 0.5 else (child, parent)
    add_record(world, replace(on_file, suffix=world.rng.choice((None, "Snr" if on_file is parent else "Jnr"))))
    add_query(world, "parent-or-child-not-on-file", asking, None)


@kind(
    "initial-relative",
    "negative",
    'a relative recorded as "J Michael" is on file; the asker is "James Peter" (or "James")',
)
def _initial_relative(world: World, area: Neighbourhood) -> None:
    relative = world.person(area.any_home(), gender="MALE", given=world.given("MALE", 2))
    first = world.rng.choice([n for n in MALE if n[0] == relative.given[0][0]] or [relative.given[0]])
    middles = [n for n in MALE if n != relative.given[1]]
    given = (first, world.rng.choice(middles)) if world.rng.random() < 0.6 else (first,)
    person = replace(relative, given=given, nino=world.nino())
    add_record(world, relative, first_name=relative.given[0][0])
    add_query(world, "initial-relative", person, None)


@kind(
    "unverified-values",
    "negative",
    "a namesake's record would match if an unverified value (address, surname, date) counted",
)
def _unverified(world: World, area: Neighbourhood) -> None:
    namesake = world.person(area.any_home())
    variant = world.rng.choice(("address", "surname", "date_of_birth"))
    if variant == "address":  # the citizen typed the namesake's address; the IDP verified another one
        person = replace(namesake, home=Neighbourhood(world).any_home(), nino=world.nino())
        addresses = (address(namesake.home, verified=False), address(person.home))
        asserted = Asserted(addresses=addresses)
    elif variant == "surname":  # the verified surname differs; an unverified one is the namesake's
        person = replace(namesake, surname=world.rng.choice(SURNAMES), nino=world.nino())
        asserted = Asserted(surnames=(value(namesake.surname, verified=False), value(person.surname)))
    else:  # the date of birth could not be verified
        person = replace(namesake, date_of_birth=world.date_of_birth(), nino=world.nino())
        asserted = Asserted(date_of_birth=namesake.date_of_birth, unverified=frozenset({"date_of_birth"}))
    add_record(world, namesake)
    add_query(world, "unverified-values", person, None, asserted)


@kind("cycle3-relatives-nino", "negative", "at cycle 3 the asker gives the NINO of a parent or child on file")
def _cycle3_relative(world: World, area: Neighbourhood) -> None:
    parent = world.person(area.any_home(), date_of_birth=world.date_of_birth(1940, 1970))
    child = replace(
        parent, date_of_birth=parent.date_of_birth + timedelta(days=world.rng.randint(8000, 14000)), nino=world.nino()
    )
    on_file, asking = (parent, child) if world.rng.random() < 0.5 else (child, parent)
    add_record(world, on_file)
    add_query(world, "cycle3-relatives-nino", asking, None, nino=on_file.nino)


# by design: the asker's record is on file, the rule says no match -----------------------------------------


@kind("spelling-variant", "by-design", "a transliterated or respelled name (Mohammed / Muhammad): no match at cycle 1")
def _spelling(world: World, area: Neighbourhood) -> None:
    ours, theirs = world.rng.sample(world.rng.choice(SPELLINGS), 2)
    person = world.person(area.any_home(), given=(ours,))
    add_query(world, "spelling-variant", person, add_record(world, person), Asserted(first=theirs))


@kind("day-month-swap", "by-design", "the day and month of the date of birth swapped on one side")
def _day_month_swap(world: World, area: Neighbourhood) -> None:
    dob = _day_and_month_both_months(world)
    person = world.person(area.any_home(), date_of_birth=dob)
    record = add_record(world, person)
    swapped = date(dob.year, dob.day, dob.month)
    add_query(world, "day-month-swap", person, record, Asserted(date_of_birth=swapped))


@kind("record-without-date-of-birth", "by-design", "the department's record has no date of birth (kept, never matched)")
def _no_dob(world: World, area: Neighbourhood) -> None:
    person = world.person(area.any_home())
    record = add_record(world, person, date_of_birth="")
    add_query(world, "record-without-date-of-birth", person, record)
    add_query(world, "record-without-date-of-birth", person, record, nino=person.nino)


@kind("flat-on-one-side-only", "by-design", 'one side writes "Flat 2, 10 High St", the other "10 High St": which flat?')
def _flat_one_side(world: World, area: Neighbourhood) -> None:
    person = world.person(area.flat())
    no_flat = replace(person.home, flat=None, building=None)
    if world.rng.random() < 0.5:
        record = add_record(world, person, home=no_flat)
        add_query(world, "flat-on-one-side-only", person, record)
    else:
        record = add_record(world, person)
        add_query(world, "flat-on-one-side-only", person, record, Asserted(addresses=(address(no_flat),)))


@kind("first-initial-only", "by-design", 'the record holds only an initial: "J Smith" (no full given name agrees)')
def _initial_only(world: World, area: Neighbourhood) -> None:
    person = world.person(area.any_home(), given=world.given("MALE", 1), gender="MALE")
    record = add_record(world, person, first_name=person.given[0][0] + world.rng.choice(("", ".")))
    add_query(world, "first-initial-only", person, record)


@kind(
    "record-previous-postcode-only",
    "by-design",
    "the IDP knows only the old address; the record holds its postcode only",
)
def _record_previous_postcode(world: World, area: Neighbourhood) -> None:
    old_home = area.any_home()
    person = world.person(Neighbourhood(world).any_home(), previous_home=old_home)
    record = add_record(world, person)
    add_query(world, "record-previous-postcode-only", person, record, Asserted(addresses=(address(old_home),)))


@kind("street-typo", "by-design", 'a typo in the street name on one side ("Hihg Street"): no typo is guessed')
def _street_typo(world: World, area: Neighbourhood) -> None:
    person = world.person(area.house())
    misspelt = replace(person.home, street=_one_letter_off(world.rng, person.home.street))
    add_query(world, "street-typo", person, add_record(world, person, home=misspelt))


@kind(
    "house-name-against-number",
    "by-design",
    'one side names the building ("Flat 2, Alder House"), the other numbers it',
)
def _name_against_number(world: World, area: Neighbourhood) -> None:
    home = area.flat()
    while home.building is None:
        home = replace(home, building=world.rng.choice(BUILDING_NAMES))
    person = world.person(home)
    record_id = add_record(world, person, home=replace(home, number=None))
    add_query(
        world,
        "house-name-against-number",
        person,
        record_id,
        Asserted(addresses=(address(replace(home, building=None)),)),
    )


@kind("own-values-unverified", "by-design", "the asker's own date of birth or address is unverified")
def _own_unverified(world: World, area: Neighbourhood) -> None:
    person = world.person(area.any_home())
    record = add_record(world, person)
    which = world.rng.choice(("date_of_birth", "address", "first"))
    add_query(world, "own-values-unverified", person, record, Asserted(unverified=frozenset({which})))
