"""Request IDs already answered, so a captured Response cannot be accepted twice."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

__all__ = ["ConsumedRequests"]


class ConsumedRequests:
    """In this process's memory: a service with several processes also takes each sign-in attempt from a
    shared store once (as the example service does), which stops a replay across processes."""

    def __init__(self, ttl: timedelta) -> None:
        self._ttl = ttl.total_seconds()
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def consume(self, request_id: str) -> bool:
        """True the first time a request ID is seen, False afterwards (until it expires)."""
        now = time.monotonic()
        with self._lock:
            self._expiry = {key: until for key, until in self._expiry.items() if until > now}
            if request_id in self._expiry:
                return False
            self._expiry[request_id] = now + self._ttl
            return True
