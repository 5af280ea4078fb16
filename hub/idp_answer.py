"""An identity provider's answer takes effect only in the browser that holds the journey.

The IDP's Response reaches the hub as a cross-site POST, which carries no SameSite=Lax session cookie, so
whoever posts it cannot be told apart by the request alone: an attacker who kept the hub's AuthnRequest of
their own journey can have a victim's browser post the victim's Response. Finding the session by
InResponseTo and moving it on there would sign the attacker in as the victim.

So the POST only verifies the Response and **parks** its typed outcome, sealed under the hub key, under a
one-time random key (256 bits, a few minutes), and answers 303 to `GET /journey/identity-provider-answer
?key=...`. That top-level GET carries the session cookie again; the answer is applied only if the cookie's
session is the one whose request the IDP answered (compared in constant time), and is destroyed on first
use whatever happens. A Response posted from a browser that does not hold the journey therefore never
advances it: the key reaches only that browser, and that browser has no (or another) session.

Chosen over a second `SameSite=None; Secure` cookie scoped to the response path because it needs no
third-party-style cookie (which browsers are phasing out and which needs TLS even in the demo), and the
binding is checked by the same code whatever the browser does with cookies.

When the answer is applied the session ID is renewed, so a session ID seen before sign-in (planted or
leaked) is useless after it. Audit events are emitted here, when the answer takes effect.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass

from federation.web import problems
from hub import audit
from hub.matching_step import keep_idp_assertions, new_query_id
from hub.policy import outcomes as o
from hub.policy import states as s
from hub.rp_response import RP_ASSERTIONS
from hub.services import HubServices
from hub.store.crypto import SessionCorrupt

log = logging.getLogger("hub.idp_response")

PARKED = "idp-answer"
PARK_SECONDS = 300


@dataclass(frozen=True)
class ParkedAnswer:
    session_id: str
    hub_request_id: str
    rp_entity_id: str
    outcome: o.IdpOutcome


def park(hub: HubServices, session: s.Session, outcome: o.IdpOutcome) -> str:
    """Keep `outcome` for the browser that holds `session`; the one-time key to claim it with."""
    key = secrets.token_urlsafe(32)
    payload = {
        "session_id": session.session_id,
        "hub_request_id": outcome.in_response_to,
        "rp_entity_id": session.rp_entity_id,
        "outcome": outcome.to_dict(),
    }
    hub.store.put(PARKED, key, hub.sessions.codec.seal(PARKED, key, payload), PARK_SECONDS)
    return key


def claim(hub: HubServices, key: str) -> ParkedAnswer | None:
    """The parked answer, removed from the store whoever claims it; None if unknown, used or expired."""
    if not key or len(key) > 64:
        return None
    blob = hub.store.take(PARKED, key)
    if blob is None:
        return None
    try:
        raw = hub.sessions.codec.unseal(PARKED, key, blob)
        return ParkedAnswer(
            session_id=str(raw["session_id"]),
            hub_request_id=str(raw["hub_request_id"]),
            rp_entity_id=str(raw["rp_entity_id"]),
            outcome=o.outcome_from_dict(raw["outcome"]),
        )
    except (SessionCorrupt, KeyError, ValueError):
        log.warning("idp answer refused: parked-answer-corrupt")
        return None


def belongs_to(answer: ParkedAnswer, session: s.Session | None) -> bool:
    """Whether the browser's session is the one that sent the request the IDP answered."""
    return session is not None and hmac.compare_digest(answer.session_id.encode(), session.session_id.encode())


def apply(hub: HubServices, session: s.Session, outcome: o.IdpOutcome) -> s.Session:
    """The session moved on by the IDP's answer (InvalidTransition if it no longer awaits it)."""
    now = hub.now()
    ref = {"idp_entity_id": outcome.idp_entity_id, "in_response_to": outcome.in_response_to}
    common = {
        "session_id": session.journey_id,
        "rp_entity_id": session.rp_entity_id,
        "idp_entity_id": outcome.idp_entity_id,
    }
    if session.state is not s.State.IDP_SELECTED:
        raise s.InvalidTransition(session.state, s.EventType.IDP_AUTHN_SUCCEEDED, "not-awaiting-an-idp-answer")
    match outcome:
        case o.IdpSuccess():
            if outcome.for_matching_service:
                event = s.IdpAuthnSucceeded(
                    **ref,
                    level=outcome.level,
                    matching_request_id=new_query_id(),
                    pid_hash=outcome.pid_hash,
                    data=keep_idp_assertions(outcome.sealed_assertions, outcome.pid),
                )
            else:
                event = s.NonMatchingSuccess(
                    **ref,
                    level=outcome.level,
                    pid_hash=outcome.pid_hash,
                    data={RP_ASSERTIONS: " ".join(outcome.sealed_assertions)},
                )
            moved = s.transition(session, event, now)
            audit.emit("idp_authn_succeeded", **common, levels=outcome.level, pid_hash=outcome.pid_hash)
            return moved
        case o.IdpFraud():
            moved = s.transition(session, s.FraudDetected(**ref), now)
            audit.emit("fraud_detected", **common, extra={"fraud_indicator": outcome.indicator})
            return moved
        case o.IdpAuthnFailed():
            data = {"problem": outcome.problem} if outcome.problem else {}
            moved = s.transition(session, s.IdpAuthnFailed(**ref, data=data), now)
            extra = {"reason": outcome.reason} if outcome.problem else {"status": outcome.reason}
            audit.emit("idp_authn_failed", **common, levels=outcome.level, extra=extra)
            return moved
        case o.IdpPending():
            moved = s.transition(session, s.IdpPending(**ref), now)
            audit.emit("idp_authn_pending", **common)
            return moved
        case o.IdpCancelled():
            moved = s.transition(session, s.IdpCancelled(**ref, data={"problem": problems.CANCELLED}), now)
            audit.emit("no_authn_context", **common)
            return moved
        case o.IdpRequesterError():
            moved = s.transition(session, s.IdpRequesterError(**ref), now)
            audit.emit("requester_error", **common, extra={"status": "requester"})
            return moved
    raise TypeError(f"unknown IDP outcome {type(outcome).__name__}")
