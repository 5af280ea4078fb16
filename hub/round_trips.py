"""How long the companies take: the time from sending the citizen to a company to its answer arriving.

The hub's request to the company goes through the citizen's browser, so no one process sees both ends:
the send time is kept in the shared store under the hub's request ID (a few bytes, for the session's
lifetime) and taken when the answer arrives, by whichever hub process receives it. A journey the citizen
abandons at the company leaves an entry that expires with the session and is never observed.
"""

from __future__ import annotations

import logging

from hub.metrics import IDP_ROUND_TRIP_SECONDS
from hub.services import HubServices
from hub.store.base import QueuedWrites, StoreUnavailable

log = logging.getLogger(__name__)

SENT = "idp-sent"


def request_sent(hub: HubServices, hub_request_id: str, *, writes: QueuedWrites | None = None) -> None:
    """Note when the hub's AuthnRequest left for the company. Alone it is best effort (a metric is not worth a
    failure); queued in the step's `writes` it goes in the same round trip as the step's own writes, so it
    can fail only when they do."""
    ttl = int(hub.config.session_lifetime.total_seconds())
    sent_at = str(hub.now().timestamp()).encode()
    if writes is not None:
        writes.put(SENT, hub_request_id, sent_at, ttl)
        return
    try:
        hub.store.put(SENT, hub_request_id, sent_at, ttl)
    except StoreUnavailable:
        pass


def answer_arrived(hub: HubServices, hub_request_id: str, idp_entity_id: str) -> None:
    """Observe the company's round trip for the request `hub_request_id` answered, once."""
    try:
        sent = hub.store.take(SENT, hub_request_id)
    except StoreUnavailable:
        return
    if sent is None:
        return
    try:
        seconds = hub.now().timestamp() - float(sent.decode())
    except ValueError:
        return
    IDP_ROUND_TRIP_SECONDS.labels(idp=idp_entity_id).observe(max(seconds, 0.0))
