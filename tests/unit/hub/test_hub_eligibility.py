"""Which IDPs the company list shows for an RP, their per-session order, and late-response checks."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from federation.config import IdentityProvider, LocalizedText, RelyingParty
from federation.loa import LevelOfAssurance as LoA
from hub.policy.eligibility import eligible_idps, is_eligible, may_serve, shuffled_for_session

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
RP_ID = "https://rp.example/SAML2/metadata"


def make_rp(levels=(LoA.LEVEL_2,), entity_id=RP_ID) -> RelyingParty:
    return RelyingParty(
        name="test-rp",
        entity_id=entity_id,
        display_name=LocalizedText("Test service", "Gwasanaeth prawf"),
        assertion_consumer_services=(),
        levels_of_assurance=tuple(levels),
        matching_service_entity_id="https://ms.example",
        cycle3_attribute=None,
        account_creation_attributes=(),
        service_home_url="https://rp.example/",
        other_ways=LocalizedText("Other ways", "Ffyrdd eraill"),
        signing_certificates=(),
        encryption_certificate=None,
    )


def make_idp(name="idp-one", **changes) -> IdentityProvider:
    idp = IdentityProvider(
        name=name,
        entity_id=f"https://{name}.example/SAML2/metadata",
        display_name=LocalizedText(name, name),
        levels_of_assurance=(LoA.LEVEL_1, LoA.LEVEL_2),
        enabled=True,
        onboarding_for=(),
        registration_cutoff=None,
        sign_in_cutoff=None,
        temporarily_unavailable=False,
        sso_url=f"https://{name}.example/SAML2/SSO",
        authn_context_comparison="minimum",
        signing_certificates=(),
        encryption_certificate=None,
    )
    return dataclasses.replace(idp, **changes)


BOTH = (False, True)


@pytest.mark.parametrize("for_registration", BOTH)
def test_a_plain_idp_is_eligible(for_registration):
    assert is_eligible(make_idp(), make_rp(), now=NOW, for_registration=for_registration)


@pytest.mark.parametrize("for_registration", BOTH)
def test_disabled_is_not_eligible(for_registration):
    assert not is_eligible(make_idp(enabled=False), make_rp(), now=NOW, for_registration=for_registration)


@pytest.mark.parametrize("for_registration", BOTH)
def test_temporarily_unavailable_is_not_eligible(for_registration):
    idp = make_idp(temporarily_unavailable=True)
    assert not is_eligible(idp, make_rp(), now=NOW, for_registration=for_registration)


@pytest.mark.parametrize(
    ("idp_levels", "rp_levels", "expected"),
    [
        ((LoA.LEVEL_1,), (LoA.LEVEL_2,), False),
        ((LoA.LEVEL_2,), (LoA.LEVEL_2,), True),
        ((LoA.LEVEL_1, LoA.LEVEL_2), (LoA.LEVEL_2, LoA.LEVEL_3), True),
        ((LoA.LEVEL_3,), (LoA.LEVEL_1, LoA.LEVEL_2), False),
        ((LoA.LEVEL_1,), (LoA.LEVEL_1, LoA.LEVEL_2), True),
    ],
)
def test_must_support_one_of_the_rps_levels(idp_levels, rp_levels, expected):
    idp, rp = make_idp(levels_of_assurance=idp_levels), make_rp(rp_levels)
    for for_registration in BOTH:
        assert is_eligible(idp, rp, now=NOW, for_registration=for_registration) is expected
    assert may_serve(idp, rp, NOW) is expected


def test_onboarding_limited_to_another_rp_is_not_eligible():
    idp = make_idp(onboarding_for=("https://other-rp.example",))
    for for_registration in BOTH:
        assert not is_eligible(idp, make_rp(), now=NOW, for_registration=for_registration)
    assert not may_serve(idp, make_rp(), NOW)


def test_onboarding_including_this_rp_is_eligible():
    idp = make_idp(onboarding_for=("https://other-rp.example", RP_ID))
    for for_registration in BOTH:
        assert is_eligible(idp, make_rp(), now=NOW, for_registration=for_registration)
    assert not is_eligible(idp, make_rp(entity_id="https://third.example"), now=NOW, for_registration=False)


def test_registration_cutoff_stops_registration_but_not_sign_in():
    idp = make_idp(registration_cutoff=NOW)
    assert not is_eligible(idp, make_rp(), now=NOW, for_registration=True)
    assert is_eligible(idp, make_rp(), now=NOW, for_registration=False)
    before = NOW - timedelta(seconds=1)
    assert is_eligible(idp, make_rp(), now=before, for_registration=True)
    assert may_serve(idp, make_rp(), NOW + timedelta(days=1)), "a registration under way may finish"


def test_sign_in_cutoff_stops_both():
    idp = make_idp(sign_in_cutoff=NOW, registration_cutoff=NOW + timedelta(days=30))
    for for_registration in BOTH:
        assert not is_eligible(idp, make_rp(), now=NOW, for_registration=for_registration)
        assert is_eligible(idp, make_rp(), now=NOW - timedelta(seconds=1), for_registration=for_registration)
    assert not may_serve(idp, make_rp(), NOW)
    assert may_serve(idp, make_rp(), NOW - timedelta(seconds=1))


def test_may_serve_refuses_an_idp_disabled_since_selection_but_tolerates_unavailable():
    assert not may_serve(make_idp(enabled=False), make_rp(), NOW)
    assert may_serve(make_idp(temporarily_unavailable=True), make_rp(), NOW)


def test_eligible_idps_filters_and_keeps_config_order():
    good_one, good_two = make_idp("good-one"), make_idp("good-two")
    idps = [
        good_one,
        make_idp("off", enabled=False),
        make_idp("down", temporarily_unavailable=True),
        make_idp("low", levels_of_assurance=(LoA.LEVEL_1,)),
        make_idp("onboarding", onboarding_for=("https://other-rp.example",)),
        make_idp("closed", registration_cutoff=NOW - timedelta(days=1)),
        good_two,
    ]
    assert eligible_idps(make_rp(), idps, now=NOW, for_registration=True) == (good_one, good_two)
    signing_in = eligible_idps(make_rp(), idps, now=NOW, for_registration=False)
    assert [idp.name for idp in signing_in] == ["good-one", "closed", "good-two"]


IDPS = tuple(make_idp(f"idp-{n}") for n in range(6))


def test_shuffle_is_stable_for_a_session_and_independent_of_input_order():
    first = shuffled_for_session(IDPS, "session-1")
    assert shuffled_for_session(IDPS, "session-1") == first
    assert shuffled_for_session(tuple(reversed(IDPS)), "session-1") == first
    assert sorted(first, key=lambda idp: idp.name) == list(IDPS)


def test_shuffle_differs_between_sessions_and_keys():
    orders = {shuffled_for_session(IDPS, f"session-{n}") for n in range(50)}
    assert len(orders) > 30  # 720 permutations; 50 sessions almost never share one
    differing = sum(
        shuffled_for_session(IDPS, f"s{n}", key=b"key-one") != shuffled_for_session(IDPS, f"s{n}", key=b"key-two")
        for n in range(20)
    )
    assert differing > 15, "the key, not only the session ID, decides the order"


def test_shuffle_favours_no_idp():
    firsts = {idp.name: 0 for idp in IDPS}
    sessions = 3000
    for n in range(sessions):
        firsts[shuffled_for_session(IDPS, f"session-{n}")[0].name] += 1
    expected = sessions / len(IDPS)
    for count in firsts.values():
        assert abs(count - expected) < expected * 0.2, firsts


def test_shuffle_does_not_touch_global_random_state():
    import random

    random.seed(1234)
    expected = random.random()
    random.seed(1234)
    shuffled_for_session(IDPS, "session-x")
    assert random.random() == expected


def test_shuffle_of_nothing_and_of_one():
    assert shuffled_for_session((), "s") == ()
    assert shuffled_for_session(IDPS[:1], "s") == IDPS[:1]
