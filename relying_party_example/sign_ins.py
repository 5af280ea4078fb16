"""Sign-in attempts and the hub's answers, kept server-side so that the hub may be on another site.

The hub's answer arrives as a POST from the hub's page to our ACS. When the hub is on another site (as in
real life) that POST is cross-site, and the browser does not send our SameSite=Lax cookie with it. So the
ACS does what a careful hub does with its identity providers' answers:

1. `/start` records the attempt under its request ID: the RelayState sent with it and which browser
   session started it (`BrowserSession.ref`, a digest of the session ID), for as long as a hub session
   lasts and the hub still answers it once timed out (the federation's session lifetime, clock skew, and
   the 15 minutes the hub keeps a timed-out session);
2. the ACS finds the attempt by the Response's InResponseTo and takes it (one answer per attempt,
   whatever happens next), checks the RelayState, verifies the signed Response with the client library,
   and parks what it says under a fresh one-time key (`ANSWER_TTL_SECONDS`); it answers 303 to a GET of
   `<acs>/continue?key=...`;
3. that GET is a top-level navigation, so the cookie is back. The answer is taken (once, whatever happens
   next) and applied only if the cookie names the session that started the attempt (constant-time
   comparison); otherwise it is gone for good and the citizen is asked to start again.

4. unless the citizen moved the journey to another device at the hub (a code entered on, say, their phone
   and confirmed on the laptop that started): then the answer arrives in a browser we never saw. Rather
   than refusing at once, the GET keeps the answer under a fresh nonce bound to *this* browser's session
   (`await_hub`, `HUB_CHECK_TTL_SECONDS`) and sends the browser to the hub, which answers at our ACS with
   a signed statement (`federation.moved_journey`): `moved` is true only if this very browser received
   that journey at the hub, and the statement echoes our request ID and nonce. The answer is then applied
   here (`take_awaiting`, once), and otherwise never.

So a Response POSTed from a browser that did not start the attempt (an attacker's own sign-in pushed into
the citizen's browser, or the citizen's Response carried to another browser) is never applied. The key is
single use and taken before any page is rendered, so it is worthless once seen (history, a Referer; the
service sends Referrer-Policy: same-origin, so no other site is sent one anyway). What is kept of the
answer (`result_of`): the scenario (and, when not signed in, the hub's return code and offer), the
citizen's identifier at the service, the level and, for a `standard` service, the attributes it listed in
its config, for the signed-in page; never the verify
profile's matching dataset or account-creation attributes, which this example does not use. The session
holding them lives server-side only and ends at sign-out or after the session lifetime.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub_client import Outcome
from relying_party_example.store import Store

__all__ = ["ANSWER_TTL_SECONDS", "HUB_CHECK_TTL_SECONDS", "Answer", "Attempt", "AwaitingHub", "SignIns", "result_of"]

ANSWER_TTL_SECONDS = 60  # the browser follows the 303 at once; a minute allows for a slow connection
HUB_CHECK_TTL_SECONDS = 120  # two automatic hops, to the hub and back
_KEY_BYTES = 32
_KEY_FORM = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class Attempt:
    request_id: str
    relay_state: str
    session_ref: str


@dataclass(frozen=True)
class Answer:
    request_id: str
    session_ref: str
    result: dict[str, Any]


@dataclass(frozen=True)
class AwaitingHub:
    """An answer that arrived in another browser, kept while the hub says whether the journey moved there."""

    request_id: str
    browser_ref: str  # the session of the browser that was sent to the hub (not the one that started)
    result: dict[str, Any]


def result_of(outcome: Outcome) -> dict[str, Any]:
    """What the session keeps of the hub's answer (JSON: the store's values are JSON objects)."""
    level, code, offer = outcome.level_of_assurance, outcome.return_code, outcome.offer
    return {
        "scenario": outcome.scenario.value,
        "return_code": code.value if code else None,  # why not signed in: the page is worded from it
        "offer": offer.value if offer else None,
        "identifier": outcome.identifier,
        "level": level.name if level else None,
        "attributes": [
            {"name": attribute.name, "values": list(attribute.values), "verified": attribute.verified}
            for attribute in outcome.attributes
        ],
    }


class SignIns:
    """The attempts and parked answers of every service of the app, each service in its own namespace."""

    def __init__(self, store: Store, attempt_ttl_seconds: int, answer_ttl_seconds: int = ANSWER_TTL_SECONDS) -> None:
        self._store = store
        self._attempt_ttl = attempt_ttl_seconds
        self._answer_ttl = answer_ttl_seconds

    def begin(self, service: str, request_id: str, relay_state: str, session_ref: str) -> None:
        value = {"request_id": request_id, "relay_state": relay_state, "session_ref": session_ref}
        self._store.put(f"attempt:{service}", request_id, value, self._attempt_ttl)

    def take_attempt(self, service: str, request_id: str) -> Attempt | None:
        value = self._store.take(f"attempt:{service}", request_id)
        return Attempt(**value) if value else None

    def park(self, service: str, attempt: Attempt, result: Mapping[str, Any]) -> str:
        """Keep the verified answer for the session that started `attempt`; returns its one-time key."""
        key = secrets.token_urlsafe(_KEY_BYTES)
        value = {"request_id": attempt.request_id, "session_ref": attempt.session_ref, "result": dict(result)}
        self._store.put(f"answer:{service}", key, value, self._answer_ttl)
        return key

    def take_answer(self, service: str, key: str) -> Answer | None:
        if not _KEY_FORM.match(key):
            return None
        value = self._store.take(f"answer:{service}", key)
        return Answer(**value) if value else None

    def await_hub(self, service: str, answer: Answer, browser_ref: str) -> str:
        """Keep `answer` for the browser with session `browser_ref` until the hub's word; the nonce to send."""
        nonce = secrets.token_urlsafe(_KEY_BYTES)
        value = {"request_id": answer.request_id, "browser_ref": browser_ref, "result": answer.result}
        self._store.put(f"awaiting-hub:{service}", nonce, value, HUB_CHECK_TTL_SECONDS)
        return nonce

    def take_awaiting(self, service: str, nonce: str) -> AwaitingHub | None:
        if not _KEY_FORM.match(nonce):
            return None
        value = self._store.take(f"awaiting-hub:{service}", nonce)
        return AwaitingHub(**value) if value else None
