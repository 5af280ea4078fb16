"""The citizen's pages: start, what you need, choose a certified company, the outcome, cycle 3.

Every page needs the session cookie; every step that changes the journey is a POST carrying the session's
CSRF token (a link from another site cannot move or end a journey); every failure renders a page that says
what happened and what to do next, with a way back to the service (which then receives the SAML status
that matches).

Steps that ask the matching service run under the journey's lock (`hub.session_lock`): the state that
awaits the answer is saved first, and whichever request finds it so (the redirect after the IDP's answer
or cycle 3, a reload, a second click) asks once, while any other waits and then shows the outcome.
"""

from __future__ import annotations

import logging
import re
from functools import wraps

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from federation.config import DOCUMENTS, PHONES, IdentityProvider
from federation.saml.bindings import encode_post
from federation.web import current_language, problems
from federation.web.i18n import with_language
from federation.web.service_pages import local_return_path
from hub import audit, company_offer, matching_step, remembered, round_trips
from hub.engines import idp as idp_engine
from hub.engines import matching
from hub.frontends import saml
from hub.frontends.oidc.answer import answers_with_identity
from hub.frontends.release import released_items
from hub.handoff import Handoff
from hub.policy import eligibility
from hub.policy import states as s
from hub.policy.breaker import BreakerState
from hub.policy.loa_rules import LevelOfAssuranceError, requested_levels
from hub.policy.suitability import NONE_OF_THESE, CitizenHas, split_by_suitability
from hub.session_lock import journey_step
from hub.store.base import QueuedWrites
from hub.store.held import Held
from hub.store.repository import is_session_id
from hub.views import oidc as oidc_views
from hub.views.pages import problem_page, return_to_service_url
from hub.web_session import (
    COOKIE_NAME,
    bind,
    csrf_valid,
    current_session,
    current_session_with,
    remember_idp_request,
    services,
)

log = logging.getLogger("hub.journey")
bp = Blueprint("journey", __name__)


def with_session(view):
    """Load the cookie's session into `g.session`, or show the 'cookies missing' page."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        return _enter(current_session(), view, *args, **kwargs)

    return wrapper


def _enter(session: s.Session | None, view, *args, **kwargs):
    """`view` with `session` as `g.session`; the 'cookies missing' (or 'moved') page when there is none."""
    if session is None:
        hub = services()
        moved_from = Handoff(hub.store, hub.sessions).moved_from(request.cookies.get(COOKIE_NAME))
        if moved_from is not None:  # this journey went to another device
            from hub.views.handoff import moved_page  # here: that module builds on this one

            return moved_page(moved_from)
        log.info("journey page without a session")
        return problem_page(problems.COOKIES_MISSING)
    if request.method == "POST" and not csrf_valid():
        log.warning("form refused: csrf-token-invalid")
        abort(400)
    g.session = session
    g.rp = services().relying_party(session.rp_entity_id)
    if session.state is s.State.TIMEOUT and request.endpoint not in ("journey.return_to_service",):
        return _outcome_page(session)
    return view(*args, **kwargs)


def _save(session: s.Session, *, writes: QueuedWrites | None = None) -> s.Session:
    services().sessions.put(session, now=services().now(), writes=writes)
    g.session = session
    return session


def _rp_page_context() -> dict:
    rp = g.rp
    return {"rp_name": rp.display_name, "other_ways": rp.other_ways}


@bp.route("/start", methods=["GET", "POST"])
@with_session
def start():
    if request.method == "GET" and remembered.offers_company(g.session):  # back after a pause, or a company's link
        return redirect(url_for("company.continue_with_company"), code=303)
    error = False
    if request.method == "POST":
        answer = request.form.get("verified_before")
        if answer in ("yes", "no") and (g.session.state, s.EventType.JOURNEY_KIND_CHOSEN) in s.TRANSITIONS:
            kind = s.JourneyKind.SIGN_IN if answer == "yes" else s.JourneyKind.REGISTRATION
            _save(s.transition(g.session, s.JourneyKindChosen(kind=kind), services().now()))
            target = "journey.choose_company" if answer == "yes" else "journey.what_you_need"
            return redirect(url_for(target), code=303)
        if answer in ("yes", "no"):  # the journey has moved on since (e.g. the back button)
            return redirect(url_for("journey.result"), code=303)
        error = True
    return render_template("start.html", form_action=url_for("journey.start"), error=error, **_rp_page_context()), (
        400 if error else 200
    )


@bp.get("/what-you-need")
@with_session
def what_you_need():
    return render_template(
        "what_you_need.html",
        continue_url=url_for("journey.about_you"),
        back_url=url_for("journey.start"),
        **_rp_page_context(),
    )


@bp.route("/about-you", methods=["GET", "POST"])
@with_session
def about_you():
    """First-time citizens say what they have, so the company list can say which companies suit them."""
    if request.method == "POST":
        if (g.session.state, s.EventType.ABOUT_YOU_ANSWERED) not in s.TRANSITIONS:
            return redirect(url_for("journey.result"), code=303)
        has = CitizenHas(
            documents=_ticked(request.form.getlist("documents"), DOCUMENTS),
            phones=_ticked(request.form.getlist("phones"), PHONES),
            uk_address={"yes": True, "no": False}.get(request.form.get("uk_address", "")),
        )
        _save(s.transition(g.session, s.AboutYouAnswered(has=has), services().now()))
        return redirect(url_for("journey.choose_company"), code=303)
    return render_template(
        "about_you.html",
        form_action=url_for("journey.about_you"),
        back_url=url_for("journey.what_you_need"),
        documents=DOCUMENTS,
        phones=PHONES,
        none_of_these=NONE_OF_THESE,
        **_rp_page_context(),
    )


def _ticked(values: list[str], vocabulary: tuple[str, ...]) -> frozenset[str] | None:
    """The boxes ticked from `vocabulary`; "none" (ticked alone) is an answer, no box at all is not."""
    known = frozenset(value for value in values if value in vocabulary)
    if known:
        return known
    return frozenset() if NONE_OF_THESE in values else None


def _eligible(session: s.Session):
    hub = services()
    registering = session.journey_kind is s.JourneyKind.REGISTRATION
    offered = []
    for entity_id in session.idp_shortlist:
        idp = hub.identity_provider(entity_id)
        if idp and eligibility.is_eligible(
            idp, g.rp, now=hub.now(), for_registration=registering, levels=session.accepted_levels
        ):
            offered.append(idp)
    return offered


@bp.route("/choose-a-certified-company", methods=["GET", "POST"])
@with_session
def choose_company():
    session = g.session
    if session.state not in (
        s.State.SESSION_STARTED,
        s.State.IDP_SELECTED,
        s.State.AUTHN_FAILED_ERROR,
        s.State.REQUESTER_ERROR,
        s.State.PAUSED_REGISTRATION,
    ):
        return _outcome_page(session)
    registering = session.journey_kind is s.JourneyKind.REGISTRATION
    listed = company_offer.offer(services(), session.journey_id, _eligible(session), registering=registering)
    offered = listed.available
    if not offered and not listed.unavailable:
        return problem_page(problems.NO_ELIGIBLE_COMPANIES, rp=g.rp, return_action=return_to_service_url())
    if request.method == "GET":
        returning = session.journey_kind is s.JourneyKind.SIGN_IN
        likely, unlikely = split_by_suitability(offered, None if returning else session.citizen_has)
        return render_template(
            "choose_company.html",
            form_action=url_for("journey.choose_company"),
            idps=likely,
            unlikely=unlikely,
            unavailable=listed.unavailable,
            returning=returning,
            help_url=url_for("service_pages.help_page", **{"from": request.path}) + "#forgotten-company",
            back_url=url_for("journey.start") if returning else url_for("journey.about_you"),
            another_device_url=url_for("handoff.another_device"),
            **_rp_page_context(),
        )
    chosen = next((idp for idp in offered if idp.entity_id == request.form.get("entity_id")), None)
    down = next((idp for idp in listed.unavailable if idp.entity_id == request.form.get("entity_id")), None)
    if down is not None:  # it went down since the list was shown
        return company_unavailable(down, url_for("journey.choose_company"))
    if chosen is None:
        log.warning("company choice refused: not-offered")
        return problem_page(problems.BAD_REQUEST, rp=g.rp, next_url=url_for("journey.choose_company"))
    return send_to_company(session, chosen, breaker=listed.breakers.get(chosen.entity_id))


def send_to_company(session: s.Session, chosen: IdentityProvider, *, breaker: BreakerState | None = None):
    """Sign the hub's request to `chosen`, move the journey to IDP_SELECTED and render the hop to it.
    `breaker`: the company's breaker as read for the list the citizen chose from (not read again)."""
    hub = services()
    registering = session.journey_kind is s.JourneyKind.REGISTRATION
    if not company_offer.may_send(hub, chosen, registering=registering, breaker=breaker):
        log.info("company not sent to: temporarily-unavailable")
        return company_unavailable(chosen, url_for("journey.choose_company"))
    try:
        levels = requested_levels(g.rp, chosen, session.accepted_levels)
    except LevelOfAssuranceError:
        return problem_page(problems.NO_ELIGIBLE_COMPANIES, rp=g.rp, return_action=return_to_service_url())
    hub_request = idp_engine.authn_request_to(hub, chosen, levels, force_authn=session.force_authn)
    event = s.IdpSelected(idp_entity_id=chosen.entity_id, hub_request_id=hub_request.id)
    with hub.store.writes() as writes:  # one round trip on Redis, in this order
        session = _save(s.transition(session, event, hub.now()), writes=writes)
        remember_idp_request(hub_request.id, session.session_id, writes=writes)
        round_trips.request_sent(hub, hub_request.id, writes=writes)
    kind = session.journey_kind or s.JourneyKind.SIGN_IN
    audit.emit(
        "idp_selected",
        session_id=session.journey_id,
        rp_entity_id=g.rp.entity_id,
        idp_entity_id=chosen.entity_id,
        levels=levels,
        extra={"journey": kind.value},
    )
    return render_template(
        "redirect_to_idp.html",
        action=with_language(hub_request.destination, current_language()),  # the company's pages follow ours
        saml_request=encode_post(hub_request.saml_request),
        idp_name=chosen.display_name,
        language_toggle_path=url_for("journey.choose_company"),
    )


def company_unavailable(idp: IdentityProvider | None, continue_url: str):
    """The page that says a company cannot check the citizen's identity now, and leads on to choose another."""
    return render_template(
        "company_unavailable.html",
        continue_url=continue_url,
        idp_name=idp.display_name if idp is not None else None,
        rp_name=g.rp.display_name,
    )


_OUTCOME_PROBLEMS = {
    s.State.AUTHN_FAILED_ERROR: problems.AUTHN_FAILED,
    s.State.REQUESTER_ERROR: problems.REQUESTER_ERROR,
    s.State.PAUSED_REGISTRATION: problems.PENDING_REGISTRATION,
    s.State.FRAUD_EVENT_DETECTED: problems.FRAUD,
    s.State.MATCHING_SERVICE_REQUEST_ERROR: problems.MATCHING_SERVICE_ERROR,
    s.State.NO_MATCH: problems.NO_MATCH,
    s.State.USER_ACCOUNT_CREATION_FAILED: problems.NO_MATCH,
    s.State.CYCLE_3_DATA_INPUT_CANCELLED: problems.NO_MATCH,
    s.State.TIMEOUT: problems.SESSION_TIMEOUT,
    s.State.SESSION_STARTED: problems.CANCELLED,  # back from the IDP after cancelling
}
_TRY_AGAIN = {
    problems.AUTHN_FAILED,
    problems.REQUESTER_ERROR,
    problems.CANCELLED,
    problems.LOA_TOO_LOW,
}


_SUCCESS_STATES = (s.State.SUCCESSFUL_MATCH, s.State.NON_MATCHING_JOURNEY_SUCCESS, s.State.USER_ACCOUNT_CREATED)


def _hands_over_identity(session: s.Session) -> bool:
    """The journey's end gives the service the citizen's identity (so the citizen agrees first)."""
    if session.front_end is s.FrontEnd.OIDC:
        return answers_with_identity(g.rp, session)
    return session.state in _SUCCESS_STATES


def _outcome_page(session: s.Session):
    if _hands_over_identity(session):  # nothing goes to the service before the citizen agrees
        items = released_items(
            g.rp,
            account_created=session.state is s.State.USER_ACCOUNT_CREATED,
            oidc_claims=session.oidc_request.claims if session.oidc_request else (),
        )
        no_match = session.state is s.State.NO_MATCH
        return render_template(
            "release.html", action=return_to_service_url(), rp_name=g.rp.display_name, items=items, no_match=no_match
        )
    if session.state is s.State.AWAITING_CYCLE3_DATA:
        return redirect(url_for("journey.cycle3"), code=303)
    if session.state is s.State.IDP_SELECTED:
        return redirect(url_for("journey.choose_company"), code=303)
    if session.state is s.State.SESSION_STARTED and session.problem is None:  # not started yet
        return redirect(url_for("journey.start"), code=303)
    if session.state in s.AWAITING_MATCHING_SERVICE:  # the result page asks, or waits for whoever asks
        return redirect(url_for("journey.result"), code=303)
    problem = session.problem or _OUTCOME_PROBLEMS.get(session.state, problems.GENERIC)
    if session.state is s.State.TIMEOUT and not session.timeout_audited:
        audit.emit("session_timeout", session_id=session.journey_id, rp_entity_id=session.rp_entity_id)
        with services().store.writes() as writes:  # what it held beside it goes with the personal data in it
            _save(s.transition(session, s.TimeoutAudited(), services().now()), writes=writes)
            for kind in Held:
                services().sessions.drop(session.session_id, kind, writes=writes)
    context = {"return_action": return_to_service_url()}
    if problem in _TRY_AGAIN:
        context["next_url"] = url_for("journey.choose_company")
    elif problem in (problems.PENDING_REGISTRATION, problems.FRAUD, problems.NO_MATCH):
        context["next_action"] = return_to_service_url()  # their action is "Return to the service"
    idp = services().identity_provider(session.selected_idp_entity_id)
    if idp is not None:
        context["idp_name"] = idp.display_name
    return problem_page(problem, rp=g.rp, **context)


@bp.get("/journey/result")
def result():
    """The journey's outcome, once any matching-service query it awaits has been answered (asked here if need
    be: the redirect after the IDP's answer or cycle 3, a reload, a second click).

    The session is read under the journey's lock, in one round trip with the lock and with the IDP's
    assertions the query sends, so that it is the latest (another request may have moved the journey on
    while this one waited) and is read once; the page is rendered once the lock is released. If the lock
    cannot be had, another request is still asking: the page says so."""
    hub = services()
    session_id = request.cookies.get(COOKIE_NAME, "")
    if not is_session_id(session_id):
        return _enter(None, _result_page)  # the page for a browser without a journey
    with journey_step(hub, session_id, beside=Held.FOR_MATCHING_SERVICE) as step:
        session = step.session if step.held else current_session()
        if step.held and session is not None and session.state in s.AWAITING_MATCHING_SERVICE:
            assertions = hub.sessions.read_held(session, Held.FOR_MATCHING_SERVICE, step.beside)
            session = matching_step.continue_matching(hub, session, assertions, writes=step.writes)
    return _enter(bind(session), _result_page)


def _result_page():
    """The outcome page; 'in progress' while another request is still asking the matching service."""
    if g.session.state in s.AWAITING_MATCHING_SERVICE:
        return problem_page(problems.IN_PROGRESS, rp=g.rp, next_url=url_for("journey.result"))
    return _outcome_page(g.session)


@bp.post("/journey/return-to-service")
def return_to_service():
    """Answer the service in its front end's protocol, then end the session and its personal data.

    A success is sent only when the citizen agreed on the release page; if they decline, the service is
    told they stopped (and receives nothing). The session is read with the assertions held beside it for
    the service, in one round trip."""
    session, held = current_session_with(Held.FOR_SERVICE)
    return _enter(session, _return_to_service, held)


def _return_to_service(service_assertions: tuple[str, ...]):
    session, hub = g.session, services()
    if not s.may_respond_to_rp(session.state):
        return _outcome_page(session)
    outcome = None
    if _hands_over_identity(session):
        choice = request.form.get("release")
        if choice == "decline":
            outcome = s.RpOutcome.NO_AUTHN_CONTEXT
            audit.emit(
                "release_declined",
                session_id=session.journey_id,
                rp_entity_id=session.rp_entity_id,
                idp_entity_id=session.selected_idp_entity_id,
            )
        elif choice != "agree":
            return _outcome_page(session)  # the release page again: the citizen has not chosen
    audit.emit(
        "returned_to_service",
        session_id=session.journey_id,
        rp_entity_id=session.rp_entity_id,
        idp_entity_id=session.selected_idp_entity_id,
        extra={"status": (outcome or s.outcome_for_rp(session.state)).name},
    )
    if session.front_end is s.FrontEnd.OIDC:  # an authorization code, or an error, at the redirect URI
        return oidc_views.answer_client(hub, session, outcome=outcome)
    form = saml.answer(hub, session, outcome=outcome, service_assertions=service_assertions)
    hub.sessions.end(session.session_id)
    log.info(
        "response to service: %s from state %s", (outcome or s.outcome_for_rp(session.state)).name, session.state.name
    )
    values = dict(form.fields)
    return render_template(
        "response_to_rp.html",
        action=form.action,
        saml_response=values["SAMLResponse"],
        relay_state=values.get("RelayState"),
        rp_name=g.rp.display_name,
    )


def _normalise_cycle3(value: str) -> str:
    return re.sub(r"\s+", " ", value.strip().upper())


@bp.route("/cycle3", methods=["GET", "POST"])
@with_session
def cycle3():
    session, hub = g.session, services()
    attribute = g.rp.cycle3_attribute
    if session.state is not s.State.AWAITING_CYCLE3_DATA or attribute is None:
        return _outcome_page(session)
    context = {
        "form_action": url_for("journey.cycle3"),
        "cancel_action": url_for("journey.cycle3_cancel"),
        "attribute": attribute,
        **_rp_page_context(),
    }
    if request.method == "GET":
        return render_template("cycle3.html", **context)
    value = _normalise_cycle3(request.form.get("cycle3_value", ""))
    if not value:
        return render_template("cycle3.html", error="missing", value="", **context), 400
    if len(value) > 64 or not re.fullmatch(attribute.pattern, value):
        return render_template("cycle3.html", error="format", value=value[:64], **context), 400
    with journey_step(hub, session.session_id) as step:
        session = step.session  # None if not held
        if session is not None and session.state is s.State.AWAITING_CYCLE3_DATA:  # else a second submit
            event = s.Cycle3Submitted(matching_request_id=matching.new_query_id(), value=value)
            _save(s.transition(session, event, hub.now()), writes=step.writes)
    return redirect(url_for("journey.result"), code=303)  # which asks the matching service, once


@bp.post("/journey/extend")
@with_session
def extend():
    """More time (WCAG 2.2.1): the session ends a full lifetime from now; back to the page the citizen was on."""
    hub = services()
    back = local_return_path(request.form.get("return_to")) or url_for("journey.result")
    try:
        _save(s.transition(g.session, s.SessionExtended(at=hub.now(), lifetime=hub.config.session_lifetime), hub.now()))
    except s.InvalidTransition as exc:
        log.info("more time refused: %s", exc.reason)
    return redirect(back, code=303)


@bp.post("/cycle3/cancel")
@with_session
def cycle3_cancel():
    hub = services()
    with journey_step(hub, g.session.session_id) as step:
        session = step.session  # None if not held
        if session is None or session.state is not s.State.AWAITING_CYCLE3_DATA:
            return redirect(url_for("journey.result"), code=303)
        session = _save(s.transition(session, s.Cycle3Cancelled(), hub.now()), writes=step.writes)
        hub.sessions.drop(session.session_id, Held.FOR_MATCHING_SERVICE, writes=step.writes)
        audit.emit(
            "cycle3_input_cancelled",
            session_id=session.journey_id,
            rp_entity_id=session.rp_entity_id,
            idp_entity_id=session.selected_idp_entity_id,
        )
    return redirect(url_for("journey.result"), code=303)
