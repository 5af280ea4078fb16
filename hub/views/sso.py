"""`/SAML2/SSO`: a service's AuthnRequest (HTTP-POST or HTTP-Redirect) starts a citizen's session."""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from flask import Blueprint, redirect, request, url_for

from federation.saml import authn_request as authn
from federation.saml.bindings import decode_post
from federation.saml.errors import SamlValidationError
from federation.web import problems
from hub import audit
from hub.policy import eligibility
from hub.policy.states import start_session
from hub.views.pages import problem_page
from hub.web_session import services, set_session_cookie

log = logging.getLogger("hub.sso")
bp = Blueprint("sso", __name__)

MAX_RELAY_STATE = 80  # SAML bindings 3.4.3 / 3.5.3: RelayState MUST NOT exceed 80 bytes
_SAFE_RELAY_STATE = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]*")


class RequestRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _check_relay_state(relay_state: str | None) -> None:
    if relay_state is None:
        return
    if len(relay_state.encode()) > MAX_RELAY_STATE:
        raise RequestRefused("relay-state-too-long")
    if not _SAFE_RELAY_STATE.fullmatch(relay_state):
        raise RequestRefused("relay-state-unsafe-characters")


@bp.route("/SAML2/SSO", methods=["GET", "POST"])
def single_sign_on():
    hub = services()
    config, now = hub.config, hub.now()
    try:
        if request.method == "POST":
            relay_state = request.form.get("RelayState")
            _check_relay_state(relay_state)
            data = authn.parse_authn_request(
                decode_post(request.form.get("SAMLRequest", "")),
                certificates_for_issuer=hub.rp_certificates,
                expected_destination=config.hub.sso_url,
                now=now,
                clock_skew=config.clock_skew,
            )
        else:
            redirect_request = authn.parse_redirect_authn_request(
                request.query_string.decode("latin-1"),
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
    except SamlValidationError as exc:
        log.warning("authn request refused: %s (%s)", exc.reason, exc)
        return problem_page(problems.BAD_REQUEST)
    except RequestRefused as exc:
        log.warning("authn request refused: %s", exc.reason)
        return problem_page(problems.BAD_REQUEST)

    shortlist = eligibility.eligible_idps(rp, config.identity_providers, now=now, for_registration=False)
    session = start_session(
        rp_entity_id=rp.entity_id,
        authn_request_id=data.id,
        relay_state=relay_state,
        acs_url=acs_url,
        accepted_levels=rp.levels_of_assurance,
        force_authn=data.force_authn,
        idp_shortlist=(),
        now=now,
        lifetime=config.session_lifetime,
    )
    ordered = eligibility.shuffled_for_session(shortlist, session.session_id, key=hub.secret)
    session = replace(session, idp_shortlist=tuple(idp.entity_id for idp in ordered))
    hub.sessions.put(session, now=now)
    audit.emit(
        "session_started",
        session_id=session.journey_id,
        rp_entity_id=rp.entity_id,
        levels=rp.levels_of_assurance,
    )
    response = redirect(url_for("journey.start"), code=303)
    return set_session_cookie(response, session.session_id)
