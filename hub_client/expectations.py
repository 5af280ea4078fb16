"""What every assertion the service accepts must meet, whichever profile carries it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from federation.config import RelyingParty
from federation.loa import LevelOfAssurance
from federation.saml import AssertionData
from hub_client.errors import HubResponseError

__all__ = ["Expected", "accepted_level"]


@dataclass(frozen=True)
class Expected:
    """The answer we wait for: to this service, at its ACS URL, for this request, now."""

    relying_party: RelyingParty
    acs_url: str
    request_id: str
    now: datetime
    clock_skew: timedelta


def accepted_level(assertion: AssertionData, relying_party: RelyingParty) -> LevelOfAssurance:
    """The assertion's level of assurance, refused below the lowest the service accepts."""
    if assertion.is_fraud:
        raise HubResponseError("fraud-assertion", "the hub relayed a fraud assertion as a success")
    level = assertion.level_of_assurance
    if level is None:
        raise HubResponseError("missing-loa", "the assertion carries no level of assurance")
    if level < relying_party.minimum_level:
        raise HubResponseError("loa-too-low", "the level of assurance is below what this service accepts")
    return level
