"""The matching service's replay cache for AttributeQuery IDs: in process, each ID kept until it expires.

A query is accepted only while its IssueInstant is fresh, so an ID needs remembering only that long; after
that the freshness check refuses a replay on its own. One process per matching service is the deployment
(the hub is the one that scales out), so an in-process set is enough.
"""

from __future__ import annotations

import heapq
import threading
from datetime import datetime


class ReplayCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expiry: dict[str, datetime] = {}
        self._queue: list[tuple[datetime, str]] = []

    def first_use(self, message_id: str, *, expires_at: datetime, now: datetime) -> bool:
        """True the first time `message_id` is seen (and remember it until `expires_at`); False on a replay."""
        with self._lock:
            self._evict(now)
            if message_id in self._expiry:
                return False
            self._expiry[message_id] = expires_at
            heapq.heappush(self._queue, (expires_at, message_id))
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def _evict(self, now: datetime) -> None:
        while self._queue and self._queue[0][0] <= now:
            expires_at, message_id = heapq.heappop(self._queue)
            if self._expiry.get(message_id) == expires_at:
                del self._expiry[message_id]
