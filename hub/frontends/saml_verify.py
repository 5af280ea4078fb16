"""The SAML `verify` profile's answer: a hub-signed Response carrying the matching service's assertion,
or, for a service without one, the IDP's two assertions, all untouched and encrypted for the service.

The hub never reads or re-signs what it relays, so the service trusts the matching service's (or the
IDP's) signature, not the hub's word: GOV.UK Verify's end-to-end trust.
"""

from __future__ import annotations

from dataclasses import replace

from federation import xmlsecurity
from federation.saml import constants as c
from federation.saml.response import Status, build_response
from hub.policy import return_codes
from hub.policy.states import RpOutcome, Session
from hub.services import HubServices

STATUSES = {
    RpOutcome.SUCCESS: Status(c.STATUS_SUCCESS),
    RpOutcome.NO_MATCH: Status(c.STATUS_RESPONDER, c.STATUS_NO_MATCH),
    RpOutcome.NO_AUTHN_CONTEXT: Status(c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT),
    RpOutcome.AUTHN_FAILED: Status(c.STATUS_RESPONDER, c.STATUS_AUTHN_FAILED),
    RpOutcome.REQUESTER: Status(c.STATUS_REQUESTER),
}


def status_message(code: return_codes.ReturnCode) -> str:
    """The StatusMessage that carries a return code: `return-code=<code> offer=<offer>`."""
    return f"return-code={code.code} offer={code.offer.value}"


def build_verify_response(
    services: HubServices, session: Session, outcome: RpOutcome, service_assertions: tuple[str, ...] = ()
) -> bytes:
    """The signed Response for `outcome`; never a Success without the assertion that proves it.
    `service_assertions`: those held beside the session for the service (EncryptedAssertion XML)."""
    assertions = []
    if outcome is RpOutcome.SUCCESS:
        assertions = [xmlsecurity.parse_xml(item.encode()) for item in service_assertions]
        if not assertions:
            outcome = RpOutcome.AUTHN_FAILED
    status = STATUSES[outcome]
    code = None
    if outcome is not RpOutcome.SUCCESS:
        code = return_codes.return_code(session.state, session.problem)
        if code is None and outcome is RpOutcome.NO_AUTHN_CONTEXT:  # a success the citizen declined to share
            code = return_codes.CANCELLED  # as an OpenID Connect client is told
    if code is not None:  # the structured return code, as a documented extension (docs/saml-profiles.md)
        status = replace(status, message=status_message(code))
    response = build_response(
        issuer=services.config.hub.entity_id,
        in_response_to=session.authn_request_id,
        status=status,
        credential=services.signing,
        now=services.now(),
        destination=session.acs_url,
        assertions=assertions,
    )
    return xmlsecurity.to_bytes(response)
