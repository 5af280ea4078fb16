"""`/SAML2/SSO`: a service's AuthnRequest (HTTP-POST or HTTP-Redirect) starts a citizen's session."""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, request, url_for

from federation.saml.errors import SamlValidationError
from federation.web import problems
from hub import audit
from hub.frontends import saml
from hub.policy.states import State
from hub.views.pages import problem_page
from hub.web_session import COOKIE_NAME, services, set_session_cookie

log = logging.getLogger("hub.sso")
bp = Blueprint("sso", __name__)


@bp.route("/SAML2/SSO", methods=["GET", "POST"])
def single_sign_on():
    hub = services()
    try:
        started = saml.start_journey(
            hub,
            method=request.method,
            form=request.form,
            query_string=request.query_string.decode("latin-1"),
            browser_session_id=request.cookies.get(COOKIE_NAME),
        )
    except SamlValidationError as exc:
        log.warning("authn request refused: %s", exc.refusal)  # reason:what failed (sender values log-safe)
        return problem_page(problems.BAD_REQUEST)
    except saml.RequestRefused as exc:
        log.warning("authn request refused: %s", exc.reason)
        return problem_page(problems.BAD_REQUEST)
    session, rp = started.session, started.rp
    if started.resumed:  # the same request again from the browser whose journey it started
        return redirect(url_for("journey.start" if session.state is State.SESSION_STARTED else "journey.result"), 303)
    with hub.store.writes() as writes:  # one round trip on Redis; the session is saved first, as before
        hub.sessions.put(session, now=hub.now(), writes=writes)
        saml.journey_saved(hub, started, writes=writes)
    audit.emit(
        "session_started", session_id=session.journey_id, rp_entity_id=rp.entity_id, levels=rp.levels_of_assurance
    )
    return set_session_cookie(redirect(url_for("journey.start"), code=303), session.session_id)
