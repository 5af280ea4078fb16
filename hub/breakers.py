"""The circuit breakers of the companies and matching services, shared by every hub process through the store.

The rules are `hub.policy.breaker`'s; this module keeps each breaker's state in the hub's store (Redis when
configured, so every hub process and worker sees one breaker; process memory otherwise) and reports each
transition: a log line (`circuit breaker <kind> <entity>: closed -> open`; entity IDs only, never anything
about a citizen), `hub_circuit_breaker_transitions_total` and the `hub_circuit_breaker_state` gauge.

A change is read, decided and written under a short lock in the store, so two processes counting failures
at once do not lose one. Reads are one GET (one MGET for a page listing several companies); a closed
breaker with no failures is no entry at all, so the common case (everything up) writes nothing.
Settings: `HUB_BREAKER_FAILURES` (default 5), `HUB_BREAKER_COOLDOWN_SECONDS` (default 30).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence

from federation.run_slots import waiting_elsewhere
from hub.metrics import BREAKER_STATE, BREAKER_TRANSITIONS
from hub.policy import breaker as rules
from hub.store.base import EntryStore, StoreUnavailable

log = logging.getLogger("hub.breaker")

IDP = "idp"
MATCHING_SERVICE = "matching_service"
NAMESPACE = "breaker"
ENTRY_TTL_SECONDS = 7 * 24 * 3600  # an abandoned entry (a company removed from the config) goes by itself
LOCK_SECONDS = 2
LOCK_WAIT_SECONDS = 0.5
LOCK_POLL_SECONDS = 0.01
GAUGE_VALUES = {rules.Status.CLOSED: 0, rules.Status.HALF_OPEN: 1, rules.Status.OPEN: 2}


def settings_from(setting: Callable[[str], str | None]) -> rules.BreakerSettings:
    """The breaker settings from the hub's environment; a wrong value stops the hub with its name."""
    failures, cooldown = setting("HUB_BREAKER_FAILURES"), setting("HUB_BREAKER_COOLDOWN_SECONDS")
    try:
        return rules.BreakerSettings(
            failure_threshold=int(failures) if failures else rules.BreakerSettings.failure_threshold,
            cooldown_seconds=float(cooldown) if cooldown else rules.BreakerSettings.cooldown_seconds,
        )
    except ValueError:
        raise ValueError(
            "HUB_BREAKER_FAILURES must be a whole number of at least 1 and HUB_BREAKER_COOLDOWN_SECONDS a"
            f" positive number of seconds, not {failures!r} and {cooldown!r}"
        ) from None


class Breakers:
    """One breaker per (kind, entity ID), its state in `store`."""

    def __init__(
        self, store: EntryStore, settings: rules.BreakerSettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.settings = settings
        self._clock = clock

    def state(self, kind: str, entity_id: str) -> rules.BreakerState:
        return _read_state(kind, entity_id, self.store.get(NAMESPACE, f"{kind}:{entity_id}"))

    def available(self, kind: str, entity_id: str) -> bool:
        """Whether to offer the entity now (for a page); fails open if the store cannot say."""
        return entity_id not in self.unavailable(kind, [entity_id])

    def unavailable(self, kind: str, entity_ids: Sequence[str]) -> set[str]:
        """Which of the entities not to offer now, read in one round trip (a page lists several companies);
        none if the store cannot say (fails open)."""
        return self.offered_now(kind, entity_ids)[0]

    def offered_now(self, kind: str, entity_ids: Sequence[str]) -> tuple[set[str], dict[str, rules.BreakerState]]:
        """`unavailable`, and the states it read (none if the store could not say), for `admit` to decide on
        in the same request without reading them again."""
        try:
            raws = self.store.get_many(NAMESPACE, [f"{kind}:{entity_id}" for entity_id in entity_ids])
        except StoreUnavailable:
            return set(), {}
        now = self._clock()
        states = {entity_id: _read_state(kind, entity_id, raw) for entity_id, raw in zip(entity_ids, raws, strict=True)}
        down = {entity_id for entity_id, state in states.items() if not rules.available(state, now, self.settings)}
        return down, states

    def admit(self, kind: str, entity_id: str, *, read: rules.BreakerState | None = None) -> bool:
        """Whether to send real traffic now; claims the half-open trial when one is due. `read`: the state
        this request read moments ago (`offered_now`), not read again; a breaker that is not closed is
        always decided on under its lock, on the state as it is then."""
        try:
            state = read if read is not None else self.state(kind, entity_id)
        except StoreUnavailable:
            return True  # the breaker cannot be read: the request itself will find out
        if state.status is rules.Status.CLOSED:
            return True
        verdict: list[bool] = [False]

        def decide(current: rules.BreakerState, now: float) -> rules.Step:
            allowed, after, moved = rules.admit(current, now, self.settings)
            verdict[0] = allowed
            return after, moved

        try:
            if not self._change(kind, entity_id, decide):
                return False  # another process is changing it right now: let its decision stand
        except StoreUnavailable:
            return True
        return verdict[0]

    def succeeded(self, kind: str, entity_id: str) -> None:
        self._record(kind, entity_id, rules.on_success, only_if_known=True)

    def failed(self, kind: str, entity_id: str) -> None:
        self._record(kind, entity_id, rules.on_failure, only_if_known=False)

    def _record(self, kind: str, entity_id: str, rule, *, only_if_known: bool) -> None:
        try:
            if only_if_known and self.store.get(NAMESPACE, f"{kind}:{entity_id}") is None:
                return  # closed with no failures: a success changes nothing, so nothing is written
            self._change(kind, entity_id, lambda current, now: rule(current, now, self.settings))
        except StoreUnavailable as exc:  # counted next time; the journey itself is not held up
            log.warning("circuit breaker %s %s: not updated (%s)", kind, entity_id, exc)

    def _change(self, kind: str, entity_id: str, decide: Callable[[rules.BreakerState, float], rules.Step]) -> bool:
        key = f"{kind}:{entity_id}"
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        token = self.store.try_lock(NAMESPACE, key, LOCK_SECONDS)
        while token is None and time.monotonic() < deadline:
            with waiting_elsewhere():  # the request that holds the lock may need this process's run slot
                time.sleep(LOCK_POLL_SECONDS)
            token = self.store.try_lock(NAMESPACE, key, LOCK_SECONDS)
        if token is None:
            log.info("circuit breaker %s %s: busy, change skipped", kind, entity_id)
            return False
        try:
            before = self.state(kind, entity_id)
            after, moved = decide(before, self._clock())
            if after != before:
                if after == rules.CLOSED:
                    self.store.remove(NAMESPACE, key)
                else:
                    self.store.put(NAMESPACE, key, json.dumps(after.to_dict()).encode(), ENTRY_TTL_SECONDS)
        finally:
            self.store.unlock(NAMESPACE, key, token)
        for transition in moved:
            log.warning(
                "circuit breaker %s %s: %s -> %s", kind, entity_id, transition.before.value, transition.after.value
            )
            BREAKER_TRANSITIONS.labels(
                kind=kind, entity=entity_id, from_state=transition.before.value, to_state=transition.after.value
            ).inc()
        show_state(kind, entity_id, after)
        return True


def _read_state(kind: str, entity_id: str, raw: bytes | None) -> rules.BreakerState:
    """A breaker's state from its entry: no entry is closed, and so is one that cannot be read (logged)."""
    if raw is None:
        return rules.CLOSED
    try:
        return rules.BreakerState.from_dict(json.loads(raw))
    except (ValueError, KeyError, TypeError):
        log.warning("circuit breaker %s %s: unreadable state, taken as closed", kind, entity_id)
        return rules.CLOSED


def show_state(kind: str, entity_id: str, state: rules.BreakerState) -> None:
    """Set the state gauge (0 closed, 1 half-open, 2 open) of this process's latest view."""
    BREAKER_STATE.labels(kind=kind, entity=entity_id).set(GAUGE_VALUES[state.status])
