"""Which company a browser is remembered to have chosen, for which service, and when that is forgotten.

Two ways a browser comes to remember a company, both kept in one authenticated cookie (`hub.remembered`):

- **Paused**: the company answered "pending" (it needs more time or documents). The citizen finishes with the
  company, then comes back through the service; the hub then offers that company straight away instead of
  asking again which company they used. Remembered for `PAUSED_LIFETIME` (30 days): companies typically
  give a citizen days, not months, to send documents or answer a letter, and GOV.UK Verify likewise kept
  its "which company" hint for weeks; longer would mostly point at companies whose pending check has
  itself expired, shorter would fail citizens who wait for a letter.
- **Single-company start**: the citizen followed a link from a company's site to a service "through the
  hub", with that company preselected. Remembered for `SINGLE_IDP_LIFETIME` (60 minutes: long enough to get
  from the company's site through the service's start pages; the journey itself has its own lifetime) and
  forgotten as soon as it has been used once.

A remembered company only ever applies to the same service, and only if the company may still serve it.
It holds no personal data: two entity IDs from the federation's configuration, a reason and an expiry.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hub.policy import states as s

PAUSED_LIFETIME = timedelta(days=30)
SINGLE_IDP_LIFETIME = timedelta(minutes=60)

_SUCCESS = frozenset({s.State.SUCCESSFUL_MATCH, s.State.NON_MATCHING_JOURNEY_SUCCESS, s.State.USER_ACCOUNT_CREATED})


class Reason(enum.Enum):
    PAUSED = "paused"  # the company answered "pending": come back when it has finished
    SINGLE_IDP = "single-idp"  # the citizen started at the company's own site


@dataclass(frozen=True)
class RememberedCompany:
    idp_entity_id: str
    rp_entity_id: str
    reason: Reason
    expires_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "idp": self.idp_entity_id,
            "rp": self.rp_entity_id,
            "reason": self.reason.value,
            "expires": self.expires_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RememberedCompany:
        """ValueError (or KeyError, TypeError) for anything that is not what `to_dict` wrote."""
        expires = datetime.fromisoformat(str(raw["expires"]))
        if expires.tzinfo is None:
            raise ValueError("expiry without a time zone")
        return cls(str(raw["idp"]), str(raw["rp"]), Reason(raw["reason"]), expires)

    def applies_to(self, rp_entity_id: str, now: datetime) -> bool:
        """Whether a journey for `rp_entity_id` starting at `now` should be offered this company first."""
        return self.rp_entity_id == rp_entity_id and now < self.expires_at


def paused(idp_entity_id: str, rp_entity_id: str, now: datetime) -> RememberedCompany:
    return RememberedCompany(idp_entity_id, rp_entity_id, Reason.PAUSED, now + PAUSED_LIFETIME)


def single_idp(idp_entity_id: str, rp_entity_id: str, now: datetime) -> RememberedCompany:
    return RememberedCompany(idp_entity_id, rp_entity_id, Reason.SINGLE_IDP, now + SINGLE_IDP_LIFETIME)


class Change(enum.Enum):
    KEEP = "keep"
    SET = "set"
    CLEAR = "clear"


@dataclass(frozen=True)
class Decision:
    change: Change
    remembered: RememberedCompany | None = None  # what to set, for Change.SET


KEEP = Decision(Change.KEEP)
CLEAR = Decision(Change.CLEAR)


def after_step(remembered: RememberedCompany | None, session: s.Session, now: datetime) -> Decision:
    """What the browser should remember once `session` has reached its current state.

    Paused with a company: remember it (again, so the 30 days run from the latest pause). Succeeded with
    the remembered company for its service: forget it (the citizen no longer needs the shortcut). Sent to
    another company for that service: forget it (the citizen chose another). A single-company start is
    forgotten once the citizen has been sent to that company: it was for one journey only.
    """
    idp = session.selected_idp_entity_id
    if session.state is s.State.PAUSED_REGISTRATION and idp is not None:
        fresh = paused(idp, session.rp_entity_id, now)
        same = remembered is not None and (remembered.idp_entity_id, remembered.rp_entity_id) == (
            idp,
            fresh.rp_entity_id,
        )
        if same and remembered.reason is Reason.PAUSED and remembered.expires_at > now + PAUSED_LIFETIME / 2:
            return KEEP  # set recently: no need to send the cookie on every page
        return Decision(Change.SET, fresh)
    if remembered is None or remembered.rp_entity_id != session.rp_entity_id or idp is None:
        return KEEP
    if idp != remembered.idp_entity_id:
        return CLEAR if session.state is s.State.IDP_SELECTED else KEEP
    if session.state in _SUCCESS:
        return CLEAR
    if remembered.reason is Reason.SINGLE_IDP and session.state is s.State.IDP_SELECTED:
        return CLEAR
    return KEEP
