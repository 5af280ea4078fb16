"""The level the hub asks an IDP for, and the levels it accepts back."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from federation.config import IdentityProvider, LocalizedText, RelyingParty
from federation.loa import LevelOfAssurance as LoA
from hub.policy.loa_rules import LevelOfAssuranceError, check_returned_level, requested_levels

L1, L2, L3, L4 = LoA.LEVEL_1, LoA.LEVEL_2, LoA.LEVEL_3, LoA.LEVEL_4


def rp(levels) -> RelyingParty:
    text = LocalizedText("x", "x")
    return RelyingParty("rp", "https://rp", text, (), tuple(levels), None, None, (), "https://rp/", text, (), None)


def idp(levels) -> IdentityProvider:
    text = LocalizedText("x", "x")
    return IdentityProvider(
        "idp", "https://idp", text, tuple(levels), True, (), None, None, False, "https://idp/sso", "minimum", (), None
    )


def test_requested_levels_are_the_common_levels_lowest_first():
    assert requested_levels(rp((L2, L1)), idp((L1, L2, L3))) == (L1, L2)
    assert requested_levels(rp((L2,)), idp((L1, L2))) == (L2,)
    assert requested_levels(rp((L3, L2, L1)), idp((L3, L1))) == (L1, L3)


def test_requested_levels_refuses_when_nothing_in_common():
    with pytest.raises(LevelOfAssuranceError) as raised:
        requested_levels(rp((L2,)), idp((L1,)))
    assert raised.value.reason == "no-common-level"


@pytest.mark.parametrize(
    ("returned", "rp_levels", "idp_levels", "reason"),
    [
        (L1, (L2,), (L1, L2), "below-minimum"),
        (L1, (L2, L3), (L1, L2, L3), "below-minimum"),
        (L3, (L2,), (L1, L2), "not-certified"),  # above what the IDP is certified for
        (L2, (L2,), (L1,), "not-certified"),
        (L4, (L1, L2), (L1, L2, L3), "not-certified"),
    ],
)
def test_refused_levels(returned, rp_levels, idp_levels, reason):
    with pytest.raises(LevelOfAssuranceError) as raised:
        check_returned_level(returned, rp_levels=rp_levels, idp_levels=idp_levels)
    assert raised.value.reason == reason


@pytest.mark.parametrize(
    ("returned", "rp_levels", "idp_levels"),
    [
        (L2, (L2,), (L1, L2)),
        (L1, (L1, L2), (L1, L2)),
        (L2, (L1, L2), (L1, L2)),
        (L3, (L2,), (L2, L3)),  # minimum comparison: more assurance than asked is acceptable
    ],
)
def test_accepted_levels(returned, rp_levels, idp_levels):
    assert check_returned_level(returned, rp_levels=rp_levels, idp_levels=idp_levels) is None


def test_exact_comparison_refuses_a_level_that_was_not_asked_for():
    check_returned_level(L2, rp_levels=(L2,), idp_levels=(L2, L3), comparison="exact")
    with pytest.raises(LevelOfAssuranceError) as raised:
        check_returned_level(L3, rp_levels=(L2,), idp_levels=(L2, L3), comparison="exact")
    assert raised.value.reason == "not-requested"


def test_rule_matches_its_definition_for_every_combination():
    levels = list(LoA)
    subsets = [c for n in range(1, 5) for c in itertools.combinations(levels, n)]
    for returned, rp_levels, idp_levels in itertools.product(levels, subsets, subsets):
        should_pass = returned >= min(rp_levels) and returned in idp_levels
        try:
            check_returned_level(returned, rp_levels=rp_levels, idp_levels=idp_levels)
            passed = True
        except LevelOfAssuranceError:
            passed = False
        assert passed is should_pass, (returned, rp_levels, idp_levels)


def test_bad_arguments():
    with pytest.raises(TypeError):
        check_returned_level(2, rp_levels=(L2,), idp_levels=(L2,))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        check_returned_level(L2, rp_levels=(L2,), idp_levels=(L2,), comparison="better")
    with pytest.raises(LevelOfAssuranceError):
        check_returned_level(L2, rp_levels=(), idp_levels=(L2,))


def test_works_with_the_config_dataclasses_fields():
    the_rp, the_idp = rp((L2,)), dataclasses.replace(idp((L1, L2)), authn_context_comparison="exact")
    check_returned_level(
        L2,
        rp_levels=the_rp.levels_of_assurance,
        idp_levels=the_idp.levels_of_assurance,
        comparison=the_idp.authn_context_comparison,
    )
