"""The circuit breaker: its rules with an injected clock, and its state shared through the hub's store."""

from __future__ import annotations

import uuid

import pytest
import redis

from hub.breakers import IDP, MATCHING_SERVICE, Breakers, settings_from
from hub.metrics import BREAKER_TRANSITIONS
from hub.policy import breaker as rules
from hub.policy.breaker import CLOSED, BreakerSettings, Status, Transition
from hub.store.memory import MemoryStore
from hub.store.redis import RedisStore
from tests.support.hand_clock import HandClock

SETTINGS = BreakerSettings(failure_threshold=3, cooldown_seconds=30)
MS = "https://ms.example"
REDIS_URL = "redis://127.0.0.1:6379/0"


def _fail(state, now, times=1):
    moved = ()
    for _ in range(times):
        state, moved = rules.on_failure(state, now, SETTINGS)
    return state, moved


def test_it_opens_after_the_threshold_of_consecutive_failures_only():
    state, moved = _fail(CLOSED, 100.0, times=2)
    assert state.status is Status.CLOSED and state.failures == 2 and moved == ()
    state, moved = rules.on_success(state, 101.0, SETTINGS)  # a success in between starts the count again
    assert state == CLOSED
    state, moved = _fail(state, 102.0, times=3)
    assert state.status is Status.OPEN and state.opened_at == 102.0
    assert moved == (Transition(Status.CLOSED, Status.OPEN),)


def test_open_refuses_traffic_until_the_cooldown_then_lets_one_trial_through():
    opened, _ = _fail(CLOSED, 100.0, times=3)
    allowed, state, moved = rules.admit(opened, 129.9, SETTINGS)
    assert not allowed and state == opened and moved == ()
    assert not rules.available(opened, 129.9, SETTINGS)
    allowed, trial, moved = rules.admit(opened, 130.0, SETTINGS)
    assert allowed and trial.status is Status.HALF_OPEN and moved == (Transition(Status.OPEN, Status.HALF_OPEN),)
    allowed, _, _ = rules.admit(trial, 131.0, SETTINGS)  # one trial at a time
    assert not allowed


def test_the_trial_closes_it_on_success_and_opens_it_again_on_failure():
    opened, _ = _fail(CLOSED, 100.0, times=3)
    _, trial, _ = rules.admit(opened, 135.0, SETTINGS)
    closed, moved = rules.on_success(trial, 136.0, SETTINGS)
    assert closed == CLOSED and moved == (Transition(Status.HALF_OPEN, Status.CLOSED),)
    reopened, moved = rules.on_failure(trial, 136.0, SETTINGS)
    assert reopened.status is Status.OPEN and reopened.opened_at == 136.0
    assert moved == (Transition(Status.HALF_OPEN, Status.OPEN),)
    assert not rules.available(reopened, 165.0, SETTINGS) and rules.available(reopened, 166.0, SETTINGS)


def test_a_trial_that_never_reports_is_given_up_after_one_cooldown():
    opened, _ = _fail(CLOSED, 100.0, times=3)
    _, trial, _ = rules.admit(opened, 130.0, SETTINGS)
    assert not rules.available(trial, 159.0, SETTINGS)
    allowed, again, moved = rules.admit(trial, 160.0, SETTINGS)
    assert allowed and again.trial_at == 160.0 and moved == ()


def test_a_probe_after_the_cooldown_is_the_trial():
    opened, _ = _fail(CLOSED, 100.0, times=3)
    assert rules.on_success(opened, 110.0, SETTINGS) == (opened, ())  # still cooling down: no change
    closed, moved = rules.on_success(opened, 131.0, SETTINGS)
    assert closed == CLOSED
    assert moved == (Transition(Status.OPEN, Status.HALF_OPEN), Transition(Status.HALF_OPEN, Status.CLOSED))
    reopened, moved = rules.on_failure(opened, 131.0, SETTINGS)
    assert reopened.opened_at == 131.0 and [t.after for t in moved] == [Status.HALF_OPEN, Status.OPEN]


def test_state_round_trips_through_its_dict():
    opened, _ = _fail(CLOSED, 100.0, times=3)
    assert rules.BreakerState.from_dict(opened.to_dict()) == opened


def test_settings_are_read_from_the_environment_and_wrong_ones_named():
    assert settings_from({}.get) == BreakerSettings()
    assert settings_from({"HUB_BREAKER_FAILURES": "2", "HUB_BREAKER_COOLDOWN_SECONDS": "1.5"}.get) == BreakerSettings(
        2, 1.5
    )
    with pytest.raises(ValueError, match="HUB_BREAKER_FAILURES"):
        settings_from({"HUB_BREAKER_FAILURES": "0"}.get)


def _walk_the_cycle(first: Breakers, second: Breakers, clock: HandClock) -> None:
    """Failures seen by two processes add up; the open state and the trial are seen by both."""
    entity = f"{MS}/{uuid.uuid4().hex}"
    before = BREAKER_TRANSITIONS.labels(kind=MATCHING_SERVICE, entity=entity, from_state="closed", to_state="open")
    first.failed(MATCHING_SERVICE, entity)
    second.failed(MATCHING_SERVICE, entity)
    assert second.admit(MATCHING_SERVICE, entity)
    first.failed(MATCHING_SERVICE, entity)
    assert before._value.get() == 1
    assert not second.admit(MATCHING_SERVICE, entity) and not second.available(MATCHING_SERVICE, entity)
    assert second.available(IDP, entity)  # another kind of breaker for the same ID is its own
    healthy = f"{MS}/{uuid.uuid4().hex}"  # a page's list is read at once: only the open one is left off
    assert second.unavailable(MATCHING_SERVICE, [healthy, entity, healthy]) == {entity}
    assert second.unavailable(MATCHING_SERVICE, []) == set()
    clock.now += 30
    assert second.available(MATCHING_SERVICE, entity)
    assert second.admit(MATCHING_SERVICE, entity)  # the trial, claimed by the second process
    assert not first.admit(MATCHING_SERVICE, entity)  # which the first one sees
    first.succeeded(MATCHING_SERVICE, entity)
    assert second.state(MATCHING_SERVICE, entity) == CLOSED
    assert first.store.get("breaker", f"{MATCHING_SERVICE}:{entity}") is None  # closed is no entry at all


def test_two_processes_share_one_breaker_in_memory():
    clock, store = HandClock(1000.0), MemoryStore()
    _walk_the_cycle(Breakers(store, SETTINGS, clock=clock), Breakers(store, SETTINGS, clock=clock), clock)


def test_two_processes_share_one_breaker_in_redis():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379 (make redis)")
    prefix = f"test-breaker-{uuid.uuid4().hex}:"
    clock = HandClock(1000.0)
    try:
        _walk_the_cycle(
            Breakers(RedisStore(REDIS_URL, key_prefix=prefix), SETTINGS, clock=clock),
            Breakers(RedisStore(REDIS_URL, key_prefix=prefix), SETTINGS, clock=clock),
            clock,
        )
    finally:
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)


def test_admit_decides_on_the_state_the_list_was_read_with():
    clock, store = HandClock(1000.0), MemoryStore()
    breakers = Breakers(store, SETTINGS, clock=clock)
    entity, healthy = f"{MS}/{uuid.uuid4().hex}", f"{MS}/{uuid.uuid4().hex}"
    for _ in range(3):
        breakers.failed(IDP, entity)
    down, states = breakers.offered_now(IDP, [healthy, entity])
    assert down == {entity} and states[healthy] == CLOSED and states[entity].status is Status.OPEN
    reads = []
    store.get = lambda *args: reads.append(args)  # a closed breaker as read for the list is not read again
    assert breakers.admit(IDP, healthy, read=states[healthy]) and reads == []
    del store.get
    assert not breakers.admit(IDP, entity, read=states[entity]), "an open one is decided under its lock"
    clock.now += 30
    assert breakers.admit(IDP, entity, read=states[entity]), "on its state then: the trial is due"
