"""The service's pages: one Blueprint per relying party, thin views over the client library.

The citizen's session is server-side (`browser_session`: the cookie holds only a random ID). A sign-in
attempt is kept by its request ID, and the hub's answer reaches the session in two steps (`sign_ins`):
the ACS takes the hub's POST without relying on the cookie (a cross-site POST does not carry it), verifies
it and parks the outcome under a one-time key; the GET it redirects to carries the cookie and applies the
outcome only to the session that started the attempt. Anything else gets a page that says to start again.
The one exception: the citizen moved the journey to another device at the hub. The answer then comes to
that device's browser, which the GET sends to the hub to ask whether the journey moved there; the hub's
signed statement comes back as a GET to the ACS, and the answer is applied only if the hub says so for this
browser, our request and our nonce (`sign_ins`, step 4). The session ID is renewed when an answer is
applied, and sign-out ends the session in the store. Log lines carry reasons and IDs only, never personal
data.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from federation import server_errors
from federation.config import RelyingParty
from federation.metadata import MetadataError
from federation.web import current_language, translate
from hub_client import MOVED_JOURNEY_PARAMETER, HubClient, HubResponseError, ReturnCode, Scenario, new_relay_state
from relying_party_example.browser_session import BrowserSession, current, sessions_of_app
from relying_party_example.sign_ins import SignIns, result_of

log = logging.getLogger("relying_party_example")


@dataclass(frozen=True)
class Service:
    """One relying party served by this app, at `prefix` ("" or e.g. "/non-matching")."""

    key: str  # Blueprint name
    relying_party: RelyingParty
    client: HubClient
    prefix: str
    acs_path: str  # relative to prefix


def csrf_token() -> str:
    """The form token of this browser's session (a Jinja global: federation.web's csrf_field uses it)."""
    return sessions_of_app().csrf_token(current())


def _csrf_ok() -> bool:
    return sessions_of_app().csrf_valid(current(), request.form.get("csrf_token", ""))


def _known_code(value: str | None) -> str | None:
    """A return code the service has wording for (every `ReturnCode`), else None: the scenario's wording."""
    try:
        return ReturnCode(value).value if value else None
    except ValueError:
        return None


def problem(name: str, status: int, *, relying_party: RelyingParty | None = None, home_url: str = "/"):
    shown_id = server_errors.error_id() if status >= 500 else None
    page = render_template(
        "relying_party/problem.html", problem=name, rp=relying_party, home_url=home_url, error_id=shown_id
    )
    return page, status


def service_blueprint(service: Service, sign_ins: SignIns) -> Blueprint:
    rp, client = service.relying_party, service.client
    result_key = f"{rp.name}:result"
    blueprint = Blueprint(service.key, __name__, url_prefix=service.prefix or None)

    def refuse(reason: str, page: str = "bad_response", status: int = 400) -> ResponseReturnValue:
        log.warning("sign-in refused service=%s reason=%s", rp.name, reason)
        return problem(page, status, relying_party=rp, home_url=url_for(".home"))

    @blueprint.get("/")
    def home() -> ResponseReturnValue:
        result = current().data.get(result_key)
        signed_in = bool(result) and Scenario(result["scenario"]).is_verified
        return render_template(
            "relying_party/service.html",
            rp=rp,
            start_action=url_for(".start"),
            result_url=url_for(".result") if signed_in else None,
        )

    @blueprint.post("/start")
    def start() -> ResponseReturnValue:
        if not _csrf_ok():
            return refuse("csrf-token-missing-or-wrong", "form_expired")
        try:
            request_id, post = client.start_sign_in(new_relay_state(), language=current_language())
        except MetadataError as exc:
            return refuse(f"metadata-{exc.reason}", "unavailable", 503)
        session = current()
        sign_ins.begin(rp.name, request_id, post.relay_state, session.ref)
        if session.data.pop(result_key, None) is not None:  # a new sign-in replaces the last one
            sessions_of_app().save(session)
        log.info("sign-in started service=%s request_id=%s", rp.name, request_id)
        return render_template(
            "federation/saml_post.html",
            action=post.url,
            saml_request=post.value,
            relay_state=post.relay_state,
            destination_name=translate("rp.hub_name"),
            language_toggle_path=url_for(".home"),
        )

    @blueprint.post(service.acs_path)
    def assertion_consumer_service() -> ResponseReturnValue:
        """The hub's POST: cross-site when the hub is on another site, so no cookie (see `sign_ins`)."""
        saml_response = request.form.get("SAMLResponse")
        if not saml_response:
            return refuse("missing-saml-response")
        try:
            received = client.receive_response(saml_response)  # parsed once, verified below
            attempt = sign_ins.take_attempt(rp.name, received.in_response_to)
        except HubResponseError as exc:
            return refuse(exc.reason)
        if attempt is None:  # unknown, expired, or already answered: one answer per attempt
            return refuse("no-sign-in-attempt", "no_attempt")
        relay_state = request.form.get("RelayState", "")
        if not hmac.compare_digest(relay_state.encode("utf-8"), attempt.relay_state.encode("utf-8")):
            return refuse("relay-state-mismatch")
        try:
            outcome = client.handle_response(received, expected_request_id=attempt.request_id)
        except HubResponseError as exc:
            return refuse(exc.reason)
        except MetadataError as exc:
            return refuse(f"metadata-{exc.reason}", "unavailable", 503)
        level = outcome.level_of_assurance
        log.info(
            "sign-in outcome service=%s request_id=%s response_id=%s scenario=%s return_code=%s loa=%s",
            rp.name,
            attempt.request_id,
            outcome.response_id,
            outcome.scenario.name,
            outcome.return_code.value if outcome.return_code else "-",
            level.name if level else "-",
        )
        key = sign_ins.park(rp.name, attempt, result_of(outcome))
        return redirect(url_for(".continue_sign_in", key=key), 303)  # a top-level GET: the cookie is back

    @blueprint.get(service.acs_path + "/continue")
    def continue_sign_in() -> ResponseReturnValue:
        answer = sign_ins.take_answer(rp.name, request.args.get("key", ""))  # once, whatever happens next
        if answer is None:
            return refuse("no-answer-for-this-key", "no_attempt")
        session = current()
        if not session.started_by_this_browser(answer.session_ref):
            # Not the browser that started: applied here only if the hub says the citizen moved the journey
            # to this very browser (another device); the nonce binds the hub's word to this browser's session.
            nonce = sign_ins.await_hub(rp.name, answer, session.ref)
            log.info(
                "sign-in answer in another browser service=%s request_id=%s: asking the hub", rp.name, answer.request_id
            )
            return redirect(client.moved_journey_check_url(answer.request_id, nonce), 303)
        return apply(session, answer.request_id, answer.result)

    @blueprint.get(service.acs_path)
    def moved_journey_answer() -> ResponseReturnValue:
        """The hub's word on whether the journey moved to this browser (a GET: the cookie is here)."""
        try:
            said = client.read_moved_journey(request.args.get(MOVED_JOURNEY_PARAMETER, ""))
        except HubResponseError as exc:
            return refuse(exc.reason)
        except MetadataError as exc:
            return refuse(f"metadata-{exc.reason}", "unavailable", 503)
        awaiting = sign_ins.take_awaiting(rp.name, said.nonce)  # once, whatever happens next
        session = current()
        if awaiting is None or not hmac.compare_digest(awaiting.request_id.encode(), said.request_id.encode()):
            return refuse("moved-journey-unknown-nonce", "no_attempt")
        if not session.started_by_this_browser(awaiting.browser_ref):
            return refuse("moved-journey-other-browser", "no_attempt")
        if not said.moved:
            return refuse("answer-brought-to-another-session", "no_attempt")  # never applied, now or later
        log.info("sign-in journey moved to this browser service=%s request_id=%s", rp.name, said.request_id)
        return apply(session, said.request_id, awaiting.result)

    def apply(session: BrowserSession, request_id: str, result: dict) -> ResponseReturnValue:
        sessions = sessions_of_app()
        sessions.renew(session)  # sign-in: a session ID known before it is worth nothing after it
        session.data[result_key] = result
        sessions.save(session)
        log.info("sign-in applied service=%s request_id=%s", rp.name, request_id)
        return redirect(url_for(".result"), 303)  # a refresh then reloads the page, not this one-time URL

    @blueprint.get("/signed-in")
    def result() -> ResponseReturnValue:
        result = current().data.get(result_key)
        if not result:
            return redirect(url_for(".home"), 303)
        return render_template(
            "relying_party/result.html",
            rp=rp,
            scenario=result["scenario"],
            return_code=_known_code(result.get("return_code")),
            offer=result.get("offer"),
            home_url=url_for(".home"),
            identifier=result.get("identifier"),
            level=result["level"],
            attributes=result.get("attributes", []),
            start_action=url_for(".start"),
            sign_out_action=url_for(".sign_out"),
        )

    @blueprint.post("/sign-out")
    def sign_out() -> ResponseReturnValue:
        if not _csrf_ok():
            return refuse("csrf-token-missing-or-wrong", "form_expired")
        sessions_of_app().end(current())  # every service of this app: the browser has one session with it
        return redirect(url_for(".home"), 303)

    return blueprint
