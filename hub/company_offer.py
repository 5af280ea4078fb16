"""Which of a journey's eligible companies its list offers now, and which it shows as temporarily unavailable.

Eligibility (`hub.policy.eligibility`) says who may serve the journey at all. On top of it, now:
- a company whose circuit breaker is open (`hub.breakers`) is listed as temporarily unavailable, for every
  journey (the citizen signing in sees that the company they use is down, rather than not finding it);
- for a registration, the operator's weights leave some companies off the list and a company at its cap
  is listed as unavailable (`hub.traffic`).
The order stays the journey's own (shuffled once per session).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from federation.config import IdentityProvider
from hub import breakers, traffic
from hub.policy.breaker import BreakerState
from hub.services import HubServices


@dataclass(frozen=True)
class CompanyOffer:
    available: tuple[IdentityProvider, ...]
    unavailable: tuple[IdentityProvider, ...]  # listed, but not to be chosen now
    breakers: Mapping[str, BreakerState] = field(default_factory=dict)  # as read for this list, by entity ID


def offer(
    hub: HubServices, journey_id: str, eligible: Sequence[IdentityProvider], *, registering: bool
) -> CompanyOffer:
    by_id = {idp.entity_id: idp for idp in eligible}
    offered, capped = traffic.partition(list(by_id), journey_id, hub.traffic, registering=registering)
    down, states = hub.breakers.offered_now(breakers.IDP, offered)
    listed = set(offered) | set(capped)
    return CompanyOffer(
        available=tuple(by_id[e] for e in by_id if e in offered and e not in down),
        unavailable=tuple(by_id[e] for e in by_id if e in listed and (e in down or e in capped)),
        breakers=states,
    )


def may_send(
    hub: HubServices, idp: IdentityProvider, *, registering: bool, breaker: BreakerState | None = None
) -> bool:
    """Just before a citizen is sent to `idp`: its breaker lets them through (the half-open trial, maybe)
    and, for a registration, its cap has room (counting this one). `breaker`: its state as read for the
    list this request chose from (`offer`), so that it is not read twice."""
    if not hub.breakers.admit(breakers.IDP, idp.entity_id, read=breaker):
        return False
    if not registering:
        return True
    rule = hub.traffic.rules().get(idp.entity_id)
    return rule is None or hub.traffic.take(idp.entity_id, rule)
