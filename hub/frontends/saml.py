"""The SAML front end: a service's AuthnRequest starts a journey; the journey's end goes back as a signed
Response, in the service's profile (`verify` or `standard`).

Intake: the AuthnRequest (HTTP-POST or HTTP-Redirect binding) is verified per the profile (signature from
the service's configured certificates, Destination, freshness, replay), the assertion consumer service is
taken only from the service's configuration, and the service's levels of assurance come from configuration
too, never from the request.
"""

from __future__ import annotations

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
from hub.policy.states import RpOutcome, Session, new_session_id, outcome_for_rp, start_session
from hub.services import HubServices

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


def _check_relay_state(relay_state: str | None) -> None:
    if relay_state is None:
        return
    if len(relay_state.encode()) > MAX_RELAY_STATE:
        raise RequestRefused("relay-state-too-long")
    if not _SAFE_RELAY_STATE.fullmatch(relay_state):
        raise RequestRefused("relay-state-unsafe-characters")


def start_journey(hub: HubServices, *, method: str, form: Mapping[str, str], query_string: str) -> Started:
    """A new session for the service's verified AuthnRequest (SamlValidationError or RequestRefused if not)."""
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
    if not hub.replay.add_if_absent("authn-request", f"{rp.entity_id} {data.id}", replay_ttl):
        raise RequestRefused("request-id-replayed")
    session_id = new_session_id()
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
    return Started(session, rp)


def answer(hub: HubServices, session: Session, *, outcome: RpOutcome | None = None) -> PostForm:
    """The journey's end as the auto-posting form that takes the service its signed Response; `outcome`
    overrides the state's (a citizen who declines to share is a cancellation)."""
    rp = hub.relying_party(session.rp_entity_id)
    outcome = outcome or outcome_for_rp(session.state)
    if rp.saml_profile is SamlProfile.STANDARD:
        body = build_standard_response(hub, session, rp, outcome)
    else:
        body = build_verify_response(hub, session, outcome)
    fields = [("SAMLResponse", encode_post(body))]
    if session.relay_state:
        fields.append(("RelayState", session.relay_state))
    return PostForm(action=session.acs_url, fields=tuple(fields))
