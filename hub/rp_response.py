"""The hub's signed Response to the service, from the session's outcome."""

from __future__ import annotations

import base64

from lxml import etree

from federation import xmlsecurity
from federation.saml import constants as c
from federation.saml.response import Status, build_response
from hub.policy.states import RpOutcome, Session
from hub.services import HubServices

RP_ASSERTIONS = "rp_assertions"  # session.data key: base64 EncryptedAssertions for the RP, space separated

STATUSES = {
    RpOutcome.SUCCESS: Status(c.STATUS_SUCCESS),
    RpOutcome.NO_MATCH: Status(c.STATUS_RESPONDER, c.STATUS_NO_MATCH),
    RpOutcome.NO_AUTHN_CONTEXT: Status(c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT),
    RpOutcome.AUTHN_FAILED: Status(c.STATUS_RESPONDER, c.STATUS_AUTHN_FAILED),
    RpOutcome.REQUESTER: Status(c.STATUS_REQUESTER),
}


def pack_assertions(encrypted: tuple[bytes, ...] | list[bytes]) -> str:
    return " ".join(base64.b64encode(item).decode() for item in encrypted)


def unpack_assertions(packed: str) -> list[etree._Element]:
    return [xmlsecurity.parse_xml(base64.b64decode(item)) for item in packed.split()]


def build_rp_response(services: HubServices, session: Session, outcome: RpOutcome) -> bytes:
    assertions = unpack_assertions(session.data.get(RP_ASSERTIONS, "")) if outcome is RpOutcome.SUCCESS else []
    if outcome is RpOutcome.SUCCESS and not assertions:
        outcome = RpOutcome.AUTHN_FAILED  # never a Success without the assertion that proves it
    response = build_response(
        issuer=services.config.hub.entity_id,
        in_response_to=session.authn_request_id,
        status=STATUSES[outcome],
        credential=services.signing,
        now=services.now(),
        destination=session.acs_url,
        assertions=assertions,
    )
    return xmlsecurity.to_bytes(response)
