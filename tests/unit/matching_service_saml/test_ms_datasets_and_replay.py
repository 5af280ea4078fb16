"""Pure pieces of the SAML side: dataset conversion, account-creation attributes, the in-process replay cache."""

from __future__ import annotations

from datetime import date

import pytest

from federation.replay_cache import MemoryReplayCache
from federation.saml.assertion import Address, Attribute, MatchingDataset, MdsValue
from matching_service import matching_rule as rule
from matching_service.datasets import (
    UnknownAttributeError,
    account_creation_attributes,
    attributes_to_json,
    to_matching_rule_dataset,
)
from matching_service.local_matching_contract import matching_dataset_to_json, parse_matching_dataset
from tests.support.hand_clock import HandClock

CURRENT = Address(("1 New Street",), "AB1 2CD", verified=True, from_date=date(2020, 1, 1))
OLD = Address(("2 Old Road",), "EF3 4GH", verified=True, to_date=date(2019, 12, 31))
DATASET = MatchingDataset(
    first_names=(MdsValue("Typed", False), MdsValue("Old", True, to_date=date(2001, 1, 1)), MdsValue("Checked", True)),
    surnames=(MdsValue("Before", True, to_date=date(2010, 1, 1)), MdsValue("Now", True, date(2010, 1, 2))),
    date_of_birth=MdsValue(date(1980, 2, 3), True),
    current_address=CURRENT,
    previous_addresses=(OLD,),
)


def test_the_verified_current_first_name_is_chosen_and_addresses_keep_their_order():
    converted = to_matching_rule_dataset(DATASET)
    assert converted.first_name == rule.Name("Checked", True)
    assert [s.value for s in converted.surnames] == ["Before", "Now"]
    assert converted.date_of_birth == rule.DateOfBirth(date(1980, 2, 3), True)
    assert [a.post_code for a in converted.addresses] == ["AB1 2CD", "EF3 4GH"]
    assert converted.middle_names is None and converted.gender is None
    # the contract's own builder and parser accept it unchanged
    assert parse_matching_dataset(matching_dataset_to_json(converted)) == converted


def test_account_creation_attributes_follow_the_request_and_skip_unknown_values():
    attributes = account_creation_attributes(
        ("SURNAME", "MIDDLE_NAME", "ADDRESS_HISTORY", "DATE_OF_BIRTH_VERIFIED", "SURNAME"), DATASET
    )
    assert attributes == (
        Attribute("SURNAME", (MdsValue("Now", True, date(2010, 1, 2)),)),
        Attribute("ADDRESS_HISTORY", (CURRENT, OLD)),
        Attribute("DATE_OF_BIRTH_VERIFIED", (True,)),
    )
    assert attributes_to_json(attributes) == {
        "SURNAME": {"value": "Now", "verified": True, "from": "2010-01-02", "to": None},
        "ADDRESS_HISTORY": [
            {"lines": ["1 New Street"], "postCode": "AB1 2CD", "internationalPostCode": None, "uprn": None,
             "from": "2020-01-01", "to": None, "verified": True},
            {"lines": ["2 Old Road"], "postCode": "EF3 4GH", "internationalPostCode": None, "uprn": None,
             "from": None, "to": "2019-12-31", "verified": True},
        ],
        "DATE_OF_BIRTH_VERIFIED": True,
    }  # fmt: skip


def test_unknown_requested_attribute_is_refused():
    with pytest.raises(UnknownAttributeError):
        account_creation_attributes(("FIRST_NAME", "PASSPORT_NUMBER"), DATASET)


def test_replay_cache_refuses_a_second_use_until_expiry():
    clock = HandClock(1000.0)
    cache = MemoryReplayCache(clock=clock)
    assert cache.add_if_absent("attribute-query", "_q1", 360)
    clock.now += 300
    assert not cache.add_if_absent("attribute-query", "_q1", 360)
    assert cache.add_if_absent("attribute-query", "_q2", 1140)
    assert cache.add_if_absent("other-namespace", "_q1", 600), "namespaces are separate"
    assert len(cache) == 3
    clock.now += 120  # _q1 has expired (its freshness check refuses it by now anyway)
    assert cache.add_if_absent("attribute-query", "_q3", 360)
    assert len(cache) == 3  # _q1 dropped, _q3 added
