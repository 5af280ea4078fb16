"""Assertions held beside a session, not in it: the IDP's, encrypted for the matching service, until matching
is over; the matching service's (or, without one, the IDP's), encrypted for the service, until the journey's end.

Why beside it: they are tens of kilobytes of EncryptedAssertion XML, and a session is read and saved several
times between the IDP's answer and the service's; in the session, every one of those reads and saves would
JSON-encode, encrypt, send, decrypt and decode them again. Beside it, they are written once, by the step that
receives them, and read once per use, by the step that sends them on (the matching query, the answer to the
service). The session only says that they are held (`Session.matching_identity`,
`Session.service_assertions_held`).

Why this is as safe as keeping them in the session:
- An entry's key is the ID of the session that holds it (a 256-bit bearer secret), in a namespace of each
  kind's own, and the hub only ever looks one up with the ID of a session it has just loaded: no value a
  client sends addresses an entry, so another session (or no session) cannot read one.
- It is sealed under the hub key like the session, bound to its kind and session ID (`SessionCodec.seal`):
  a blob moved under another session's key, or from one kind to the other, does not open, so an entry
  cannot be replaced from another journey either.
- It is written in the same round trip as the save of the session that says so, before it: when the IDP's
  answer is applied (under the ID the session is renewed to at that moment), or at matching's end (the
  service's). The ID does not change after the answer is applied (the only other renewal, a journey
  moving to another device, happens only before an IDP has answered, and `renew` is given exactly what a
  session holds and keeps it under the new ID).
- It lives no longer than its session: every save of a session that holds it sets its TTL to the session's
  (in the same round trip), matching's end and a cancelled cycle 3 remove the matching service's, the end of
  the journey (or its time-out, when that is shown) removes both with the session.
"""

from __future__ import annotations

import enum

from hub.policy.states import Session
from hub.store.crypto import SessionCodec, SessionCorrupt


class Held(enum.Enum):
    """Which assertions, each kind its own store namespace (and so its own sealing purpose)."""

    FOR_MATCHING_SERVICE = "held-for-matching-service"
    FOR_SERVICE = "held-for-service"


def held_by(session: Session) -> tuple[Held, ...]:
    """The kinds of assertions `session` says are held beside it."""
    kinds = (Held.FOR_MATCHING_SERVICE,) if session.matching_identity is not None else ()
    return kinds + ((Held.FOR_SERVICE,) if session.service_assertions_held else ())


def seal(codec: SessionCodec, kind: Held, session_id: str, assertions: tuple[str, ...]) -> bytes:
    """The entry for `assertions` (EncryptedAssertion XML texts), bound to its kind and session ID."""
    return codec.seal(kind.value, session_id, {"assertions": list(assertions)})


def unseal(codec: SessionCodec, kind: Held, session_id: str, blob: bytes) -> tuple[str, ...]:
    """The assertions `seal` was given; SessionCorrupt if the blob is not this session's entry of this kind."""
    raw = codec.unseal(kind.value, session_id, blob).get("assertions")
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise SessionCorrupt("held entry holds no assertions")
    return tuple(raw)
