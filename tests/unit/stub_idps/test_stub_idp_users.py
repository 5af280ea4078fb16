"""Test users, registration rules, the LoA an IDP asserts, and the stub's own message catalogue."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
import yaml

from federation.loa import LevelOfAssurance
from federation.saml import MdsValue
from stub_idps.app import MESSAGES_FILE
from stub_idps.inbound import PendingRequest, ReplayCache
from stub_idps.registration import parse_registration
from stub_idps.responses import Outcome
from stub_idps.users import UsernameTaken, UserStore, level_at, load_users, pid_for

L1, L2 = LevelOfAssurance.LEVEL_1, LevelOfAssurance.LEVEL_2
TODAY = date(2025, 6, 1)


@pytest.fixture(scope="module")
def users():
    return load_users()


def test_every_user_in_users_yaml_loads_with_a_full_dataset(users):
    assert len(users) >= 15
    for user in users:
        mds = user.matching_dataset
        assert mds.first_names and mds.surnames and mds.date_of_birth and mds.current_address, user.username
        assert isinstance(mds.date_of_birth.value, date)


def test_history_and_non_ascii_values_are_kept(users):
    by_name = {u.username: u for u in users}
    mary = by_name["mary"].matching_dataset
    assert mary.surnames[1] == MdsValue("Clarke", True, date(1988, 5, 9), date(2016, 8, 19))
    assert by_name["sian"].matching_dataset.first_names[0].value == "Siân"
    assert by_name["lee"].idps == ("stub-idp-two",) and by_name["lee"].level_of_assurance is L1
    assert by_name["tom"].matching_dataset.previous_addresses[0].uprn == "000000100007"


def test_pid_is_sha256_of_idp_and_username():
    assert pid_for("stub-idp-one", "alice") == hashlib.sha256(b"stub-idp-one:alice").hexdigest()
    assert pid_for("stub-idp-one", "alice") != pid_for("stub-idp-two", "alice")


def test_store_knows_users_per_idp_and_checks_passwords(users):
    store = UserStore(users)
    assert store.authenticate("stub-idp-two", "lee", "bar") is not None
    assert store.find("stub-idp-one", "lee") is None
    assert store.authenticate("stub-idp-two", "alice", "wrong") is None
    assert store.authenticate("stub-idp-two", "nobody", "bar") is None


def test_registered_users_belong_to_one_idp(users):
    store = UserStore(users)
    user = parse_registration(FORM, idp_levels=(L1, L2), today=TODAY).user
    store.register("stub-idp-two", user)
    assert store.authenticate("stub-idp-two", "newbie", "pw") == user
    assert store.find("stub-idp-one", "newbie") is None
    with pytest.raises(UsernameTaken):
        store.register("stub-idp-two", user)
    with pytest.raises(UsernameTaken):
        store.register("stub-idp-two", user.__class__(**{**user.__dict__, "username": "alice"}))


@pytest.mark.parametrize(
    ("user_level", "idp_levels", "expected"),
    [(L2, (L1,), L1), (L2, (L1, L2), L2), (L1, (L1, L2), L1), (L1, (L2,), L1), (L2, (L2,), L2)],
)
def test_level_at_caps_to_certification_only(users, user_level, idp_levels, expected):
    user = next(u for u in users if u.username == "alice").__class__(
        username="x", password="y", level_of_assurance=user_level, matching_dataset=users[0].matching_dataset
    )
    assert level_at(user, idp_levels) is expected


FORM = {
    "username": "newbie",
    "password": "pw",
    "first_name": "  Ann   Marie ",
    "middle_names": "",
    "surname": "Jones",
    "gender": "FEMALE",
    "dob-day": "29",
    "dob-month": "2",
    "dob-year": "2000",
    "address_line1": "1 High St",
    "address_line2": "",
    "address_town": "Bangor",
    "postcode": "ll57 1aa",
    "level_of_assurance": "LEVEL_2",
}


def test_registration_builds_a_verified_dataset():
    result = parse_registration(FORM, idp_levels=(L1, L2), today=TODAY)
    assert result.errors == {}
    mds = result.user.matching_dataset
    assert mds.first_names == (MdsValue("Ann Marie", verified=True),)
    assert mds.middle_names == ()
    assert mds.date_of_birth == MdsValue(date(2000, 2, 29), verified=True)
    assert mds.current_address.lines == ("1 High St", "Bangor")
    assert mds.current_address.postcode == "LL57 1AA"
    assert result.user.level_of_assurance is L2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"username": "has space"}, "username"),
        ({"password": ""}, "password"),
        ({"first_name": " "}, "first_name"),
        ({"surname": ""}, "surname"),
        ({"dob-day": "30"}, "dob"),
        ({"dob-year": "2030"}, "dob"),
        ({"dob-month": "x"}, "dob"),
        ({"postcode": "12345"}, "postcode"),
        ({"gender": "OTHER"}, "gender"),
        ({"level_of_assurance": "LEVEL_2"}, "level_of_assurance"),  # the IDP below offers LEVEL_1 only
        ({"address_line1": ""}, "address_line1"),
        ({"address_town": "x" * 101}, "address_town"),
    ],
)
def test_registration_refuses_bad_fields(change, field):
    result = parse_registration(
        {**FORM, **change}, idp_levels=(L1,) if field == "level_of_assurance" else (L1, L2), today=TODAY
    )
    assert result.user is None
    assert field in result.errors


def test_pending_request_accepts_per_comparison():
    minimum = PendingRequest("_1", (L1, L2), "minimum", None)
    assert minimum.accepts(L1) and minimum.accepts(L2)
    exact = PendingRequest("_2", (L2,), "exact", None)
    assert exact.accepts(L2) and not exact.accepts(L1)
    assert PendingRequest.from_session(exact.to_session()) == exact
    assert PendingRequest("_3", (), None, None).accepts(L1)


def test_replay_cache_refuses_a_second_use():
    from datetime import timedelta

    cache = ReplayCache(timedelta(minutes=5))
    assert cache.first_time("_a")
    assert not cache.first_time("_a")
    assert cache.first_time("_b")


def test_outcomes():
    assert Outcome("fraud-DF01").fraud_code == "DF01"
    assert Outcome.SUCCESS.needs_user and Outcome.FRAUD_IT01.needs_user
    assert not Outcome.CANCEL.needs_user and Outcome.CANCEL.fraud_code is None


def _keys(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def test_catalogue_has_the_same_keys_in_english_and_welsh():
    messages = yaml.safe_load(MESSAGES_FILE.read_text(encoding="utf-8"))
    assert set(_keys(messages["en"])) == set(_keys(messages["cy"]))
    assert len(messages["cy"]["stub_idp"]["months"]) == 12
    for outcome in Outcome:
        if outcome is not Outcome.SUCCESS:
            assert outcome.value in messages["en"]["stub_idp"]["login"]["outcome"]
