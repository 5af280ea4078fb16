"""A clock the test moves by hand, for the stores and caches that take one (`clock=`): monotonic seconds."""

from __future__ import annotations


class HandClock:
    """`clock()` is `clock.now`, which the test sets or advances (`clock.now += 60`)."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now
