"""Which companies are likely to work for a citizen, from what they said they have."""

from __future__ import annotations

from dataclasses import replace

import pytest

from federation.config import load_federation_config
from federation.demo import DEMO_CONFIG
from hub.policy.suitability import CitizenHas, missing, split_by_suitability


@pytest.fixture(scope="module")
def idps(keys_dir):
    return load_federation_config(DEMO_CONFIG, keys_dir=keys_dir, variables={}).identity_providers


@pytest.fixture(scope="module")
def one(idps):
    return next(idp for idp in idps if idp.name == "stub-idp-one")


def has(documents=(), phones=(), uk_address=True) -> CitizenHas:
    return CitizenHas(documents=frozenset(documents), phones=frozenset(phones), uk_address=uk_address)


def test_a_company_that_asks_for_nothing_suits_everyone(one):
    plain = replace(one, accepts_documents=(), accepts_phones=(), needs_uk_address=False)
    assert missing(plain, has(uk_address=False)) == ()


def test_each_lack_is_named_once(one):
    assert missing(one, has(uk_address=False)) == ("documents", "phone", "uk_address")
    assert missing(one, has(["uk_passport"], ["landline"])) == ()
    assert missing(one, has(["non_uk_passport"], ["mobile"])) == ("documents",)


def test_an_unanswered_question_rules_nothing_out(one):
    assert missing(one, CitizenHas(documents=None, phones=None, uk_address=None)) == ()
    assert missing(one, CitizenHas(documents=None, phones=frozenset(), uk_address=None)) == ("phone",)


def test_no_answers_keep_the_order_and_everything_likely(idps):
    likely, unlikely = split_by_suitability(idps, None)
    assert likely == list(idps) and unlikely == []


def test_the_split_keeps_the_given_order(idps, one):
    reordered = tuple(reversed(idps))
    likely, unlikely = split_by_suitability(reordered, has(["uk_passport"], ["smartphone"], uk_address=False))
    assert [idp for idp in reordered if idp in likely] == likely
    assert [idp for idp, _ in unlikely] == [idp for idp in reordered if idp not in likely]
    assert one in [idp for idp, _ in unlikely]
