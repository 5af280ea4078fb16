"""The synthetic world the hard set is drawn from: people, households at postcodes, and the ways
department records and identity providers write the same facts.

Why a world and not a list of rows: the hard cases are about people who share things (a postcode, a
building, a surname, a date of birth), so cases are built from people and homes, then written out as a
record (the department's CSV row) and a query (the identity provider's matching dataset, as the local
matcher's JSON contract body). Every name, address and number here is invented.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from matching_service.records_csv import CSV_COLUMNS

BACKGROUND_HOUSEHOLDS_PER_POSTCODE = 8

FEMALE = (
    "Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Freya Evie Emily Poppy Ella Charlotte "
    "Sophie Alice Florence Daisy Sienna Ruby Matilda Harper Elsie Willow Phoebe Evelyn Hannah Chloe Zara "
    "Priya Aisha Fatima Niamh Megan Rhiannon Claire Joan Jane Mary Margaret Elizabeth Rebecca Bethan "
    "Ngozi Amara Mei Yasmin Leah Abigail Eleanor Harriet Lucy Martha Nia Seren Aoife Roisin"
).split()
MALE = (
    "Oliver George Noah Arthur Harry Leo Jack Charlie Oscar Jacob Henry Thomas Freddie Alfie Theo William "
    "Archie Joshua James Isaac Edward Lucas Tommy Finley Max Logan Ethan John David Daniel Michael Peter "
    "Paul Mark Rhys Dylan Kwame Arjun Rohan Callum Connor Owen Gareth Huw Ravi Tariq Ibrahim Omar Kofi "
    "Emeka Samuel Joseph Benjamin Matthew Andrew Robert Richard Christopher Anthony Kevin Gavin"
).split()
SURNAMES = (
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson Wright "
    "Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin Cooper Hill "
    "Ward Morris Moore Lee King Baker Harrison Morgan Allen Scott Phillips Watson Parker Price Bennett Young "
    "Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Khan "
    "Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray "
    "Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell "
    "Fisher Stevens Jenkins Murray Dixon Nguyen Kowalski Okafor Mensah Chen Wang Okonkwo Nowak Byrne"
).split()
# One surname, several ways records and documents write it.
PUNCTUATED_SURNAMES = (
    ("St. John", "St John", "StJohn", "ST JOHN"),
    ("O'Neill", "O Neill", "ONeill", "O’Neill"),
    ("O'Brien", "OBrien", "O Brien"),
    ("D'Souza", "D Souza", "DSouza"),
    ("Smith-Jones", "Smith Jones", "SMITH-JONES"),
    ("Van der Berg", "Vanderberg", "Van-der-Berg"),
    ("McDonald", "Mc Donald", "MCDONALD"),
    ("Fitz-Gerald", "FitzGerald", "Fitz Gerald"),
    ("St. Clair", "St Clair", "St-Clair"),
    ("Ap Rhys", "ApRhys", "Ap-Rhys"),
)
HYPHENATED_GIVEN = (
    ("Mary", "Jane"),
    ("Anne", "Marie"),
    ("Jean", "Paul"),
    ("Lily", "Mae"),
    ("Rose", "Anne"),
    ("Jean", "Luc"),
    ("Ella", "Rose"),
    ("Mohammed", "Ali"),
)
# Spellings and transliterations of one name: the rule must not treat them as one (cycle 3 finds them).
SPELLINGS = (
    ("Mohammed", "Muhammad"),
    ("Mohamed", "Mohammad"),
    ("Aleksandr", "Alexander"),
    ("Katherine", "Catherine"),
    ("Stephen", "Steven"),
    ("Sean", "Shaun"),
    ("Iain", "Ian"),
    ("Zoe", "Zoey"),
    ("Sarah", "Sara"),
    ("Phillip", "Philip"),
    ("Yusuf", "Yousef"),
    ("Aisha", "Ayesha"),
    ("Jakub", "Jacob"),
    ("Siobhan", "Shivaun"),
)
TITLES = ("Mr", "Mrs", "Ms", "Miss", "Dr", "Dr.", "MR", "Prof", "Mx", "Rev")
SUFFIXES = ("Jnr", "Snr", "Jr.", "Junior", "II")
STREET_NAMES = (
    "High Church Station Mill Victoria Park Queens Kings London Manor School Springfield Albert Grange "
    "Chapel New North West Orchard Elm Oak Beech Windsor York Castle Bridge Market Green Highfield Richmond "
    "Alexandra Meadow Willow Cedar Hawthorn Rowan Heather Primrose Balmoral Osborne Stanley Clifton"
).split()
STREET_TYPES = (
    ("Street", "St"),
    ("Road", "Rd"),
    ("Lane", "Ln"),
    ("Avenue", "Ave"),
    ("Close", "Cl"),
    ("Drive", "Dr"),
    ("Crescent", "Cres"),
    ("Place", "Pl"),
    ("Gardens", "Gdns"),
    ("Terrace", "Tce"),
    ("Grove", "Gr"),
    ("Way", "Way"),
)
HOUSE_NAMES = (
    "Rose Cottage",
    "The Old Rectory",
    "Ivy House",
    "Orchard House",
    "The Laurels",
    "Hillside",
    "The Coach House",
    "Holly Lodge",
    "Fern Cottage",
    "The Willows",
    "Meadow View",
    "Stable Cottage",
)
BUILDING_NAMES = ("Alder House", "Beech Court", "Kingsley House", "Mill View", "Riverside House")
TOWNS = (
    ("Oxford", "OX"),
    ("Leeds", "LS"),
    ("Bristol", "BS"),
    ("Cardiff", "CF"),
    ("Manchester", "M"),
    ("Leicester", "LE"),
    ("Norwich", "NR"),
    ("York", "YO"),
    ("Swansea", "SA"),
    ("Belfast", "BT"),
    ("Glasgow", "G"),
    ("Exeter", "EX"),
    ("Derby", "DE"),
    ("Hull", "HU"),
)
_POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
_NINO_PREFIXES = ("AB", "CE", "JW", "KL", "NP", "RT", "SM", "WX", "HB", "EH", "GY", "TL", "PR", "MA", "ZR")


# --- the synthetic world ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Home:
    """One household's address; every rendering of it below must read as the same premise."""

    postcode: str
    town: str
    street: str
    street_type: tuple[str, str]  # (full, abbreviation)
    number: str | None = None
    flat: str | None = None
    house_name: str | None = None
    building: str | None = None

    def street_line(self, abbreviated: bool = False) -> str:
        kind = self.street_type[1] if abbreviated else self.street_type[0]
        return f"{self.street} {kind}"


@dataclass(frozen=True)
class Person:
    given: tuple[str, ...]
    surname: str
    date_of_birth: date
    gender: str
    home: Home
    nino: str
    suffix: str | None = None
    previous_home: Home | None = None
    previous_surname: str | None = None  # the surname before marriage (the person's history)


@dataclass
class Row:
    """One department record as the CSV holds it."""

    record_id: str
    first_name: str
    middle_names: str
    surname: str
    previous_surnames: str
    date_of_birth: str
    gender: str
    address_lines: str
    postcode: str
    previous_postcodes: str
    nino: str

    def as_csv(self) -> list[str]:
        return [getattr(self, column) for column in CSV_COLUMNS]


@dataclass
class World:
    """The random source and everything already handed out (so no two cases share a home or a NINO)."""

    rng: random.Random
    rows: list[Row] = field(default_factory=list)
    queries: list[dict[str, Any]] = field(default_factory=list)
    postcodes: set[str] = field(default_factory=set)
    ninos: set[str] = field(default_factory=set)
    next_record: int = 1

    def postcode_area(self) -> tuple[str, str]:
        """A fresh postcode (and its town): one case, one postcode, so cases never meet by accident."""
        while True:
            town, area = self.rng.choice(TOWNS)
            letters = "".join(self.rng.choice(_POSTCODE_LETTERS) for _ in range(2))
            postcode = f"{area}{self.rng.randint(1, 29)} {self.rng.randint(1, 9)}{letters}"
            if postcode not in self.postcodes:
                self.postcodes.add(postcode)
                return postcode, town

    def nino(self) -> str:
        while True:
            nino = f"{self.rng.choice(_NINO_PREFIXES)}{self.rng.randint(0, 999999):06d}{self.rng.choice('ABCD')}"
            if nino not in self.ninos:
                self.ninos.add(nino)
                return nino

    def date_of_birth(self, start: int = 1940, end: int = 2004) -> date:
        first, last = date(start, 1, 1), date(end, 12, 31)
        return first + timedelta(days=self.rng.randint(0, (last - first).days))

    def given(self, gender: str, count: int | None = None) -> tuple[str, ...]:
        pool = FEMALE if gender == "FEMALE" else MALE
        if count is None:
            count = self.rng.choices((1, 2, 3), weights=(40, 45, 15))[0]
        return tuple(self.rng.sample(pool, count))

    def person(self, home: Home, **fixed: Any) -> Person:
        gender = fixed.pop("gender", None) or self.rng.choice(("FEMALE", "MALE"))
        return Person(
            given=fixed.pop("given", None) or self.given(gender),
            surname=fixed.pop("surname", None) or self.rng.choice(SURNAMES),
            date_of_birth=fixed.pop("date_of_birth", None) or self.date_of_birth(),
            gender=gender,
            home=home,
            nino=self.nino(),
            **fixed,
        )


class Neighbourhood:
    """The households of one postcode: numbered houses on one or two streets, named houses, a block of flats."""

    def __init__(self, world: World) -> None:
        self.world = world
        rng = world.rng
        self.postcode, self.town = world.postcode_area()
        self.streets = [(rng.choice(STREET_NAMES), rng.choice(STREET_TYPES)) for _ in range(rng.choice((1, 1, 2)))]
        numbers = rng.sample(range(1, 120), 30)
        self.free_numbers = [str(n) + (rng.choice("AB") if rng.random() < 0.08 else "") for n in numbers]
        self.free_names = list(rng.sample(HOUSE_NAMES, 4))
        self.block_number = self.free_numbers.pop()
        self.block_name = rng.choice(BUILDING_NAMES) if rng.random() < 0.4 else None
        self.free_flats = [str(n) for n in rng.sample(range(1, 13), 8)]

    def _street(self) -> tuple[str, tuple[str, str]]:
        return self.streets[0] if len(self.streets) == 1 else self.world.rng.choice(self.streets)

    def house(self) -> Home:
        name, kind = self._street()
        return Home(self.postcode, self.town, name, kind, number=self.free_numbers.pop())

    def named_house(self) -> Home:
        name, kind = self._street()
        return Home(self.postcode, self.town, name, kind, house_name=self.free_names.pop())

    def flat(self) -> Home:
        name, kind = self.streets[0]
        return Home(
            self.postcode,
            self.town,
            name,
            kind,
            number=self.block_number,
            flat=self.free_flats.pop(),
            building=self.block_name,
        )

    def any_home(self) -> Home:
        return self.world.rng.choices((self.house, self.named_house, self.flat), weights=(70, 10, 20))[0]()

    def fill_with_neighbours(self) -> None:
        """Strangers at the other households of the postcode: the background every real street has."""
        for _ in range(BACKGROUND_HOUSEHOLDS_PER_POSTCODE):
            try:
                home = self.any_home()
            except IndexError:  # that kind of household is all taken
                continue
            add_record(self.world, self.world.person(home))


# --- rendering: how records and identity providers write the same facts ----------------------------------


def address_lines(home: Home, style: str = "plain") -> list[str]:
    """The home's lines in one of the ways people write them; every style reads as the same premise."""
    abbreviated = style in {"abbreviated", "slash", "upper", "one-line", "number-alone"}
    street = home.street_line(abbreviated)
    flat_word = {"apartment": "Apartment", "upper": "FLAT"}.get(style, "Flat")
    lines: list[str] = []
    if home.flat and style == "slash":
        lines.append(f"{home.flat}/{home.number} {street}")
    else:
        if home.flat:
            lines.append(f"{flat_word} {home.flat}")
        if home.building:
            lines.append(home.building)
        if home.house_name:
            lines.append(home.house_name)
        if home.number and style == "number-alone":
            lines += [home.number, street]
        elif home.number:
            number = (
                f"{home.number[:-1]} {home.number[-1]}"
                if style == "spaced" and home.number[-1].isalpha()
                else home.number
            )
            lines.append(f"{number} {street}")
        else:
            lines.append(street)
    lines.append(home.town)
    if style == "one-line":
        lines = [", ".join(lines)]
    if style == "upper":
        lines = [line.upper() + ("." if i == len(lines) - 2 else "") for i, line in enumerate(lines)]
    if style == "lower":
        lines = [line.lower() for line in lines]
    return lines


ADDRESS_STYLES = ("plain", "abbreviated", "slash", "upper", "one-line", "number-alone", "apartment", "spaced", "lower")


def postcode_text(postcode: str, style: str = "plain") -> str:
    return {"squashed": postcode.replace(" ", ""), "lower": postcode.lower().replace(" ", "")}.get(style, postcode)


def add_record(world: World, person: Person, **overrides: Any) -> str:
    """The department's record of this person (overrides: how the record holds a field); its ID."""
    record_id = f"H-{world.next_record:05d}"
    world.next_record += 1
    home = overrides.pop("home", person.home)
    surname = person.surname + (f" {person.suffix}" if person.suffix else "")
    row = Row(
        record_id=record_id,
        first_name=person.given[0],
        middle_names=";".join(person.given[1:]),
        surname=surname,
        previous_surnames=person.previous_surname or "",
        date_of_birth=person.date_of_birth.isoformat(),
        gender=person.gender,
        address_lines="|".join(address_lines(home, overrides.pop("address_style", "plain"))),
        postcode=postcode_text(home.postcode, overrides.pop("postcode_style", "plain")),
        previous_postcodes=person.previous_home.postcode if person.previous_home else "",
        nino=person.nino,
    )
    for name, value in overrides.items():
        setattr(row, name, value)
    world.rows.append(row)
    return record_id


def value(value: str, verified: bool = True, **dates: date | None) -> dict[str, Any]:
    out: dict[str, Any] = {"value": value, "verified": verified}
    out |= {key: d.isoformat() for key, d in dates.items() if d is not None}
    return out


def address(home: Home, style: str = "plain", verified: bool = True, to: date | None = None) -> dict[str, Any]:
    address: dict[str, Any] = {"lines": address_lines(home, style), "postCode": home.postcode, "verified": verified}
    if to is not None:
        address["to"] = to.isoformat()
    return address


@dataclass(frozen=True)
class Asserted:
    """What an identity provider asserts about the person asking (overrides of the person's own facts)."""

    first: str | None = None
    middle: str | None = None
    surnames: tuple[dict[str, Any], ...] | None = None
    date_of_birth: date | None = None
    addresses: tuple[dict[str, Any], ...] | None = None
    unverified: frozenset[str] = frozenset()


def add_query(
    world: World,
    kind: str,
    person: Person,
    expected: str | None,
    asserted: Asserted = Asserted(),
    nino: str | None = None,
) -> None:
    """A citizen's match request (the JSON contract body, with a cycle 3 NINO if given) and who they are."""
    number = len(world.queries) + 1

    def verified(name: str) -> bool:
        return name not in asserted.unverified

    first = asserted.first if asserted.first is not None else person.given[0]
    middle = asserted.middle if asserted.middle is not None else " ".join(person.given[1:])
    dob = asserted.date_of_birth or person.date_of_birth
    surnames = asserted.surnames or (value(person.surname, verified("surname")),)
    addresses = asserted.addresses or (address(person.home, verified=verified("address")),)
    dataset: dict[str, Any] = {
        "firstName": value(first, verified("first")),
        "surnames": list(surnames),
        "gender": value(person.gender),
        "dateOfBirth": value(dob.isoformat(), verified("date_of_birth")),
        "addresses": list(addresses),
    }
    if middle:
        dataset["middleNames"] = value(middle, verified("middle"))
    request: dict[str, Any] = {
        "matchId": f"hard-set-{number}",
        "levelOfAssurance": "LEVEL_2",
        "hashedPid": hashlib.sha256(f"hard-set:{number}".encode()).hexdigest(),
        "matchingDataset": dataset,
    }
    if nino is not None:
        request["cycle3Dataset"] = {"attributes": {"NationalInsuranceNumber": nino}}
    world.queries.append({"id": number, "kind": kind, "expected_record_id": expected, "request": request})
