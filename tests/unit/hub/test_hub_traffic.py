"""The operator's weights and caps per company: which companies a registration's list offers."""

from __future__ import annotations

import pytest

from hub.rate_limit import MemoryRateCounter
from hub.store.memory import MemoryStore
from hub.traffic import Traffic, TrafficRule, partition
from tests.support.hand_clock import HandClock

COMPANIES = ("https://one.example", "https://two.example", "https://three.example")


@pytest.fixture
def clock() -> HandClock:
    return HandClock(3600.0 * 1000)


@pytest.fixture
def traffic(clock) -> Traffic:
    return Traffic(MemoryStore(), MemoryRateCounter(), secret=b"k" * 32, clock=clock)


def test_without_rules_every_company_is_offered(traffic):
    assert partition(COMPANIES, "journey", traffic, registering=True) == (list(COMPANIES), [])


def test_a_weight_offers_a_company_to_about_that_share_of_registrations_and_the_same_list_each_time(traffic):
    traffic.save_rules({COMPANIES[1]: TrafficRule(weight=30)})
    lists = [partition(COMPANIES, f"journey-{n}", traffic, registering=True)[0] for n in range(2000)]
    share = sum(COMPANIES[1] in offered for offered in lists) / len(lists)
    assert 0.25 < share < 0.35
    assert all(partition(COMPANIES, "journey-7", traffic, registering=True)[0] == lists[7] for _ in range(5))
    assert all(COMPANIES[0] in offered and COMPANIES[2] in offered for offered in lists)


def test_weights_never_apply_to_signing_in_nor_leave_a_registration_with_nothing(traffic):
    traffic.save_rules({company: TrafficRule(weight=0) for company in COMPANIES})
    assert partition(COMPANIES, "journey", traffic, registering=False) == (list(COMPANIES), [])
    assert partition(COMPANIES, "journey", traffic, registering=True) == (list(COMPANIES), [])


def test_a_company_at_its_cap_is_unavailable_until_the_window_ends(traffic, clock):
    rule = TrafficRule(cap=2, per="minute")
    traffic.save_rules({COMPANIES[0]: rule})
    assert traffic.take(COMPANIES[0], rule) and traffic.take(COMPANIES[0], rule)
    assert not traffic.take(COMPANIES[0], rule)  # the third of the minute is not sent
    assert partition(COMPANIES, "journey", traffic, registering=True) == (list(COMPANIES[1:]), [COMPANIES[0]])
    clock.now += 60
    assert partition(COMPANIES, "journey", traffic, registering=True) == (list(COMPANIES), [])


@pytest.mark.parametrize("wrong", [{"weight": 101}, {"weight": -1}, {"cap": -1}, {"per": "day"}])
def test_a_wrong_rule_is_refused(wrong):
    with pytest.raises(ValueError):
        TrafficRule(**wrong)


def test_unreadable_rules_are_ignored(traffic):
    traffic.store.put("traffic", "rules", b"not json", 60)
    assert traffic.rules() == {}
