"""Ask the service's matching service about the citizen, and move the session on with its answer.

Used after a successful IDP answer (cycles 0 and 1), after the citizen's cycle 3 answer, and for account
creation. The protocol is the engine's (`hub.engines.matching`), the rules the policy's
(`hub.policy.journey`); this module runs them in order, saves, and writes the audit facts.
"""

from __future__ import annotations

import time

from hub import audit
from hub.engines import matching
from hub.metrics import MATCHING_SECONDS
from hub.policy import journey
from hub.policy import outcomes as o
from hub.policy import states as s
from hub.services import HubServices
from hub.store.base import QueuedWrites
from hub.store.held import Held


def continue_matching(
    hub: HubServices, session: s.Session, assertions: tuple[str, ...], *, writes: QueuedWrites
) -> s.Session:
    """Ask the matching service what `session` awaits, apply the answer, save; call it holding the journey lock
    (`hub.session_lock.journey_step`), whose `writes` carry the last save. `assertions`: the IDP's, held
    beside the session for the matching service, read with the session under the lock.

    Each send uses a fresh query ID, recorded (and saved) before the query leaves: if a process dies while
    the matching service answers, the next request sends the query again instead of leaving the citizen
    stuck, and the matching service never sees one query ID twice. The IDP's assertions held beside the
    session are removed once matching is over; the matching service's assertions for
    the service are kept beside the session in the same round trip as the save that says so, before it.
    """
    rp = hub.relying_party(session.rp_entity_id)
    ms = hub.config.matching_service(rp.matching_service_entity_id)
    while session.state in s.AWAITING_MATCHING_SERVICE:
        query_id = matching.new_query_id()
        session = s.transition(session, s.MatchingQuerySent(matching_request_id=query_id), hub.now())
        hub.sessions.put(session, now=hub.now())
        started = time.perf_counter()
        outcome = matching.ask(hub, session, rp, ms, query_id, assertions, now=hub.now())
        MATCHING_SECONDS.labels(matching_service=ms.entity_id, outcome=type(outcome).__name__).observe(
            time.perf_counter() - started
        )
        step = journey.on_matching_outcome(
            session,
            outcome,
            cycle3_configured=rp.cycle3_attribute is not None,
            account_creation_configured=bool(rp.account_creation_attributes),
            next_query_id=matching.new_query_id(),
            now=hub.now(),
        )
        audit.emit_facts(step.session, step.audit)
        session = step.session
        if session.state in s.AWAITING_MATCHING_SERVICE:  # another query follows at once
            hub.sessions.put(session, now=hub.now())
            continue
        if session.service_assertions_held and isinstance(outcome, o.RecordMatched | o.AccountCreated):
            hub.sessions.keep(session, Held.FOR_SERVICE, outcome.service_assertions, now=hub.now(), writes=writes)
        hub.sessions.put(session, now=hub.now(), writes=writes)
        if session.matching_identity is None:
            hub.sessions.drop(session.session_id, Held.FOR_MATCHING_SERVICE, writes=writes)
    return session
