"""The SAML `standard` profile's answer: one assertion the hub issues and signs, which any SAML
service-provider library reads (docs/saml-profiles.md).

On success: a persistent NameID pairwise per service (or, with a matching service, its hashed PID), the
level reached, and the identity attributes the service is configured to receive, each with a `_verified`
companion; encrypted for the service with its key transport. Any other outcome is the same status a
`verify` service gets, with no assertion. What a service gives up against `verify`: it trusts the hub's
signature for the matching result, where `verify` carries the matching service's own.
"""

from __future__ import annotations

from federation import xmlsecurity
from federation.config import RelyingParty
from federation.saml.constants import MatchingOutcome
from federation.saml.standard import build_standard_response as build_response_element
from hub.frontends.saml_verify import build_verify_response
from hub.policy.states import RpOutcome, Session, State
from hub.services import HubServices

_MATCHING_OUTCOMES = {
    State.SUCCESSFUL_MATCH: MatchingOutcome.MATCH,
    State.USER_ACCOUNT_CREATED: MatchingOutcome.ACCOUNT_CREATED,
}


def build_standard_response(hub: HubServices, session: Session, rp: RelyingParty, outcome: RpOutcome) -> bytes:
    """The signed Response for `outcome`; a Success only with the identity the journey kept for it."""
    release = session.release
    if outcome is not RpOutcome.SUCCESS or release is None or session.idp_level is None:
        if outcome is RpOutcome.SUCCESS:  # never a Success without the assertion that proves it
            outcome = RpOutcome.AUTHN_FAILED
        return build_verify_response(hub, session, outcome)
    element = build_response_element(
        rp=rp,
        hub_entity_id=hub.config.hub.entity_id,
        credential=hub.signing,
        idp_entity_id=session.selected_idp_entity_id,
        pid=release.pid,
        level=session.idp_level,
        authn_instant=release.authn_instant,
        matching_dataset=release.identity,
        in_response_to=session.authn_request_id,
        acs_url=session.acs_url,
        now=hub.now(),
        matching_outcome=_MATCHING_OUTCOMES.get(session.state) if rp.matching_service_entity_id else None,
    )
    return xmlsecurity.to_bytes(element)
