"""The service's pages: one Blueprint per relying party, thin views over the client library.

The sign-in attempt (request ID and RelayState) and its result live in the citizen's server-side session
(`browser_session`: the cookie holds only a random ID). The hub's POST back is same-site in the demo, so
the cookie comes with it; if it does not (another browser, cookies blocked, an answer already used), the
citizen is told to start again. The session ID is renewed when the hub's answer is applied, and sign-out
ends the session in the store. Log lines carry reasons and IDs only, never personal data.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from federation.config import RelyingParty
from federation.metadata import MetadataError
from federation.web import translate
from relying_party_example.browser_session import current, sessions_of_app
from relying_party_example.client import HubClient, HubResponseError, Scenario, new_relay_state

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


def problem(name: str, status: int, *, relying_party: RelyingParty | None = None, home_url: str = "/"):
    page = render_template("relying_party/problem.html", problem=name, rp=relying_party, home_url=home_url)
    return page, status


def service_blueprint(service: Service) -> Blueprint:
    rp, client = service.relying_party, service.client
    pending_key, result_key = f"{rp.name}:pending", f"{rp.name}:result"
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
            request_id, post = client.start_sign_in(new_relay_state())
        except MetadataError as exc:
            return refuse(f"metadata-{exc.reason}", "unavailable", 503)
        session = current()
        session.data[pending_key] = {"request_id": request_id, "relay_state": post.relay_state}
        session.data.pop(result_key, None)
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
        sessions, session = sessions_of_app(), current()
        pending = session.data.pop(pending_key, None)  # one answer per attempt, whatever happens next
        if not pending:
            return refuse("no-sign-in-attempt-in-session", "no_attempt")
        sessions.save(session)
        saml_response = request.form.get("SAMLResponse")
        if not saml_response:
            return refuse("missing-saml-response")
        relay_state = request.form.get("RelayState", "")
        if not hmac.compare_digest(relay_state.encode("utf-8"), pending["relay_state"].encode("utf-8")):
            return refuse("relay-state-mismatch")
        try:
            outcome = client.handle_response(saml_response, expected_request_id=pending["request_id"])
        except HubResponseError as exc:
            return refuse(exc.reason)
        except MetadataError as exc:
            return refuse(f"metadata-{exc.reason}", "unavailable", 503)
        level = outcome.level_of_assurance
        log.info(
            "sign-in outcome service=%s request_id=%s response_id=%s scenario=%s loa=%s",
            rp.name,
            pending["request_id"],
            outcome.response_id,
            outcome.scenario.name,
            level.name if level else "-",
        )
        sessions.renew(session)  # sign-in: a session ID known before it is worth nothing after it
        session.data[result_key] = {
            "scenario": outcome.scenario.value,
            "hashed_pid": outcome.hashed_pid,
            "level": level.name if level else None,
        }
        sessions.save(session)
        return redirect(url_for(".result"), 303)  # a refresh then reloads the page, not the POST

    @blueprint.get("/signed-in")
    def result() -> ResponseReturnValue:
        result = current().data.get(result_key)
        if not result:
            return redirect(url_for(".home"), 303)
        return render_template(
            "relying_party/result.html",
            rp=rp,
            scenario=result["scenario"],
            hashed_pid=result["hashed_pid"],
            level=result["level"],
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
