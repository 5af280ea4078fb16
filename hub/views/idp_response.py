"""The identity provider's answer: verified on the cross-site POST, applied in the journey's own browser.

`POST /SAML2/SSO/Response/POST` (from the IDP's site, no session cookie): find the session the Response
claims to answer by its InResponseTo, verify it as that session's selected IDP's answer to exactly that
request (`hub.engines.idp`), park the typed outcome (`hub.idp_answer`) and answer 303 to
`GET /journey/identity-provider-answer?key=...`, where the cookie is present again and the outcome is
applied only if the cookie's session is the one that sent the request. Why: see `hub.idp_answer`.

The POST holds a short lock per request answered (`RESPONSE_LOCK_SECONDS`): the same Response posted twice
at once (two tabs, two hub processes) is checked one post after the other, so the second sees the first's
answer parked and is refused as a replay. A process that dies holding the lock holds it no longer than
that; the citizen's repost then goes through as a retry (see `hub.engines.idp`).
"""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, request, url_for

from federation import xmlsecurity
from federation.saml.bindings import decode_post
from federation.saml.errors import SamlValidationError
from federation.web import problems
from hub import breakers, idp_answer, round_trips
from hub.engines import idp as idp_engine
from hub.frontends import keep_for
from hub.policy import states as s
from hub.services import HubServices
from hub.session_lock import LockedStep, journey_step, step_lock
from hub.views.pages import problem_page
from hub.web_session import (
    COOKIE_NAME,
    IDP_REQUESTS,
    bind,
    current_session,
    services,
    session_for_idp_request,
    set_session_cookie,
)

log = logging.getLogger("hub.idp_response")
bp = Blueprint("idp_response", __name__)
RESPONSE_LOCK_SECONDS = 10


def _refuse(reason: str, session: s.Session | None = None):
    """The refusal page. Its way on: the company list of the journey the Response named, or else this
    browser's own journey (the POST came cross-site without the cookie; the GET that follows has it), e.g.
    after a Response posted again once its answer had been applied."""
    log.warning("idp response refused: %s", reason)
    hub = services()
    rp = hub.relying_party(session.rp_entity_id) if session else None
    next_url = url_for("journey.choose_company") if session else url_for("journey.result")
    return problem_page(problems.BAD_REQUEST, rp=rp, next_url=next_url)


@bp.post("/SAML2/SSO/Response/POST")
def consume_idp_response():
    hub = services()
    try:
        root = xmlsecurity.parse_xml(decode_post(request.form.get("SAMLResponse", "")))
        routing = idp_engine.route(root)
    except SamlValidationError as exc:
        return _refuse(exc.refusal)
    except xmlsecurity.XmlSecurityError as exc:
        return _refuse(f"{exc.reason}:{exc.detail}" if exc.detail else exc.reason)
    except idp_engine.ResponseRefused as exc:
        return _refuse(exc.refusal)
    request_id = routing.in_response_to  # which session sent it, and whether an answer to it was parked:
    reads = ((IDP_REQUESTS, request_id), (idp_answer.ANSWERED, request_id))  # read with the lock, at once
    with step_lock(hub, "idp-response", request_id, ttl_seconds=RESPONSE_LOCK_SECONDS, reads=reads) as step:
        if not step.held:
            return _refuse("idp-response-busy")
        return _consume(hub, root, routing, step)


def _consume(hub: HubServices, root: xmlsecurity.Element, routing: idp_engine.Routing, step: LockedStep):
    """Verify and park the Response (`step`: the lock on its request, with the entries read under it)."""
    indexed, parked_before = step.entries
    session_id = session_for_idp_request(indexed)
    if session_id == "":
        return _refuse("idp-request-already-answered")
    session = hub.sessions.get(session_id, hub.now()) if session_id else None
    if session is None:
        return _refuse("unknown-in-response-to")
    if session.state is s.State.TIMEOUT:
        return redirect(url_for("journey.result"), code=303)
    if session.state is not s.State.IDP_SELECTED or session.hub_request_id != routing.in_response_to:
        return _refuse(f"session-not-awaiting-this-response:{session.state.name}", session)
    idp = hub.identity_provider(session.selected_idp_entity_id)
    rp = hub.relying_party(session.rp_entity_id)
    try:
        outcome = idp_engine.read_idp_response(
            hub,
            root,
            session,
            idp,
            rp,
            keep=keep_for(rp),
            retry_allowed=parked_before is None,  # nothing parked for the request yet
        )
    except idp_engine.ResponseRefused as exc:
        return _refuse(exc.refusal, session)
    round_trips.answer_arrived(hub, routing.in_response_to, idp.entity_id)
    hub.breakers.succeeded(breakers.IDP, idp.entity_id)  # a verified answer: the company is working (a trial's end)
    key = idp_answer.park(hub, session, outcome, writes=step.writes)  # sent before the lock's release
    return redirect(url_for("idp_response.apply_idp_answer", key=key), code=303)


@bp.get("/journey/identity-provider-answer")
def apply_idp_answer():
    """Apply a parked answer if, and only if, this browser holds the journey that asked for it.

    The session is read once, under the journey's lock, when the cookie names the answer's session; any
    other browser's session is read only to lead it back to its own journey."""
    hub = services()
    answer = idp_answer.claim(hub, request.args.get("key", ""))
    if answer is None or not idp_answer.belongs_to(answer, request.cookies.get(COOKIE_NAME)):
        return _not_applied(hub, answer, current_session())
    with journey_step(hub, answer.session_id) as step:
        session = step.session
        if not step.held:
            return redirect(url_for("journey.result"), code=303)
        if session is None:  # the cookie's session has gone: as if there were none
            return _not_applied(hub, answer, None)
        bind(session)
        if session.state is not s.State.IDP_SELECTED or session.hub_request_id != answer.hub_request_id:
            log.warning("idp answer refused: session-not-awaiting-this-answer:%s", session.state.name)
            return redirect(url_for("journey.result"), code=303)
        try:
            session = idp_answer.apply(hub, session, answer.outcome, writes=step.writes)  # one round trip, in order
        except s.InvalidTransition as exc:
            log.warning("idp answer refused: invalid-transition:%s", exc.reason)
            return redirect(url_for("journey.result"), code=303)
    bind(session)
    log.info("idp answer applied: %s (session renewed)", answer.outcome.kind)
    return set_session_cookie(redirect(url_for("journey.result"), code=303), session.session_id)


def _not_applied(hub: HubServices, answer: idp_answer.ParkedAnswer | None, session: s.Session | None):
    """The answer is unknown or used, or this browser does not hold its journey: where this browser goes."""
    if answer is None:
        log.warning("idp answer refused: unknown-or-used-key")
        if session is not None:  # e.g. a reload: show where this browser's journey is
            return redirect(url_for("journey.result"), code=303)
        return problem_page(problems.COOKIES_MISSING)
    log.warning("idp answer refused: not-the-browser-that-started-the-journey")
    rp = hub.relying_party(answer.rp_entity_id)
    own_journey = url_for("journey.result") if session is not None else None
    return problem_page(
        problems.ANSWER_FROM_ANOTHER_BROWSER,
        rp=rp,
        next_url=own_journey,
        rp_home_url=rp.service_home_url if rp and not own_journey else None,
    )
