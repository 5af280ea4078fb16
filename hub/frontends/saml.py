"""The SAML front end: a service's AuthnRequest starts a journey; the journey's end goes back as a signed
Response, in the service's profile (`verify` or `standard`).

Intake: the AuthnRequest (HTTP-POST or HTTP-Redirect binding) is verified per the profile (signature from
the service's configured certificates, Destination, freshness, replay), the assertion consumer service is
taken only from the service's configuration, and the service's levels of assurance come from configuration
too, never from the request.

A request posted again is not always a replay. A hub process can die after recording the request's ID and
before the browser got its session; the browser then posts the very same form again. The replay cache
records each request ID with a digest of the message and (sealed under the hub key) the session it
started and whether that session was saved. The same message again starts the journey afresh while the
session it started has not moved (never saved, because the process died first; or saved and still at its
start, when it is deleted, so one request never has two journeys), and continues it in a browser that
holds that session; once the journey is under way (or gone) it is a replay for anyone else, as is any
other message with the same ID.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

from federation.config import RelyingParty
from federation.saml import authn_request as authn
from federation.saml.bindings import decode_post, encode_post
from federation.saml.constants import SamlProfile
from hub.frontends import PostForm
from hub.frontends.saml_standard import build_standard_response
from hub.frontends.saml_verify import build_verify_response
from hub.policy import eligibility
from hub.policy.states import RpOutcome, Session, State, new_session_id, outcome_for_rp, start_session
from hub.services import HubServices
from hub.store.base import QueuedWrites
from hub.store.crypto import SessionCorrupt

log = logging.getLogger("hub.sso")
REPLAY_NAMESPACE = "authn-request"

MAX_RELAY_STATE = 80  # SAML bindings 3.4.3 / 3.5.3: RelayState MUST NOT exceed 80 bytes
_SAFE_RELAY_STATE = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]*")


class RequestRefused(Exception):
    """The service's request cannot start a journey; `reason` is a short code for the operator's log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Started:
    session: Session
    rp: RelyingParty
    resumed: bool = False  # the browser's own journey for this very request, already begun: not a new one
    replay_key: str = ""
    fingerprint: str = ""


def _check_relay_state(relay_state: str | None) -> None:
    if relay_state is None:
        return
    if len(relay_state.encode()) > MAX_RELAY_STATE:
        raise RequestRefused("relay-state-too-long")
    if not _SAFE_RELAY_STATE.fullmatch(relay_state):
        raise RequestRefused("relay-state-unsafe-characters")


def _fingerprint(method: str, form: Mapping[str, str], query_string: str) -> str:
    """A digest of the message as the browser sent it: the same form posted again has the same one."""
    if method == "POST":
        parts = (form.get("SAMLRequest", ""), form.get("RelayState") or "")
    else:
        parts = (query_string,)
    return hashlib.sha256("\x00".join((method, *parts)).encode("utf-8", "surrogatepass")).hexdigest()


def _binding(hub: HubServices, replay_key: str, session_id: str, *, saved: bool) -> str:
    """The session a request started, sealed: the replay cache never holds a usable session ID."""
    sealed = hub.sessions.codec.seal(REPLAY_NAMESPACE, replay_key, {"s": session_id, "saved": saved})
    return base64.b64encode(sealed).decode()


def _bound_session(hub: HubServices, replay_key: str, binding: str) -> tuple[bool, Session | None]:
    """(whether the session was saved, the session if it still exists)."""
    try:
        bound = hub.sessions.codec.unseal(REPLAY_NAMESPACE, replay_key, base64.b64decode(binding))
        session_id, saved = str(bound["s"]), bool(bound["saved"])
    except (SessionCorrupt, KeyError, ValueError):
        return True, None  # unreadable: treated as a journey gone, so a replay
    return saved, hub.sessions.get(session_id, hub.now())


def journey_saved(hub: HubServices, started: Started, *, writes: QueuedWrites | None = None) -> None:
    """Record that the request's session is saved: from now on it is gone only by moving on or expiring.
    With `writes`, queued after the session's own save in the same `HubStore.writes()` block."""
    binding = _binding(hub, started.replay_key, started.session.session_id, saved=True)
    (writes or hub.replay).settle(REPLAY_NAMESPACE, started.replay_key, started.fingerprint, binding=binding)


def start_journey(
    hub: HubServices,
    *,
    method: str,
    form: Mapping[str, str],
    query_string: str,
    browser_session_id: str | None = None,
) -> Started:
    """A new session for the service's verified AuthnRequest (SamlValidationError or RequestRefused if not);
    `browser_session_id` (the cookie, if the browser sent one) lets a retry continue its own journey."""
    config, now = hub.config, hub.now()
    if method == "POST":
        relay_state = form.get("RelayState")
        _check_relay_state(relay_state)
        data = authn.parse_authn_request(
            decode_post(form.get("SAMLRequest", "")),
            certificates_for_issuer=hub.rp_certificates,
            expected_destination=config.hub.sso_url,
            now=now,
            clock_skew=config.clock_skew,
        )
    else:
        redirect_request = authn.parse_redirect_authn_request(
            query_string,
            certificates_for_issuer=hub.rp_certificates,
            expected_destination=config.hub.sso_url,
            now=now,
            clock_skew=config.clock_skew,
        )
        data, relay_state = redirect_request.request, redirect_request.relay_state
        _check_relay_state(relay_state)
    rp = hub.relying_party(data.issuer)
    if rp is None:  # parse_authn_request refuses unknown issuers; kept for clarity
        raise RequestRefused("unknown-issuer")
    if data.acs_url is not None:
        if data.acs_url not in {acs.url for acs in rp.assertion_consumer_services}:
            raise RequestRefused("acs-url-not-configured")
        acs_url = data.acs_url
    elif data.acs_index is not None:
        acs_url = rp.acs_url(data.acs_index)
        if acs_url is None:
            raise RequestRefused("acs-index-not-configured")
    else:
        acs_url = rp.default_acs_url()
    replay_ttl = int((config.clock_skew * 2).total_seconds()) + 600
    replay_key, fingerprint = f"{rp.entity_id} {data.id}", _fingerprint(method, form, query_string)
    session_id = new_session_id()
    binding = _binding(hub, replay_key, session_id, saved=False)
    seen = hub.replay.claim(REPLAY_NAMESPACE, replay_key, fingerprint, replay_ttl, binding=binding)
    if seen.is_replay:
        raise RequestRefused("request-id-replayed")
    if not seen.first:
        saved, earlier = _bound_session(hub, replay_key, seen.binding)
        if earlier is not None and browser_session_id == earlier.session_id:
            log.info("authn request sent again by the browser of its journey: continued")
            return Started(earlier, rp, resumed=True)
        if (saved and earlier is None) or (earlier is not None and earlier.state is not State.SESSION_STARTED):
            raise RequestRefused("request-id-replayed")  # its journey is under way, or over
        if earlier is not None:
            hub.store.delete(earlier.session_id)
        hub.replay.settle(REPLAY_NAMESPACE, replay_key, fingerprint, binding=binding)
        log.info("authn request sent again before its journey began: started afresh")
    shortlist = eligibility.eligible_idps(rp, config.identity_providers, now=now, for_registration=False)
    ordered = eligibility.shuffled_for_session(shortlist, session_id, key=hub.secret)
    session = start_session(
        session_id=session_id,
        rp_entity_id=rp.entity_id,
        authn_request_id=data.id,
        relay_state=relay_state,
        acs_url=acs_url,
        accepted_levels=rp.levels_of_assurance,
        force_authn=data.force_authn,
        idp_shortlist=tuple(idp.entity_id for idp in ordered),
        now=now,
        lifetime=config.session_lifetime,
    )
    return Started(session, rp, replay_key=replay_key, fingerprint=fingerprint)


def answer(
    hub: HubServices, session: Session, *, outcome: RpOutcome | None = None, service_assertions: tuple[str, ...] = ()
) -> PostForm:
    """The journey's end as the auto-posting form that takes the service its signed Response; `outcome`
    overrides the state's (a citizen who declines to share is a cancellation). `service_assertions`: those
    held beside the session for the service (`hub.store.held`), which a `verify` success relays."""
    rp = hub.relying_party(session.rp_entity_id)
    outcome = outcome or outcome_for_rp(session.state)
    if rp.saml_profile is SamlProfile.STANDARD:
        body = build_standard_response(hub, session, rp, outcome)
    else:
        body = build_verify_response(hub, session, outcome, service_assertions)
    fields = [("SAMLResponse", encode_post(body))]
    if session.relay_state:
        fields.append(("RelayState", session.relay_state))
    return PostForm(action=session.acs_url, fields=tuple(fields))
