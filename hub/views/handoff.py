"""Continue on another device: the pages of `hub.handoff`.

First device (holds the journey): `GET/POST /journey/another-device` shows a code and its QR code (POST makes
a new one), or, once another device has entered it, asks "is this you?" (`POST .../answer`: yes or no).
Second device: `GET/POST /continue` takes the code (guesses rate-limited per client), then
`GET /continue/waiting` waits for the first device's yes and moves the journey into this browser, with a
device key in a cookie (`DEVICE_COOKIE`). At the end, the service that receives the answer in this browser
asks here whether the journey moved to it (`GET /continue/sign-in-here`, `federation.moved_journey`): the hub
answers with a signed statement, `moved: true` only in the browser holding the device key for that request.
"""

from __future__ import annotations

import functools
import logging
from urllib.parse import urlencode

import segno
from flask import Blueprint, Response, current_app, g, redirect, render_template, request, url_for
from markupsafe import Markup

from federation import moved_journey
from federation.web import current_language, problems
from federation.web.i18n import with_language
from hub import audit
from hub import handoff as store_steps
from hub.policy import handoff as policy
from hub.rate_limit import MemoryRateCounter, RateLimiter, RedisRateCounter
from hub.session_lock import journey_lock
from hub.store.redis import RedisStore
from hub.views.journey import with_session
from hub.views.pages import problem_page
from hub.web_session import services, set_session_cookie

log = logging.getLogger("hub.handoff")
bp = Blueprint("handoff", __name__)

CLAIM_COOKIE = "hub_handoff"
DEVICE_COOKIE = "hub_moved_journey"  # the journey arrived in this browser: the service may apply its answer here
_ENTER_CODE = "handoff.enter_code"


def steps() -> store_steps.Handoff:
    hub = services()
    return store_steps.Handoff(hub.store, hub.sessions)


def _guess_limiter() -> RateLimiter:
    """At most GUESSES_PER_MINUTE code entries per client, counted where every hub process sees them."""
    limiter = current_app.extensions.get("hub-code-guesses")
    if limiter is None:
        hub = services()
        if hub.rate_limiter is not None:
            counter = hub.rate_limiter.counter
        elif isinstance(hub.store, RedisStore):
            counter = RedisRateCounter.for_store(hub.store)
        else:
            counter = MemoryRateCounter()
        limiter = RateLimiter(
            counter, per_window=policy.GUESSES_PER_MINUTE, secret=hub.secret, endpoints=(_ENTER_CODE,)
        )
        current_app.extensions["hub-code-guesses"] = limiter
    return limiter


@functools.lru_cache(maxsize=256)
def _qr_svg(url: str) -> Markup:
    """The link as an inline SVG QR code (no script, no style: fine under the hub's CSP).

    About 10 ms of CPU each (`tests/bench/handoff_bench.py`), so each link's is drawn once per process: the
    page is reloaded while the citizen picks up their phone."""
    svg = segno.make(url, error="m").svg_inline(scale=5, title=None, dark="#0b0c0c", light="#ffffff")
    return Markup(svg)  # noqa: S704 - segno's own SVG, from a URL the hub built


def _continue_url(code: str) -> str:
    """The link in the QR code: the hub's public address, the code, and the language of these pages."""
    link = services().config.hub.base_url.rstrip("/") + url_for("handoff.enter_code", code=code)
    return with_language(link, current_language())


@bp.route("/journey/another-device", methods=["GET", "POST"])
@with_session
def another_device():
    session, hub = g.session, services()
    if steps().pending(session.session_id, hub.now()):
        return render_template("handoff_confirm.html", form_action=url_for("handoff.answer"))
    if not policy.may_move(session.state):
        return redirect(url_for("journey.result"), code=303)
    if request.method == "POST":
        steps().issue(session, hub.now())
        return redirect(url_for("handoff.another_device"), code=303)
    issued = steps().issued(session.session_id, hub.now())
    if issued is None:
        return render_template(
            "handoff_offer.html",
            form_action=url_for("handoff.another_device"),
            back_url=url_for("journey.choose_company"),
        )
    link = _continue_url(issued.code)
    return render_template(
        "handoff_code.html",
        code=policy.display_code(issued.code),
        qr_svg=_qr_svg(link),
        continue_address=link.partition("?")[0],  # to type: the code is shown beside it
        minutes=int(policy.CODE_LIFETIME.total_seconds() // 60),
        check_url=url_for("handoff.another_device"),
        form_action=url_for("handoff.another_device"),
        back_url=url_for("journey.choose_company"),
    )


@bp.post("/journey/another-device/answer")
@with_session
def answer():
    """The first device's yes or no to another device's request to continue the journey."""
    session, hub = g.session, services()
    if request.form.get("answer") != "yes":
        steps().decline(session.session_id, hub.now())
        log.info("journey move declined")
        return redirect(url_for("journey.choose_company"), code=303)  # where the move was offered
    with journey_lock(hub, session.session_id) as (_, session):  # not while another step runs; None if not held
        if session is None or not policy.may_move(session.state):
            steps().decline(g.session.session_id, hub.now())
            return redirect(url_for("journey.result"), code=303)
        moved = steps().confirm(session, hub.now())
    if moved is None:
        return redirect(url_for("handoff.another_device"), code=303)  # nothing (left) to confirm
    audit.emit("journey_moved", session_id=moved.journey_id, rp_entity_id=moved.rp_entity_id)
    log.info("journey moved to another device")
    g.pop("session", None)  # this browser no longer holds a journey
    response = Response(moved_page(moved.rp_entity_id))
    steps().forget_device(request.cookies.get(DEVICE_COOKIE, ""))  # had it come here from a third device
    response.delete_cookie(DEVICE_COOKIE, path="/")
    return response


def moved_page(rp_entity_id: str | None) -> str:
    """The first device's page once its journey has moved: where it went, and the way back to the service."""
    rp = services().relying_party(rp_entity_id) if rp_entity_id else None
    return render_template(
        "handoff_moved.html",
        rp_name=rp.display_name if rp else None,
        rp_home_url=rp.service_home_url if rp else None,
    )


@bp.route("/continue", methods=["GET", "POST"])
def enter_code():
    """The second device: enter (or follow a link with) the code shown on the first."""
    hub = services()
    if request.method == "GET":
        prefill = policy.normalise_code(request.args.get("code", ""))
        return render_template(
            "handoff_enter.html",
            form_action=url_for("handoff.enter_code"),
            value=policy.display_code(prefill) if prefill else "",
        )
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        # a code typed on another site's page and posted here: never the citizen's own step on this device
        log.warning("code entry refused: cross-site")
        return problem_page(problems.BAD_REQUEST, next_url=url_for("handoff.enter_code"))
    limiter = _guess_limiter()
    decision = limiter.check(request.remote_addr or "unknown", _ENTER_CODE)
    if not decision.allowed:
        log.warning("code entry refused: rate-limited")
        response = problem_page(problems.TOO_MANY_REQUESTS, next_url=url_for("handoff.enter_code"))
        response.headers["Retry-After"] = str(decision.retry_after_seconds)
        return response
    typed = request.form.get("code", "")
    code = policy.normalise_code(typed)
    claim_id = steps().redeem(code, hub.now()) if code else None
    if claim_id is None:
        log.info("code entry refused: %s", "format" if code is None else "unknown-used-or-expired")
        return render_template(
            "handoff_enter.html",
            form_action=url_for("handoff.enter_code"),
            value=typed[:32],
            error="format" if code is None else "unknown",
        ), 400
    response = redirect(url_for("handoff.waiting"), code=303)
    max_age = int(policy.CLAIM_LIFETIME.total_seconds())
    response.set_cookie(
        CLAIM_COOKIE, claim_id, max_age=max_age, httponly=True, samesite="Lax", secure=request.is_secure, path="/"
    )
    return response


@bp.get("/continue/waiting")
def waiting():
    """The second device, until the first confirms: then the journey continues in this browser."""
    hub = services()
    result = steps().collect(request.cookies.get(CLAIM_COOKIE, ""), hub.now())
    if result is store_steps.Collected.WAITING:
        return render_template("handoff_waiting.html", check_url=url_for("handoff.waiting"))
    if result is store_steps.Collected.UNKNOWN:
        response = Response(render_template("handoff_not_confirmed.html", retry_url=url_for("handoff.enter_code")))
        response.delete_cookie(CLAIM_COOKIE, path="/")
        return response
    log.info("journey continues on this device")
    # back to the company list, where the move was offered (every state that may move shows it)
    response = set_session_cookie(redirect(url_for("journey.choose_company"), code=303), result.session_id)
    response.delete_cookie(CLAIM_COOKIE, path="/")
    max_age = int((hub.sessions.lifetime + hub.sessions.grace).total_seconds())
    response.set_cookie(
        DEVICE_COOKIE,
        result.device_key,
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
        path="/",
    )
    return response


@bp.get(moved_journey.MOVED_JOURNEY_PATH)
def sign_in_here():
    """A service asks, through the browser, whether its request's journey moved to this browser.

    The answer goes back to that service's own assertion consumer service (an OpenID Connect client's
    redirect URI; from the journey or the config, never from the question), as a signed statement bound to
    the service's nonce: `moved` is true only here, in the browser the journey arrived in, and only once. An
    OpenID Connect client names its request by its `state`."""
    hub = services()
    service, request_id, nonce = (request.args.get(name, "") for name in ("service", "request", "nonce"))
    rp = hub.relying_party(service) if service else None
    limit = moved_journey.MAX_FIELD_LENGTH
    if rp is None or not (0 < len(request_id) <= limit and 0 < len(nonce) <= limit):
        log.warning("moved-journey question refused: %s", "unknown-service" if rp is None else "bad-parameters")
        return problem_page(problems.BAD_REQUEST)
    acs_url = steps().moved_here(request.cookies.get(DEVICE_COOKIE, ""), rp.entity_id, request_id, hub.now())
    log.info("moved-journey question answered: moved=%s", acs_url is not None)
    statement = moved_journey.issue_statement(
        hub.signing,
        hub_entity_id=hub.config.hub.entity_id,
        service=rp.entity_id,
        request_id=request_id,
        nonce=nonce,
        moved=acs_url is not None,
        now=hub.now(),
    )
    target = acs_url or (rp.oidc.redirect_uris[0] if rp.oidc is not None else rp.default_acs_url())
    separator = "&" if "?" in target else "?"
    response = redirect(target + separator + urlencode({moved_journey.MOVED_JOURNEY_PARAMETER: statement}), 303)
    if acs_url is not None:
        response.delete_cookie(DEVICE_COOKIE, path="/")
    return response
