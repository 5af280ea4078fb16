"""Which identity providers a citizen may use for a relying party, and in what order they are shown.

Cut-offs: a registration needs both cut-offs in the future (after sign-in ends nobody can register);
signing in needs only the sign-in cut-off. A cut-off is "passed" from its own instant on.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Iterable
from datetime import datetime

from federation.config import IdentityProvider, RelyingParty
from federation.loa import LevelOfAssurance


def _before(cutoff: datetime | None, now: datetime) -> bool:
    return cutoff is None or now < cutoff


def _serves_rp(idp: IdentityProvider, rp: RelyingParty, levels: Collection[LevelOfAssurance] | None = None) -> bool:
    if idp.onboarding_for and rp.entity_id not in idp.onboarding_for:
        return False
    return bool(set(idp.levels_of_assurance) & set(rp.levels_of_assurance if levels is None else levels))


def is_eligible(
    idp: IdentityProvider,
    rp: RelyingParty,
    *,
    now: datetime,
    for_registration: bool,
    levels: Collection[LevelOfAssurance] | None = None,
) -> bool:
    """`levels`: the journey's levels when they are not all of the service's (an OIDC request's vectors)."""
    if not idp.enabled or idp.temporarily_unavailable or not _serves_rp(idp, rp, levels):
        return False
    if not _before(idp.sign_in_cutoff, now):
        return False
    return not for_registration or _before(idp.registration_cutoff, now)


def eligible_idps(
    rp: RelyingParty,
    idps: Iterable[IdentityProvider],
    *,
    now: datetime,
    for_registration: bool,
    levels: Collection[LevelOfAssurance] | None = None,
) -> tuple[IdentityProvider, ...]:
    """The IDPs to offer on the company list, in config order (shuffle with `shuffled_for_session`)."""
    return tuple(idp for idp in idps if is_eligible(idp, rp, now=now, for_registration=for_registration, levels=levels))


def may_serve(idp: IdentityProvider, rp: RelyingParty, now: datetime) -> bool:
    """Whether a response from `idp` may still be used for `rp` when it comes back.

    Disabled since selection, limited to other RPs or past its sign-in cut-off: refused. Temporarily
    unavailable or past its registration cut-off: a journey already under way may still finish.
    """
    return idp.enabled and _serves_rp(idp, rp) and _before(idp.sign_in_cutoff, now)


def shuffled_for_session(
    idps: Iterable[IdentityProvider], session_id: str, *, key: bytes = b""
) -> tuple[IdentityProvider, ...]:
    """A per-session random order that is stable for the session (a page refresh does not reshuffle).

    Each IDP is ranked by HMAC-SHA256(key, session ID, entity ID): a uniformly random permutation per
    session, independent of config order and of any global random state. With a secret `key` the order
    cannot be predicted from the session ID.
    """
    session = session_id.encode()

    def rank(idp: IdentityProvider) -> bytes:
        message = len(session).to_bytes(4, "big") + session + idp.entity_id.encode()
        return hmac.new(key, message, hashlib.sha256).digest()

    return tuple(sorted(idps, key=rank))
