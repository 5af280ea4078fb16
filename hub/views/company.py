"""Coming back to a company: after a paused registration, and from a company's own "start here" link.

- `GET /continue-with-company`: where the start page sends a new journey whose browser remembers a company
  for this service (`hub.policy.remembered`): "continue with <company>" (a POST, which sends the citizen there) or
  "choose a different company". If the company can no longer serve the service, the citizen is told so
  and goes on to the usual start.
- `GET /start-with-company?idp=...&service=...`: a company's site links here. The hub checks both are in
  the federation and the company may serve the service, says "<company> will check your identity for
  <service>" and, on Continue, remembers the company (for one journey) and sends the citizen to the
  service's configured `single_idp_start_url`.
- After every request that moved a journey, the cookie is set, kept or cleared as the policy says.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, g, redirect, render_template, request, url_for

from federation.config import IdentityProvider, RelyingParty
from hub import breakers
from hub.policy import eligibility
from hub.policy import remembered as policy
from hub.policy import states as s
from hub.remembered import clear, read, write
from hub.views.journey import company_unavailable, send_to_company, with_session
from hub.web_session import services

log = logging.getLogger("hub.company")
bp = Blueprint("company", __name__)


@bp.after_app_request
def remember_after_step(response: Response) -> Response:
    """Set, keep or clear the browser's remembered company after a step of its journey."""
    session = g.get("session")
    if session is None:
        return response
    hub = services()
    decision = policy.after_step(read(request, hub.sessions.codec), session, hub.now())
    if decision.change is policy.Change.SET and decision.remembered is not None:
        write(response, decision.remembered, hub.sessions.codec, secure=request.is_secure, now=hub.now())
    elif decision.change is policy.Change.CLEAR:
        clear(response, secure=request.is_secure)
    return response


def _remembered_idp(session: s.Session) -> tuple[policy.RememberedCompany | None, IdentityProvider | None]:
    """The remembered company if it applies to this journey and may serve its service now."""
    hub = services()
    remembered = read(request, hub.sessions.codec)
    if remembered is None or not remembered.applies_to(session.rp_entity_id, hub.now()):
        return None, None
    idp = hub.identity_provider(remembered.idp_entity_id)
    if idp is None or idp.entity_id not in session.idp_shortlist:
        return remembered, None
    if not eligibility.is_eligible(idp, g.rp, now=hub.now(), for_registration=False, levels=session.accepted_levels):
        return remembered, None
    return remembered, idp


@bp.route("/continue-with-company", methods=["GET", "POST"])
@with_session
def continue_with_company():
    session, hub = g.session, services()
    if session.state is not s.State.SESSION_STARTED or session.problem is not None:
        return redirect(url_for("journey.result"), code=303)  # the journey has moved on (e.g. a reload)
    remembered, idp = _remembered_idp(session)
    if remembered is None:
        return redirect(url_for("journey.start"), code=303)
    if idp is None:
        log.info("remembered company not offered: not-eligible")
        page = company_unavailable(hub.identity_provider(remembered.idp_entity_id), url_for("journey.start"))
        return clear(Response(page), secure=request.is_secure)
    if not hub.breakers.available(breakers.IDP, idp.entity_id):  # down for now: the cookie stays for next time
        log.info("remembered company not offered: temporarily-unavailable")
        g.session = s.transition(session, s.JourneyKindChosen(kind=s.JourneyKind.SIGN_IN), hub.now())
        hub.sessions.put(g.session, now=hub.now())
        return company_unavailable(idp, url_for("journey.choose_company"))
    if request.method == "POST":
        kind = s.JourneyKindChosen(kind=s.JourneyKind.SIGN_IN)  # they have been to this company before
        return send_to_company(s.transition(session, kind, hub.now()), idp)  # which saves the journey
    return render_template(
        "continue_with_company.html",
        form_action=url_for("company.continue_with_company"),
        choose_another_url=url_for("company.choose_another"),
        idp_name=idp.display_name,
        rp_name=g.rp.display_name,
        paused=remembered.reason is policy.Reason.PAUSED,
    )


@bp.get("/continue-with-company/choose-another")
@with_session
def choose_another():
    """The citizen would rather choose: forget the remembered company for this service, then the usual start."""
    response = redirect(url_for("journey.start"), code=303)
    remembered = read(request, services().sessions.codec)
    if remembered is not None and remembered.rp_entity_id == g.session.rp_entity_id:
        clear(response, secure=request.is_secure)
    return response


def _find_idp(value: str) -> IdentityProvider | None:
    config = services().config
    return next((idp for idp in config.identity_providers if value in (idp.entity_id, idp.name)), None)


def _find_service(value: str) -> RelyingParty | None:
    config = services().config
    return next((rp for rp in config.relying_parties if value in (rp.entity_id, rp.name)), None)


def _link_problem(problem: str, *, rp: RelyingParty | None = None, idp: IdentityProvider | None = None):
    log.info("single-company start refused: %s", problem)
    body = render_template(
        "start_with_company_problem.html",
        problem=problem,
        rp_name=rp.display_name if rp else None,
        idp_name=idp.display_name if idp else None,
        rp_home_url=rp.service_home_url if rp else None,
    )
    return Response(body, status=400 if problem in ("unknown_company", "unknown_service") else 200)


@bp.route("/start-with-company", methods=["GET", "POST"])
def start_with_company():
    """A company's link to a service through the hub, with that company preselected for the journey."""
    hub = services()
    values = request.form if request.method == "POST" else request.args
    idp = _find_idp(values.get("idp", "")[:1024])
    rp = _find_service(values.get("service", "")[:1024])
    if idp is None:
        return _link_problem("unknown_company", rp=rp)
    if rp is None:
        return _link_problem("unknown_service", idp=idp)
    if rp.single_idp_start_url is None:
        return _link_problem("service_not_taking_part", rp=rp, idp=idp)
    if not eligibility.is_eligible(idp, rp, now=hub.now(), for_registration=False) or not hub.breakers.available(
        breakers.IDP, idp.entity_id
    ):
        return _link_problem("company_cannot_serve", rp=rp, idp=idp)
    if request.method == "GET":
        return render_template(
            "start_with_company.html",
            form_action=url_for("company.start_with_company"),
            idp_entity_id=idp.entity_id,
            rp_entity_id=rp.entity_id,
            idp_name=idp.display_name,
            rp_name=rp.display_name,
        )
    # No CSRF token here (there is no session yet): a forged POST could at most preselect a company for one
    # journey, which the citizen sees and can decline on the next page.
    response = redirect(rp.single_idp_start_url, code=303)
    remembered = policy.single_idp(idp.entity_id, rp.entity_id, hub.now())
    log.info("single-company start: company remembered for one journey")
    return write(response, remembered, hub.sessions.codec, secure=request.is_secure, now=hub.now())
