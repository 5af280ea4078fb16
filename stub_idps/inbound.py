"""The hub's AuthnRequest as a stub IDP receives it: validated, replay-checked, kept as a PendingRequest.

Trust comes from signed federation metadata only: the Issuer must be the hub and the signature must verify
with one of the hub's signing certificates listed there. The request must be addressed to this IDP's SSO
URL, be fresh, and carry an ID we have not seen before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from federation.loa import LevelOfAssurance
from federation.logsafe import log_safe
from federation.metadata import FederationMetadata
from federation.saml import SamlValidationError, decode_post, parse_authn_request
from federation.saml.bindings import MAX_RELAY_STATE_BYTES


class ReplayCache:
    """Request IDs seen recently, each kept until it could no longer pass the freshness check."""

    def __init__(self, ttl: timedelta, max_entries: int = 100_000) -> None:
        self._ttl = ttl.total_seconds()
        self._max = max_entries
        self._seen: dict[str, float] = {}
        self._next_purge = 0.0
        self._lock = threading.Lock()

    def first_time(self, message_id: str) -> bool:
        """Record `message_id`; False if it was already seen and has not expired."""
        now = time.monotonic()
        with self._lock:
            if len(self._seen) >= self._max or now >= self._next_purge:
                self._seen = {key: expiry for key, expiry in self._seen.items() if expiry > now}
                self._next_purge = now + 60
            if self._seen.get(message_id, 0.0) > now:
                return False
            if len(self._seen) >= self._max:
                raise SamlValidationError("replay-cache-full", "too many requests in flight; try again later")
            self._seen[message_id] = now + self._ttl
            return True


@dataclass(frozen=True)
class PendingRequest:
    """What the IDP remembers of the hub's request while the citizen signs in (kept in its session)."""

    request_id: str
    requested_loas: tuple[LevelOfAssurance, ...]
    comparison: str | None
    relay_state: str | None

    def accepts(self, level: LevelOfAssurance) -> bool:
        """Would the hub accept `level` for this request? (If not, the consent page warns the citizen.)"""
        if not self.requested_loas:
            return True
        if self.comparison == "exact":
            return level in self.requested_loas
        return level >= min(self.requested_loas)

    def to_session(self) -> dict[str, Any]:
        return {
            "id": self.request_id,
            "loas": [level.name for level in self.requested_loas],
            "comparison": self.comparison,
            "relay_state": self.relay_state,
        }

    @classmethod
    def from_session(cls, data: Mapping[str, Any]) -> PendingRequest:
        return cls(
            request_id=str(data["id"]),
            requested_loas=tuple(LevelOfAssurance.from_name(name) for name in data.get("loas", ())),
            comparison=data.get("comparison"),
            relay_state=data.get("relay_state"),
        )


def read_authn_request(
    form: Mapping[str, str],
    *,
    metadata: FederationMetadata,
    sso_url: str,
    replay: ReplayCache,
    now: datetime,
    clock_skew: timedelta,
) -> PendingRequest:
    """Validate the HTTP-POST binding form (SAMLRequest, RelayState). Raises SamlValidationError."""
    encoded = form.get("SAMLRequest")
    if not encoded:
        raise SamlValidationError("missing-message", "the form has no SAMLRequest", detail="no SAMLRequest field")
    relay_state = form.get("RelayState") or None
    if relay_state is not None and len(relay_state.encode("utf-8")) > MAX_RELAY_STATE_BYTES:
        raise SamlValidationError(
            "relay-state-too-long",
            "RelayState is longer than 80 bytes",
            detail=f"{len(relay_state.encode('utf-8'))} bytes > {MAX_RELAY_STATE_BYTES}",
        )
    hub_id = metadata.hub.entity_id

    def certificates_for(issuer: str):
        return metadata.hub.signing_certificates if issuer == hub_id else ()

    request = parse_authn_request(
        decode_post(encoded),
        certificates_for_issuer=certificates_for,
        expected_destination=sso_url,
        now=now,
        clock_skew=clock_skew,
    )
    if not replay.first_time(request.id):
        raise SamlValidationError(
            "replayed-request", "this AuthnRequest ID has been seen before", detail=log_safe(request.id)
        )
    return PendingRequest(
        request_id=request.id,
        requested_loas=request.requested_loas,
        comparison=request.comparison,
        relay_state=relay_state,
    )
