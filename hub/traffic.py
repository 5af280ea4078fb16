"""Per-company traffic weights and caps, set by the operator on a running hub (no restart).

A company's **weight** (0-100) is the share of new registrations to which it is offered; its **cap** is how
many new registrations the hub sends it per minute or per hour (fixed windows). Both apply only to
citizens registering: a citizen signing in must find the company they already use, and a remembered
company (after a pause) or a company's own start link is offered whatever its weight or cap; the circuit
breaker alone takes those out of use.

Why the store: the rules live in the hub's store (Redis), which every hub process already reads on each
request, so a change made with this module's command is seen by the next journey of every process and
worker, on every host, with nothing to copy or reload; the cap's counts have to be shared the same way
anyway. Without Redis (one demo process) the command cannot reach the process, and there are no rules.

The weight is decided per journey from a keyed hash of the journey ID and the company, so one citizen's
list stays the same on every reload (the journey ID survives the session ID's renewal); if weights would
leave a registration with no company at all, they are ignored for it. A company at its cap shows as
temporarily unavailable until the window ends.

    python -m hub.traffic show
    python -m hub.traffic set stub-idp-two --weight 50 --cap 100 --per hour
    python -m hub.traffic clear stub-idp-two

(the company by its configured name or entity ID; the same `REDIS_URL`/`REDIS_SENTINELS` and
`HUB_REDIS_PREFIX` settings as the hub).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from hub.rate_limit import MemoryRateCounter, RateCounter, RedisRateCounter
from hub.store.base import EntryStore, StoreUnavailable

log = logging.getLogger("hub.traffic")

NAMESPACE = "traffic"
RULES_KEY = "rules"
RULES_TTL_SECONDS = 10 * 365 * 24 * 3600  # kept until changed (the store's entries all have a lifetime)
WINDOWS = {"minute": 60, "hour": 3600}


@dataclass(frozen=True)
class TrafficRule:
    weight: int = 100  # percent of new registrations offered this company
    cap: int | None = None  # new registrations sent per window; None = no cap
    per: str = "hour"

    def __post_init__(self) -> None:
        if not 0 <= self.weight <= 100:
            raise ValueError("the weight is a percentage, 0 to 100")
        if self.cap is not None and self.cap < 0:
            raise ValueError("the cap must not be negative")
        if self.per not in WINDOWS:
            raise ValueError(f"the cap is per {' or per '.join(WINDOWS)}")


class Traffic:
    """The operator's rules and the cap counts, in the hub's store."""

    def __init__(
        self, store: EntryStore, counter: RateCounter, *, secret: bytes, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self._counter = counter
        self._secret = secret
        self._clock = clock

    @classmethod
    def for_store(cls, store, *, secret: bytes, redis: bool) -> Traffic:
        if redis:
            return cls(store, RedisRateCounter(store.client, key_prefix=store.key_prefix + "traffic:"), secret=secret)
        return cls(store, MemoryRateCounter(), secret=secret)

    def rules(self) -> dict[str, TrafficRule]:
        """Every company's rule (a company with none is offered to all, uncapped); {} if the store cannot say."""
        try:
            raw = self.store.get(NAMESPACE, RULES_KEY)
        except StoreUnavailable:
            return {}
        if raw is None:
            return {}
        try:
            return {entity: TrafficRule(**rule) for entity, rule in json.loads(raw).items()}
        except (ValueError, TypeError, AttributeError):
            log.warning("traffic rules unreadable: ignored")
            return {}

    def save_rules(self, rules: dict[str, TrafficRule]) -> None:
        body = json.dumps({entity: asdict(rule) for entity, rule in sorted(rules.items())}).encode()
        self.store.put(NAMESPACE, RULES_KEY, body, RULES_TTL_SECONDS)

    def offered(self, journey_id: str, entity_id: str, rule: TrafficRule) -> bool:
        """Whether this journey is among the `weight` percent offered the company (the same on every call)."""
        if rule.weight >= 100:
            return True
        message = f"{len(journey_id)}:{journey_id}:{entity_id}".encode()
        bucket = int.from_bytes(hmac.new(self._secret, b"traffic:" + message, hashlib.sha256).digest()[:8], "big")
        return bucket % 10_000 < rule.weight * 100

    def _window(self, rule: TrafficRule) -> tuple[int, int]:
        seconds = WINDOWS[rule.per]
        return int(self._clock() // seconds), seconds

    def at_cap(self, entity_id: str, rule: TrafficRule) -> bool:
        if rule.cap is None:
            return False
        window, _ = self._window(rule)
        try:
            return self._counter.peek(entity_id, window) >= rule.cap
        except StoreUnavailable:
            return False

    def take(self, entity_id: str, rule: TrafficRule) -> bool:
        """Count one registration sent to the company; False (not to be sent) if that would pass its cap."""
        if rule.cap is None:
            return True
        window, seconds = self._window(rule)
        try:
            return self._counter.hit(entity_id, window, seconds + 1) <= rule.cap
        except StoreUnavailable:
            return True


def partition(
    entity_ids: Sequence[str], journey_id: str, traffic: Traffic, *, registering: bool
) -> tuple[list[str], list[str]]:
    """The companies to list for a journey: (offered, at their cap), in the order given.

    Weights leave some out of a registration's list, unless that would leave none; caps mark some as
    unavailable. Sign-ins see every company."""
    if not registering:
        return list(entity_ids), []
    rules = traffic.rules()
    if not rules:
        return list(entity_ids), []
    default = TrafficRule()
    weighed = [e for e in entity_ids if traffic.offered(journey_id, e, rules.get(e, default))]
    listed = weighed or list(entity_ids)
    capped = [e for e in listed if traffic.at_cap(e, rules.get(e, default))]
    return [e for e in listed if e not in capped], capped


def main(argv: Sequence[str] | None = None) -> int:
    """The operator's command: show, set or clear a company's weight and cap on the running hubs' store."""
    from federation.redis_client import redis_client, redis_settings
    from federation.runtime import load_runtime
    from hub.store.redis import RedisStore

    parser = argparse.ArgumentParser(prog="python -m hub.traffic", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("show", help="every company's weight and cap")
    setter = commands.add_parser("set", help="set a company's weight and cap")
    setter.add_argument("company", help="its configured name or entity ID")
    setter.add_argument("--weight", type=int, default=100, help="percent of new registrations offered it (0-100)")
    setter.add_argument("--cap", type=int, default=None, help="new registrations sent to it per window")
    setter.add_argument("--per", choices=tuple(WINDOWS), default="hour")
    clear = commands.add_parser("clear", help="remove a company's rule (offered to all, no cap)")
    clear.add_argument("company")
    args = parser.parse_args(argv)

    runtime = load_runtime()
    settings = redis_settings(runtime.setting)
    if not settings.configured:
        print("traffic rules live in the hubs' shared store: set REDIS_URL or REDIS_SENTINELS", file=sys.stderr)
        return 2
    store = RedisStore.from_client(redis_client(settings), key_prefix=runtime.setting("HUB_REDIS_PREFIX") or "hub:")
    traffic = Traffic.for_store(store, secret=b"", redis=True)
    rules = traffic.rules()
    if args.command != "show":
        idp = next((i for i in runtime.config.identity_providers if args.company in (i.name, i.entity_id)), None)
        if idp is None:
            print(f"no company {args.company!r} in the federation configuration", file=sys.stderr)
            return 2
        if args.command == "set":
            try:
                rules[idp.entity_id] = TrafficRule(weight=args.weight, cap=args.cap, per=args.per)
            except ValueError as exc:
                print(str(exc), file=sys.stderr)
                return 2
        else:
            rules.pop(idp.entity_id, None)
        traffic.save_rules(rules)
    for entity, rule in sorted(rules.items()):
        cap = f"{rule.cap} per {rule.per}" if rule.cap is not None else "no cap"
        print(f"{entity}\tweight {rule.weight}%\t{cap}")
    if not rules:
        print("no rules: every company is offered to every journey, with no cap")
    return 0


if __name__ == "__main__":
    sys.exit(main())
