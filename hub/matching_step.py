"""Ask the service's matching service about the citizen, and move the session on with its answer.

Used after a successful IDP response (cycles 0 and 1), after the citizen's cycle 3 answer, and for account
creation. The IDP's two assertions travel unchanged (still IDP-signed), re-encrypted for the matching
service when they arrived (`hub.idp_engine`): the session keeps only those EncryptedAssertions. The hub
never sees the matching service's assertion in clear either (it is encrypted for the service).
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from dataclasses import replace

from federation import xmlsecurity
from federation.saml.assertion import Attribute, build_assertion
from federation.saml.attribute_query import build_attribute_query
from federation.saml.ids import new_id
from federation.saml.response import encrypt_assertion
from hub import audit
from hub.matching_client import MatchingServiceUnavailable, MatchResult
from hub.policy import states as s
from hub.rp_response import RP_ASSERTIONS, pack_assertions
from hub.services import HubServices

log = logging.getLogger("hub.matching")

IDP_ASSERTIONS = "idp_assertions"  # session.data: the IDP's assertions encrypted for the MS, base64, space separated
PID = "pid"
CYCLE3_VALUE = "cycle3_value"
QUERY_VALIDITY = dt.timedelta(minutes=5)


def keep_idp_assertions(sealed: tuple[str, ...], pid: str) -> dict[str, str]:
    """Session data for the queries to come: the MS-encrypted assertions (base64) and the PID."""
    return {IDP_ASSERTIONS: " ".join(sealed), PID: pid}


def _idp_assertions(session: s.Session) -> list:
    return [xmlsecurity.parse_xml(base64.b64decode(item)) for item in session.data.get(IDP_ASSERTIONS, "").split()]


def new_query_id() -> str:
    return new_id()


def continue_matching(hub: HubServices, session: s.Session) -> s.Session:
    """Ask the matching service what `session` awaits, apply the answer, save; call it holding the journey lock.

    Each send uses a fresh query ID, recorded (and saved) before the query leaves: if a process dies while
    the matching service answers, the next request sends the query again instead of leaving the citizen
    stuck, and the matching service never sees one query ID twice.
    """
    while session.state in s.AWAITING_MATCHING_SERVICE:
        query_id = new_query_id()
        session = s.transition(session, s.MatchingQuerySent(matching_request_id=query_id), hub.now())
        hub.sessions.put(session, now=hub.now())
        account_creation = session.state is s.State.USER_ACCOUNT_CREATION_REQUEST_SENT
        session = send_query(hub, session, query_id, account_creation=account_creation)
        hub.sessions.put(session, now=hub.now())
    return session


def send_query(hub: HubServices, session: s.Session, query_id: str, *, account_creation: bool = False) -> s.Session:
    """Send the AttributeQuery with ID `query_id` for `session`; the session moved on by the answer."""
    config, now = hub.config, hub.now()
    rp = hub.relying_party(session.rp_entity_id)
    ms = config.matching_service(rp.matching_service_entity_id)
    recipient = ms.encryption_certificate.certificate
    destination = ms.account_creation_url if account_creation else ms.attribute_query_url
    cycle3_assertion = None
    cycle3_value = session.data.get(CYCLE3_VALUE)
    if cycle3_value and rp.cycle3_attribute is not None:
        assertion = build_assertion(
            issuer=config.hub.entity_id,
            name_id=session.data[PID],
            audience=ms.entity_id,
            recipient=destination,
            in_response_to=query_id,
            credential=hub.signing,
            now=now,
            attributes=(Attribute(rp.cycle3_attribute.name, (cycle3_value,)),),
            valid_for=QUERY_VALIDITY,
        )
        cycle3_assertion = encrypt_assertion(assertion, recipient)
    query = build_attribute_query(
        issuer=config.hub.entity_id,
        destination=destination,
        name_id=session.data[PID],
        sp_name_qualifier=rp.entity_id,
        rp_acs_url=session.acs_url,
        rp_request_id=session.authn_request_id,
        not_on_or_after=now + QUERY_VALIDITY,
        encrypted_assertions=_idp_assertions(session),
        credential=hub.signing,
        now=now,
        cycle3_assertion=cycle3_assertion,
        requested_attributes=rp.account_creation_attributes if account_creation else (),
        query_id=query_id,
    )
    common = {
        "session_id": session.journey_id,
        "rp_entity_id": rp.entity_id,
        "idp_entity_id": session.selected_idp_entity_id,
        "levels": session.idp_level,
    }
    try:
        answer = hub.matching.ask(
            query.get("Destination"),
            query,
            matching_service=ms,
            rp_entity_id=rp.entity_id,
            now=now,
            clock_skew=config.clock_skew,
        )
    except MatchingServiceUnavailable as exc:
        log.error("matching service %s request failed: %s", ms.entity_id, exc.reason)
        return s.transition(session, s.MatchingServiceError(), now)
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the journey must not be left hanging
        log.exception("matching service %s request failed unexpectedly: %s", ms.entity_id, type(exc).__name__)
        return s.transition(session, s.MatchingServiceError(), now)
    cycle3 = session.state is s.State.CYCLE3_MATCH_REQUEST_SENT
    if answer.result in (MatchResult.MATCH, MatchResult.CREATED):
        data = {RP_ASSERTIONS: pack_assertions(answer.encrypted_assertions)}
        if answer.result is MatchResult.CREATED and session.state is s.State.USER_ACCOUNT_CREATION_REQUEST_SENT:
            audit.emit("user_account_created", **common)
            return _drop_identity(s.transition(session, s.AccountCreated(data=data), now))
        if session.state is s.State.USER_ACCOUNT_CREATION_REQUEST_SENT:
            return s.transition(session, s.MatchingServiceError(), now)
        audit.emit("cycle3_match" if cycle3 else "cycle01_match", **common)
        return _drop_identity(s.transition(session, s.Matched(data=data), now))
    if session.state is s.State.USER_ACCOUNT_CREATION_REQUEST_SENT:
        audit.emit("user_account_creation_failed", **common)
        return _drop_identity(s.transition(session, s.AccountCreationFailed(), now))
    audit.emit("cycle3_no_match" if cycle3 else "cycle01_no_match", **common)
    next_event = s.after_no_match(
        session.state,
        cycle3_configured=rp.cycle3_attribute is not None,
        account_creation_configured=bool(rp.account_creation_attributes),
    )
    if next_event is s.EventType.CYCLE3_REQUESTED:
        audit.emit("waiting_for_cycle3_attributes", **common)
        return s.transition(session, s.Cycle3Requested(), now)
    if next_event is s.EventType.ACCOUNT_CREATION_REQUESTED:  # sent next by continue_matching
        return s.transition(session, s.AccountCreationRequested(matching_request_id=new_query_id()), now)
    return _drop_identity(s.transition(session, s.NoMatch(), now))


def _drop_identity(session: s.Session) -> s.Session:
    """Once matching is over the hub no longer needs the citizen's assertions or PID."""
    data = {k: v for k, v in session.data.items() if k not in (IDP_ASSERTIONS, PID, CYCLE3_VALUE)}
    return replace(session, data=data)
