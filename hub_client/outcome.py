"""What the hub said, in a department's terms: a `Scenario` and, when signed in, who and how sure.

A well-formed answer that is not a sign-in (cancelled, no match, ...) is an ordinary `Outcome`, never an
error: the service shows the citizen what to do next. Hub status -> scenario, the same in both profiles:

    Success, from our matching service          SUCCESS_MATCH, or ACCOUNT_CREATION when it created a record
    Success, without a matching service         IDENTITY_VERIFIED
    Responder/no-match (or multiple-match)      NO_MATCH
    Responder/NoAuthnContext                    CANCELLATION
    Responder/AuthnFailed                       AUTHENTICATION_FAILED
    Requester (any second-level code)           REQUEST_ERROR
    VersionMismatch                             REQUEST_ERROR (our request was at fault)
    Responder with any other second-level code  AUTHENTICATION_FAILED: the hub could not give an identity
                                                and the citizen's next step is the same (try again or use
                                                another way); `Outcome.status` keeps the codes for logs.

A failure also carries the hub's return code (`Outcome.return_code`) and what to offer the citizen next
(`Outcome.offer`), read from the StatusMessage (`hub_client.return_codes`). The scenario says whether the
citizen is signed in; the return code says why not, in the words of the hub's own page: word the service's
page from the code when there is one (docs/integration-guide.md, "Telling the citizen what happened").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from federation.loa import LevelOfAssurance
from federation.saml import Attribute, MatchingDataset, Status
from federation.saml import constants as c
from federation.saml.standard import ReleasedAttribute
from hub_client.return_codes import Offer, ReturnCode, parse_status_message

__all__ = ["Outcome", "Scenario", "scenario_for_failure"]


class Scenario(enum.Enum):
    IDENTITY_VERIFIED = "identity_verified"
    SUCCESS_MATCH = "success_match"
    ACCOUNT_CREATION = "account_creation"
    NO_MATCH = "no_match"
    CANCELLATION = "cancellation"
    AUTHENTICATION_FAILED = "authentication_failed"
    REQUEST_ERROR = "request_error"

    @property
    def is_verified(self) -> bool:
        """True when the citizen is signed in: the Outcome then has an identifier and a level."""
        return self in _VERIFIED


_VERIFIED = frozenset({Scenario.IDENTITY_VERIFIED, Scenario.SUCCESS_MATCH, Scenario.ACCOUNT_CREATION})


@dataclass(frozen=True)
class Outcome:
    """The hub's answer to one sign-in.

    `identifier` is the citizen's identifier at this service, 64 hex digits, never the identity
    provider's own PID: the matching service's hashed PID for a service with a matching service, else
    `pairwise_id(idp, service, pid)`, the same in both profiles. Which details come with it depends on
    the service's profile: `attributes` (standard), `account_creation_attributes` (verify, account
    creation), `matching_dataset` (verify, no matching service). They are personal data: never log them
    (they are left out of `repr`).
    """

    scenario: Scenario
    response_id: str
    status: Status
    identifier: str | None = field(default=None, repr=False)
    level_of_assurance: LevelOfAssurance | None = None
    attributes: tuple[ReleasedAttribute, ...] = field(default=(), repr=False)
    account_creation_attributes: tuple[Attribute, ...] = field(default=(), repr=False)
    matching_dataset: MatchingDataset | None = field(default=None, repr=False)

    @property
    def return_code(self) -> ReturnCode | None:
        """Why the citizen is not signed in (None on a success, or from a hub that sent no code)."""
        return None if self.scenario.is_verified else parse_status_message(self.status.message)[0]

    @property
    def offer(self) -> Offer | None:
        """What to offer the citizen next (None on a success, or from a hub that sent none)."""
        return None if self.scenario.is_verified else parse_status_message(self.status.message)[1]

    def attribute(self, name: str) -> ReleasedAttribute | None:
        """The released attribute `name` (e.g. "surname"), or None when the hub did not send it."""
        return next((attribute for attribute in self.attributes if attribute.name == name), None)


def scenario_for_failure(status: Status) -> Scenario:
    """The scenario of a non-success status (see the module's table)."""
    if status.code in (c.STATUS_REQUESTER, c.STATUS_VERSION_MISMATCH):
        return Scenario.REQUEST_ERROR
    if status.sub_code in (c.STATUS_NO_MATCH, c.STATUS_MULTIPLE_MATCH):
        return Scenario.NO_MATCH
    if status.sub_code == c.STATUS_NO_AUTHN_CONTEXT:
        return Scenario.CANCELLATION
    return Scenario.AUTHENTICATION_FAILED
