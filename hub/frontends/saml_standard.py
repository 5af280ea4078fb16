"""The SAML `standard` profile's answer: one assertion the hub issues and signs, which any SAML
service-provider library reads (see docs/saml-profiles.md).

Placeholder until the building blocks land: a `standard` service gets a Responder error, never a Success
without its assertion.
"""

from __future__ import annotations

from federation.config import RelyingParty
from hub.frontends.saml_verify import build_verify_response
from hub.policy.states import RpOutcome, Session
from hub.services import HubServices


def build_standard_response(hub: HubServices, session: Session, rp: RelyingParty, outcome: RpOutcome) -> bytes:
    if outcome is RpOutcome.SUCCESS:
        outcome = RpOutcome.AUTHN_FAILED
    return build_verify_response(hub, session, outcome)
