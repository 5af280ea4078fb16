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
leaked) is useless after it; the answer's assertions are held beside the renewed session, under its new ID
(`hub.store.held`). Audit events are emitted here, when the answer takes effect.

Parking also marks the hub's request as having had an answer parked (`ANSWERED`): the same Response
posted again counts as a retry (a hub process died before parking it) only while nothing was parked for
the request. Once an answer went out under a key, to whichever browser, the Response is spent: a browser
that was refused it cannot have it again, nor can anyone who copied it.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass

from hub import audit
from hub.engines.matching import new_query_id
from hub.policy import journey
from hub.policy import outcomes as o
from hub.policy import states as s
from hub.services import HubServices
from hub.store.base import QueuedWrites
from hub.store.crypto import SessionCorrupt
from hub.store.held import held_by
from hub.web_session import mark_idp_request_answered

log = logging.getLogger("hub.idp_response")

PARKED = "idp-answer"
PARK_SECONDS = 300
ANSWERED = "idp-answer-parked"  # hub request IDs an answer was parked for


@dataclass(frozen=True)
class ParkedAnswer:
    session_id: str
    hub_request_id: str
    rp_entity_id: str
    outcome: o.IdpOutcome


def park(hub: HubServices, session: s.Session, outcome: o.IdpOutcome, *, writes: QueuedWrites) -> str:
    """Keep `outcome` for the browser that holds `session` (queued in `writes`, in this order: the answer, the
    request's mark `ANSWERED`); the one-time key to claim it with."""
    key = secrets.token_urlsafe(32)
    payload = {
        "session_id": session.session_id,
        "hub_request_id": outcome.in_response_to,
        "rp_entity_id": session.rp_entity_id,
        "outcome": outcome.to_dict(),
    }
    ttl = max(1, int((hub.config.session_lifetime + hub.config.clock_skew).total_seconds()))
    writes.put(PARKED, key, hub.sessions.codec.seal(PARKED, key, payload), PARK_SECONDS)
    writes.put(ANSWERED, outcome.in_response_to, b"1", ttl)
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


def belongs_to(answer: ParkedAnswer, session_id: str | None) -> bool:
    """Whether the browser's session (the ID its cookie names) is the one that sent the request the IDP answered."""
    return bool(session_id) and hmac.compare_digest(answer.session_id.encode(), str(session_id).encode())


def apply(hub: HubServices, session: s.Session, outcome: o.IdpOutcome, *, writes: QueuedWrites) -> s.Session:
    """The session moved on by the IDP's answer (InvalidTransition if it no longer awaits it), under a new ID.

    Queued in `writes` (so nothing is written if the answer does not apply), in this order: the request marked
    as answered, the answer's assertions held beside the renewed session if it says so (`hub.store.held`), the
    renewed session, the old ID's deletion.
    """
    if session.state is not s.State.IDP_SELECTED:
        raise s.InvalidTransition(session.state, s.EventType.IDP_AUTHN_SUCCEEDED, "not-awaiting-an-idp-answer")
    step = journey.on_idp_outcome(session, outcome, matching_request_id=new_query_id(), now=hub.now())
    audit.emit_facts(step.session, step.audit, idp_entity_id=outcome.idp_entity_id)
    assertions = outcome.sealed_assertions if isinstance(outcome, o.IdpSuccess) else ()
    mark_idp_request_answered(outcome.in_response_to, writes=writes)
    held = {kind: assertions for kind in held_by(step.session)}
    return hub.sessions.renew(step.session, now=hub.now(), writes=writes, held=held)
