"""The OpenID Connect provider's endpoints: thin views over `hub.frontends.oidc`.

`/.well-known/openid-configuration`, `/.well-known/jwks.json`, `/authorize` (starts a journey: the same
pages as a SAML service's), `/token`, `/userinfo`, `/logout` (end session) and `/trustmark`. A hub without
OIDC signing keys answers 404 at all of them. Protocol errors are JSON (token, userinfo) or a redirect to
the client's registered URI (authorize); a request that cannot be redirected gets a page.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, jsonify, make_response, redirect, render_template, request, url_for

from federation import vectors_of_trust as vot
from federation.logsafe import log_safe
from federation.web import i18n, problems
from hub import audit
from hub.frontends.oidc import NoRedirect, OAuthError, logout, provider, tokens
from hub.frontends.oidc import answer as oidc_answer
from hub.frontends.oidc import authorize as intake
from hub.frontends.oidc import userinfo as userinfo_endpoint
from hub.frontends.oidc.client_auth import JwksCache
from hub.policy import states as s
from hub.services import HubServices
from hub.views.pages import problem_page
from hub.web_session import services, set_session_cookie

log = logging.getLogger("hub.oidc")
bp = Blueprint("oidc", __name__)

LOGIN_COOKIE = "hub_oidc_sid"  # the citizen's OIDC login session at the hub, for logout
_jwks_cache = JwksCache()


def _hub() -> HubServices:
    hub = services()
    if hub.oidc is None:
        abort(404)
    return hub


def _json(body: dict, status: int = 200, *, cache: str = "no-store") -> Response:
    response = make_response(jsonify(body), status)
    response.headers["Cache-Control"] = cache
    if cache == "no-store":
        response.headers["Pragma"] = "no-cache"
    return response


def _error(exc: OAuthError) -> Response:
    response = _json(exc.to_dict(), exc.status)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = f'Bearer error="{exc.error}"'
    return response


@bp.get(provider.DISCOVERY_PATH)
def discovery():
    return _json(_hub().oidc.discovery(), cache="public, max-age=3600")


@bp.get(provider.JWKS_PATH)
def jwks():
    return _json(_hub().oidc.jwks(), cache="public, max-age=3600")


@bp.get(provider.TRUSTMARK_PATH)
def trustmark():
    """The trustmark named by `vtm`: which vector components this hub may assert (RFC 8485 5)."""
    oidc = _hub().oidc
    body = {
        "idp": oidc.issuer,
        "trustmark_provider": oidc.issuer,
        "C": list(vot.CREDENTIALS),
        "P": list(vot.CONFIDENCE),
    }
    return _json(body, cache="public, max-age=3600")


@bp.route(provider.AUTHORIZE_PATH, methods=["GET", "POST"])
def authorize():
    hub = _hub()
    params = request.args if request.method == "GET" else request.form
    try:
        rp, redirect_uri = intake.client_and_redirect(hub, params)
    except NoRedirect as exc:
        log.warning("authorization request refused: %s", exc.reason)
        return problem_page(problems.BAD_REQUEST)
    try:
        oidc_request = intake.validate(hub, params, rp, redirect_uri)
    except OAuthError as exc:
        log.info("authorization request refused: %s (%s)", exc.error, log_safe(exc.description))
        state = params.get("state") if len(params.getlist("state")) == 1 else None
        state = state if state and len(state) <= intake.MAX_TEXT else None
        url = oidc_answer.error_redirect(hub, rp.entity_id, redirect_uri, state, exc)
        return redirect(url, code=303)
    session = intake.start_journey(hub, rp, oidc_request).session
    hub.sessions.put(session, now=hub.now())
    audit.emit(
        "session_started",
        session_id=session.journey_id,
        rp_entity_id=rp.entity_id,
        levels=session.accepted_levels,
        extra={"front_end": "oidc", "vtr": " ".join(oidc_request.vtr)},
    )
    response = set_session_cookie(redirect(url_for("journey.start"), code=303), session.session_id)
    if oidc_request.ui_locales:  # the journey's pages in the language the client asked for
        response.set_cookie(
            i18n.LANGUAGE_COOKIE, oidc_request.ui_locales, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
            secure=request.is_secure,
        )  # fmt: skip
    return response


def answer_client(hub: HubServices, session: s.Session, *, outcome: s.RpOutcome | None = None) -> Response:
    """The journey's end for an OIDC client (from `POST /journey/return-to-service`): 303 to its redirect URI.
    `outcome` overrides the state's, as for a SAML service."""
    answer = oidc_answer.answer(hub, session, browser_sid=request.cookies.get(LOGIN_COOKIE), outcome=outcome)
    hub.sessions.end(session.session_id)
    shown = outcome or s.outcome_for_rp(session.state)
    log.info("answer to client: %s from state %s", shown.name, session.state.name)
    response = redirect(answer.url, code=303)
    if answer.sid is not None:
        lifetime = int(hub.config.session_lifetime.total_seconds())
        response.set_cookie(
            LOGIN_COOKIE, answer.sid, max_age=lifetime, httponly=True, samesite="Lax", secure=request.is_secure
        )
    return response


@bp.post(provider.TOKEN_PATH)
def token():
    hub = _hub()
    try:
        return _json(tokens.exchange(hub, request.form, _jwks_cache))
    except OAuthError as exc:
        log.info("token request refused: %s", exc.error)
        return _error(exc)


@bp.route(provider.USERINFO_PATH, methods=["GET", "POST"])
def userinfo():
    hub = _hub()
    try:
        token = userinfo_endpoint.bearer_token(request.headers.get("Authorization"))
        return _json(userinfo_endpoint.userinfo(hub, token))
    except OAuthError as exc:
        return _error(exc)


@bp.route(provider.END_SESSION_PATH, methods=["GET", "POST"])
def end_session():
    """RP-initiated logout. Without an `id_token_hint` the citizen confirms first (a POST with a token bound
    to their hub login session), so a link from another site cannot sign them out of every service."""
    hub = _hub()
    params = request.args if request.method == "GET" else request.form
    browser_sid = request.cookies.get(LOGIN_COOKIE)
    hint = params.get("id_token_hint")
    if not hint and params.get("post_logout_redirect_uri"):  # whose registered URI? never an open redirect
        log.warning("logout refused: post-logout-redirect-uri-without-id-token-hint")
        return problem_page(problems.BAD_REQUEST)
    if not hint and not logout.confirmed(hub, browser_sid, params.get("confirm", "")):
        if not browser_sid:  # nothing to end in this browser
            return make_response(render_template("signed_out.html"))
        token = logout.confirmation_token(hub, browser_sid)
        return make_response(render_template("signed_out.html", confirm_action=url_for(".end_session"), token=token))
    try:
        done = logout.end_session(
            hub,
            id_token_hint=hint,
            post_logout_redirect_uri=params.get("post_logout_redirect_uri"),
            state=params.get("state"),
            browser_sid=browser_sid,
        )
    except NoRedirect as exc:
        log.warning("logout refused: %s", exc.reason)
        return problem_page(problems.BAD_REQUEST)
    response = redirect(done.redirect, code=303) if done.redirect else make_response(render_template("signed_out.html"))
    response.delete_cookie(LOGIN_COOKIE)
    return response
