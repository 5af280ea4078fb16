"""Moving a journey to another device: codes, requests to continue, confirmation, in the shared store.

1. The first device asks for a code (`issue`): `code -> session` under `handoff-code`, valid a few minutes.
2. The second device enters it (`redeem`): the code is *taken* (one use), and a request to continue is made
   under a random 256-bit claim ID, which only that device gets (in a cookie). The first device's session
   learns of the request (`pending`).
3. The first device confirms (`confirm`): the journey is renewed under a new session ID, which is put in the
   claim; the old ID stops working at once and is marked as moved (`moved`), so that device can say where
   the journey went. Or it declines (`decline`) and the claim is gone.
4. The second device collects (`collect`): the claim is taken (one use) and its browser gets the new
   session ID. Until the first device confirms, collecting only says "waiting".
5. The service's answer then reaches the second device, a browser the service never saw. So collecting
   also gives that browser a random device key (in a cookie), under which the hub keeps which service and
   which of its requests the journey answers (`DEVICES`). When the service asks, from that browser, whether
   the journey moved there (`federation.moved_journey`), the hub takes the entry (`moved_here`, one use)
   and says yes; any other browser hears no.

So the code alone never moves a journey, the new session ID only ever reaches the device that entered the
code, and each step can happen once. Every entry expires by itself; entries other than the one-byte moved
marker are sealed with the session key and bound to their namespace and key.
"""

from __future__ import annotations

import enum
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.policy import handoff as policy
from hub.policy import states as s
from hub.store.base import EntryStore
from hub.store.crypto import SessionCorrupt
from hub.store.repository import SessionRepository

log = logging.getLogger("hub.handoff")

CODES = "handoff-code"  # code -> {session, expires}
ISSUED = "handoff-issued"  # session -> {code, expires}: the first device shows its code again on reload
CLAIMS = "handoff-claim"  # claim ID -> {session, expires, confirmed session or null}
PENDING = "handoff-pending"  # session -> claim ID: a request the first device has still to answer
MOVED = "handoff-moved"  # old session ID -> the service's entity ID: this device's journey went elsewhere
DEVICES = "handoff-device"  # device key -> {service, request, acs_url, expires}: the journey arrived here


@dataclass(frozen=True)
class IssuedCode:
    code: str
    expires_at: datetime


class Collected(enum.Enum):
    UNKNOWN = "unknown"  # no such request: never made, declined, expired or already collected
    WAITING = "waiting"  # the first device has not confirmed yet


@dataclass(frozen=True)
class Moved:
    session_id: str
    device_key: str  # for the second device's cookie: the service's answer may be applied there


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds()))


class Handoff:
    """The steps above, on a hub's store and sessions; `now` is the hub's clock."""

    def __init__(self, store: EntryStore, sessions: SessionRepository) -> None:
        self.store = store
        self.sessions = sessions

    def _seal(self, namespace: str, key: str, payload: dict) -> bytes:
        return self.sessions.codec.seal(namespace, key, payload)

    def _unseal(self, namespace: str, key: str, blob: bytes | None, now: datetime) -> dict | None:
        """The entry if it opens and has not expired (the store's TTL is a second, coarser limit)."""
        if blob is None:
            return None
        try:
            payload = self.sessions.codec.unseal(namespace, key, blob)
            expires = datetime.fromisoformat(str(payload["expires"]))
        except (SessionCorrupt, KeyError, ValueError):
            log.warning("handoff entry refused: corrupt (%s)", namespace)
            return None
        return payload if now < expires else None

    def issue(self, session: s.Session, now: datetime) -> IssuedCode:
        """A new code for `session` (the previous one, if any, stops working)."""
        self.withdraw(session.session_id, now)
        code = policy.new_code()
        expires = now + policy.CODE_LIFETIME
        entry = {"session": session.session_id, "expires": expires.isoformat()}
        ttl = _seconds(policy.CODE_LIFETIME)
        self.store.put(CODES, code, self._seal(CODES, code, entry), ttl)
        issued = {"code": code, "expires": expires.isoformat()}
        self.store.put(ISSUED, session.session_id, self._seal(ISSUED, session.session_id, issued), ttl)
        return IssuedCode(code, expires)

    def issued(self, session_id: str, now: datetime) -> IssuedCode | None:
        """The code this session shows now, if it is still unused and in time."""
        entry = self._unseal(ISSUED, session_id, self.store.get(ISSUED, session_id), now)
        if entry is None or self.store.get(CODES, str(entry["code"])) is None:
            return None
        return IssuedCode(str(entry["code"]), datetime.fromisoformat(str(entry["expires"])))

    def withdraw(self, session_id: str, now: datetime) -> None:
        """The session's code, if any, stops working."""
        blob = self.store.take(ISSUED, session_id)
        entry = self._unseal(ISSUED, session_id, blob, now) if blob else None
        if entry is not None:
            self.store.remove(CODES, str(entry["code"]))

    def redeem(self, code: str, now: datetime) -> str | None:
        """Use `code` once: the claim ID for the device that entered it, or None if it is not a live code."""
        entry = self._unseal(CODES, code, self.store.take(CODES, code), now)
        if entry is None:
            return None
        session_id = str(entry["session"])
        self.store.remove(ISSUED, session_id)
        claim_id = secrets.token_urlsafe(32)
        claim = {"session": session_id, "expires": (now + policy.CLAIM_LIFETIME).isoformat(), "moved_to": None}
        ttl = _seconds(policy.CLAIM_LIFETIME)
        self.store.put(CLAIMS, claim_id, self._seal(CLAIMS, claim_id, claim), ttl)
        pending = {"claim": claim_id, "expires": claim["expires"]}
        self.store.put(PENDING, session_id, self._seal(PENDING, session_id, pending), ttl)
        return claim_id

    def pending(self, session_id: str, now: datetime) -> bool:
        """Whether another device has asked to continue this journey and awaits this device's answer."""
        return self._unseal(PENDING, session_id, self.store.get(PENDING, session_id), now) is not None

    def _take_pending_claim(self, session_id: str, now: datetime) -> tuple[str, dict] | None:
        pending = self._unseal(PENDING, session_id, self.store.take(PENDING, session_id), now)
        if pending is None:
            return None
        claim_id = str(pending["claim"])
        claim = self._unseal(CLAIMS, claim_id, self.store.get(CLAIMS, claim_id), now)
        if claim is None or not hmac.compare_digest(str(claim["session"]).encode(), session_id.encode()):
            return None
        return claim_id, claim

    def confirm(self, session: s.Session, now: datetime) -> s.Session | None:
        """This device says yes: the journey under a new ID for the other device; None if nothing is pending."""
        found = self._take_pending_claim(session.session_id, now)
        if found is None:
            return None
        claim_id, claim = found
        renewed = self.sessions.renew(session, now=now)  # the old ID stops working here and now
        claim["moved_to"] = renewed.session_id
        oidc = session.oidc_request  # an OpenID Connect client names its request by its `state`
        claim["journey"] = {
            "service": session.rp_entity_id,
            "request": (oidc.state or "") if oidc is not None else session.authn_request_id,
            "acs_url": session.acs_url,  # for an OpenID Connect client: its redirect URI
        }
        self.store.put(CLAIMS, claim_id, self._seal(CLAIMS, claim_id, claim), _seconds(policy.CLAIM_LIFETIME))
        ttl = _seconds(self.sessions.lifetime + self.sessions.grace)
        self.store.put(MOVED, session.session_id, session.rp_entity_id.encode(), ttl)
        return renewed

    def decline(self, session_id: str, now: datetime) -> None:
        """This device says no: the other device's request is gone."""
        found = self._take_pending_claim(session_id, now)
        if found is not None:
            self.store.remove(CLAIMS, found[0])

    def collect(self, claim_id: str, now: datetime) -> Moved | Collected:
        """For the device that entered the code: the journey's new session ID once confirmed (only once)."""
        if not claim_id or len(claim_id) > 64:
            return Collected.UNKNOWN
        claim = self._unseal(CLAIMS, claim_id, self.store.get(CLAIMS, claim_id), now)
        if claim is None:
            return Collected.UNKNOWN
        if not claim.get("moved_to"):
            return Collected.WAITING
        taken = self._unseal(CLAIMS, claim_id, self.store.take(CLAIMS, claim_id), now)
        if taken is None or not taken.get("moved_to"):
            return Collected.UNKNOWN  # collected by a concurrent request of the same device
        return Moved(str(taken["moved_to"]), self._arrived(dict(taken.get("journey") or {}), now))

    def _arrived(self, journey: dict, now: datetime) -> str:
        """A device key for the browser the journey arrived in, kept for as long as the journey can last."""
        device_key = secrets.token_urlsafe(32)
        ttl = _seconds(self.sessions.lifetime + self.sessions.grace)
        entry = {**journey, "expires": (now + self.sessions.lifetime + self.sessions.grace).isoformat()}
        self.store.put(DEVICES, device_key, self._seal(DEVICES, device_key, entry), ttl)
        return device_key

    def moved_here(self, device_key: str, service: str, request_id: str, now: datetime) -> str | None:
        """The journey of `service`'s request `request_id` moved to the browser holding `device_key`: its
        assertion consumer service URL, and the entry is gone (one use). None if not (the entry, if any, stays:
        a question about another request must not spend it)."""
        if not device_key or len(device_key) > 64:
            return None
        entry = self._unseal(DEVICES, device_key, self.store.get(DEVICES, device_key), now)
        if entry is None or str(entry.get("service")) != service:
            return None
        if not hmac.compare_digest(str(entry.get("request")).encode(), request_id.encode()):
            return None
        taken = self._unseal(DEVICES, device_key, self.store.take(DEVICES, device_key), now)
        return str(taken["acs_url"]) if taken is not None else None  # None: a concurrent question had it

    def forget_device(self, device_key: str) -> None:
        """This browser sends its journey on again (or starts anew): the key it holds stops working."""
        if device_key and len(device_key) <= 64:
            self.store.remove(DEVICES, device_key)

    def moved(self, session_id: str | None) -> bool:
        """Whether this (old) session ID's journey was moved to another device."""
        return self.moved_from(session_id) is not None

    def moved_from(self, session_id: str | None) -> str | None:
        """The service of the journey this (old) session ID held, if it was moved to another device."""
        if not session_id or len(session_id) > 64:
            return None
        marker = self.store.get(MOVED, session_id)
        return None if marker is None else marker.decode("utf-8", "replace")
