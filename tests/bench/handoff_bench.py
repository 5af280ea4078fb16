"""What coming back later and moving devices cost the hub, per request, in CPU time read from /proc.

Run with `make bench` or `python -m tests.bench.handoff_bench`. Prints figures, asserts nothing about them.
Measured in process on the real code: the QR code's SVG (drawn on every view of the code page), the sealed
"remembered company" cookie written and read (read on every journey's start page), and a whole move through
the in-memory store (issue, redeem, confirm with a session renewal, collect).
"""

from __future__ import annotations

import os
import secrets
import statistics
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import segno

from federation.loa import LevelOfAssurance
from hub.handoff import Handoff
from hub.policy import remembered
from hub.policy.states import start_session
from hub.store.crypto import SessionCodec
from hub.store.memory import MemoryStore
from hub.store.repository import SessionRepository

TICKS = os.sysconf("SC_CLK_TCK")
NOW = datetime.now(UTC)


def cpu_seconds() -> float:
    """This process's user + system CPU time, from /proc/self/stat (fields 14 and 15, in clock ticks)."""
    with open("/proc/self/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_per_call(fn: Callable[[], object], n: int, rounds: int = 5) -> float:
    """Median CPU microseconds per call over `rounds` runs of `n` calls."""
    results = []
    for _ in range(rounds):
        start = cpu_seconds()
        for _ in range(n):
            fn()
        results.append((cpu_seconds() - start) / n * 1e6)
    return statistics.median(results)


def main() -> None:
    codec = SessionCodec(secrets.token_bytes(32))
    store = MemoryStore()
    sessions = SessionRepository(store, codec, timedelta(minutes=90))
    handoff = Handoff(store, sessions)
    link = "https://hub.example.gov.uk/continue?code=ABCD2345&lang=cy"
    cookie = codec.seal(
        "remembered-company", "hub_company", remembered.paused("https://idp", "https://rp", NOW).to_dict()
    )

    def move() -> None:
        journey = start_session(
            rp_entity_id="https://rp",
            authn_request_id="_r",
            relay_state=None,
            acs_url="https://rp/acs",
            accepted_levels=(LevelOfAssurance.LEVEL_2,),
            force_authn=False,
            idp_shortlist=("https://idp",),
            now=NOW,
        )
        sessions.put(journey, now=NOW)
        claim = handoff.redeem(handoff.issue(journey, NOW).code, NOW)
        handoff.confirm(journey, NOW)
        handoff.collect(claim, NOW)

    figures = {
        "QR code of the link, as inline SVG": cpu_per_call(
            lambda: segno.make(link, error="m").svg_inline(scale=5), 200
        ),
        "remembered-company cookie: seal": cpu_per_call(
            lambda: codec.seal("remembered-company", "hub_company", remembered.single_idp("a", "b", NOW).to_dict()),
            5000,
        ),
        "remembered-company cookie: unseal and parse": cpu_per_call(
            lambda: remembered.RememberedCompany.from_dict(codec.unseal("remembered-company", "hub_company", cookie)),
            5000,
        ),
        "a whole move (issue, redeem, confirm, collect)": cpu_per_call(move, 1000),
    }
    print("Coming back later and moving devices: CPU time per call (median of 5 runs, from /proc/self/stat)")
    for name, micros in figures.items():
        print(f"  {name:<48} {micros:9.1f} µs")


if __name__ == "__main__":
    main()
