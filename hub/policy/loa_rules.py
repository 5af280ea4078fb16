"""Level-of-assurance rules for the hub's request to an IDP and for the level the IDP returns.

The RP accepts a set of levels. The hub asks the IDP for those the IDP is certified for; with
Comparison `minimum` a returned level is acceptable when it is at least the RP's lowest level and one
the IDP is certified for (a higher level than asked is more assurance, not less); with `exact` it must be
one of the levels asked for.
"""

from __future__ import annotations

from collections.abc import Collection

from federation.config import IdentityProvider, RelyingParty
from federation.loa import LevelOfAssurance


class LevelOfAssuranceError(Exception):
    """`reason` is machine-readable: below-minimum, not-certified, not-requested, no-common-level."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)


def _common(
    rp_levels: Collection[LevelOfAssurance], idp_levels: Collection[LevelOfAssurance]
) -> tuple[LevelOfAssurance, ...]:
    return tuple(sorted(set(rp_levels) & set(idp_levels)))


def requested_levels(
    rp: RelyingParty, idp: IdentityProvider, journey_levels: Collection[LevelOfAssurance] | None = None
) -> tuple[LevelOfAssurance, ...]:
    """The levels for the hub's AuthnRequest to `idp`, lowest first; never empty. `journey_levels`: the
    session's accepted levels, when a request narrowed the service's (an OIDC client's vectors of trust)."""
    levels = _common(rp.levels_of_assurance if journey_levels is None else journey_levels, idp.levels_of_assurance)
    if not levels:
        raise LevelOfAssuranceError("no-common-level", f"{idp.entity_id} supports none of {rp.entity_id}'s")
    return levels


def check_returned_level(
    returned: LevelOfAssurance,
    *,
    rp_levels: Collection[LevelOfAssurance],
    idp_levels: Collection[LevelOfAssurance],
    comparison: str = "minimum",
) -> None:
    """Refuse (LevelOfAssuranceError) a level the RP must not receive from this IDP."""
    if not isinstance(returned, LevelOfAssurance):
        raise TypeError("returned must be a LevelOfAssurance")
    if not rp_levels:
        raise LevelOfAssuranceError("no-common-level", "the RP accepts no level")
    if returned < min(rp_levels):
        raise LevelOfAssuranceError("below-minimum", f"{returned.name} < {min(rp_levels).name}")
    if returned not in idp_levels:
        raise LevelOfAssuranceError("not-certified", f"the IDP is not certified for {returned.name}")
    if comparison == "exact":
        if returned not in _common(rp_levels, idp_levels):
            raise LevelOfAssuranceError("not-requested", f"{returned.name} was not asked for (exact)")
    elif comparison != "minimum":
        raise ValueError(f"unknown AuthnContext comparison {comparison!r}")
