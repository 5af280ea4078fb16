"""The circuit breaker's rules, plain Python: when a company or a matching service is taken out of use and
when it is tried again.

    closed --(N failures in a row)--> open --(cooldown passed)--> half-open --(success)--> closed
                                                                       \\--(failure)--> open again

Failures come from real traffic (a matching query that got no usable answer) and from the hub's probes;
successes likewise. While open, nothing is sent: a matching journey gets its "try later" page at once and
a company shows as temporarily unavailable. Once the cooldown has passed, one trial is let through (a
journey or a probe); its success closes the breaker, its failure opens it for another cooldown. A trial
that never reports (its process died) is given up after one cooldown, and another is let through.

Each function takes the state and the time and returns the new state and the transitions it made, so the
rules are tested with an injected clock and stored anywhere (`hub.breakers` keeps them in the hub's store).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace


class Status(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerSettings:
    failure_threshold: int = 5  # consecutive failures that open the breaker
    cooldown_seconds: float = 30.0  # how long it stays open before a trial, and how long a trial may take

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.cooldown_seconds <= 0:
            raise ValueError("a breaker needs a threshold of at least 1 and a positive cooldown")


@dataclass(frozen=True)
class BreakerState:
    status: Status = Status.CLOSED
    failures: int = 0  # consecutive failures while closed
    opened_at: float = 0.0  # when it last opened (seconds, any epoch the caller's clock uses)
    trial_at: float = 0.0  # when the half-open trial was let through

    def to_dict(self) -> dict:
        return {
            "status": self.status.value,
            "failures": self.failures,
            "opened_at": self.opened_at,
            "trial_at": self.trial_at,
        }

    @classmethod
    def from_dict(cls, raw: dict) -> BreakerState:
        return cls(
            status=Status(raw["status"]),
            failures=int(raw["failures"]),
            opened_at=float(raw["opened_at"]),
            trial_at=float(raw["trial_at"]),
        )


CLOSED = BreakerState()


@dataclass(frozen=True)
class Transition:
    before: Status
    after: Status


Step = tuple[BreakerState, tuple[Transition, ...]]


def _cooled(state: BreakerState, now: float, settings: BreakerSettings) -> bool:
    return now - state.opened_at >= settings.cooldown_seconds


def _trial_lost(state: BreakerState, now: float, settings: BreakerSettings) -> bool:
    return now - state.trial_at >= settings.cooldown_seconds


def _open(state: BreakerState, now: float) -> BreakerState:
    return BreakerState(status=Status.OPEN, failures=0, opened_at=now)


def available(state: BreakerState, now: float, settings: BreakerSettings) -> bool:
    """Whether traffic may be offered now (closed, or a trial could be let through), without claiming it."""
    if state.status is Status.CLOSED:
        return True
    if state.status is Status.OPEN:
        return _cooled(state, now, settings)
    return _trial_lost(state, now, settings)


def admit(state: BreakerState, now: float, settings: BreakerSettings) -> tuple[bool, *Step]:
    """Let one piece of real traffic through? Claims the half-open trial when the cooldown has passed."""
    if state.status is Status.CLOSED:
        return True, state, ()
    if not available(state, now, settings):
        return False, state, ()
    trial = replace(state, status=Status.HALF_OPEN, trial_at=now)
    moved = () if state.status is Status.HALF_OPEN else (Transition(state.status, Status.HALF_OPEN),)
    return True, trial, moved


def on_failure(state: BreakerState, now: float, settings: BreakerSettings) -> Step:
    """A request (or probe) got no usable answer."""
    if state.status is Status.CLOSED:
        failures = state.failures + 1
        if failures >= settings.failure_threshold:
            return _open(state, now), (Transition(Status.CLOSED, Status.OPEN),)
        return replace(state, failures=failures), ()
    if state.status is Status.HALF_OPEN:  # the trial failed
        return _open(state, now), (Transition(Status.HALF_OPEN, Status.OPEN),)
    if _cooled(state, now, settings):  # a probe was the trial, and it failed: another cooldown
        return _open(state, now), (Transition(Status.OPEN, Status.HALF_OPEN), Transition(Status.HALF_OPEN, Status.OPEN))
    return state, ()


def on_success(state: BreakerState, now: float, settings: BreakerSettings) -> Step:
    """A request (or probe) was answered. While open and cooling down, a success changes nothing."""
    if state.status is Status.CLOSED:
        return (CLOSED, ()) if state.failures else (state, ())
    if state.status is Status.HALF_OPEN:
        return CLOSED, (Transition(Status.HALF_OPEN, Status.CLOSED),)
    if _cooled(state, now, settings):  # a probe was the trial, and it succeeded
        return CLOSED, (Transition(Status.OPEN, Status.HALF_OPEN), Transition(Status.HALF_OPEN, Status.CLOSED))
    return state, ()
