"""Stub identity providers: every IDP of the federation config served by one Flask process (demo port 8081).

THIS IS A TEST TOOL, for demos, the end-to-end tests and identity providers comparing themselves with a
working IDP while onboarding. Its users are fictional (`data/users.yaml`, plus accounts registered in
memory), their passwords are published, and `POST /<idp>/SAML2/SSO/headless` answers the hub without any
sign-in at all. That endpoint is on only when the setting `STUB_IDP_HEADLESS` is "1" (off by default; the
end-to-end tests switch it on). Never deploy this next to real identities.

What it does keep to is the profile: the hub's AuthnRequest is checked against signed federation metadata
(issuer, signature, Destination, freshness, replay), and every answer is a Response signed by the IDP's
own key whose assertions are signed and encrypted for the hub. Logs carry request IDs and outcomes only.

It serves the identity providers of the federation config whose signing key it holds
(`<keys dir>/<name>-signing.key`, matching a certificate the config lists for it) and leaves out the
rest with one log line each, so a real identity provider can be registered beside the stubs.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from flask import Flask, g, jsonify, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from federation import server_errors
from federation.config import FederationConfig, IdentityProvider
from federation.credentials import CredentialError
from federation.keyring import SigningKeyRing
from federation.loa import LevelOfAssurance
from federation.metadata import FederationMetadata, MetadataError, MetadataSource
from federation.runtime import Runtime
from federation.saml import SamlValidationError, encode_post
from federation.web import current_language, register_web
from federation.web.service_pages import LANGUAGE_COOKIE, CookieUse, FeedbackLog, ServicePages
from stub_idps.display import Display
from stub_idps.inbound import PendingRequest, ReplayCache, read_authn_request
from stub_idps.registration import FIELDS, GENDERS, parse_registration
from stub_idps.responses import (
    DEFAULT_ASSERTION_LIFETIME,
    HubEndpoint,
    IdpSigner,
    Outcome,
    build_idp_response,
)
from stub_idps.users import RegistrationFull, StubUser, UsernameTaken, UserStore, level_at, load_users

log = logging.getLogger(__name__)

MESSAGES_FILE = Path(__file__).resolve().parent / "messages.yaml"
SESSION_IDPS = "idps"  # per-IDP state in the session: {idp name: {"request": ..., "user": ..., "notice": ...}}
SESSION_CSRF = "csrf"
SESSION_COOKIE = "stub_idp_session"
MAX_FORM_BYTES = 1024 * 1024
REQUEST_MAX_AGE = timedelta(minutes=5)  # parse_authn_request's freshness window: replay IDs are kept this long


@dataclass(frozen=True)
class ServedIdp:
    config: IdentityProvider
    signer: IdpSigner

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def levels(self) -> tuple[LevelOfAssurance, ...]:
        return self.config.levels_of_assurance


class PageError(Exception):
    """A refusal shown as the stub's error page: never a stack trace, the reason code for testers."""

    def __init__(self, problem: str, status: int, reason: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.status = status
        self.reason = reason


class FederationMetadataFeed:
    """Federation metadata, loaded as the app starts (or, if the hub is not up yet, in the background with
    retries) and refreshed in the background: never fetched while answering a request."""

    def __init__(self, source: MetadataSource) -> None:
        self._source = source
        source.start()

    @property
    def ready(self) -> bool:
        return self._source.ready

    def current(self) -> FederationMetadata:
        try:
            return self._source.current
        except MetadataError as exc:
            log.error("federation metadata unavailable (%s)", exc.reason)
            raise PageError("metadata_unavailable", 503, exc.reason) from None


def _signing_key(keys_dir: Path, idp: IdentityProvider) -> SigningKeyRing | str:
    """This IDP's signing key, re-read when it is rotated, or why the stub cannot speak for it (a real
    IDP's key is not here)."""
    key_path = keys_dir / f"{idp.name}-signing.key"
    if not key_path.exists():
        return f"no signing key {key_path.name} in {keys_dir}"
    for cert in idp.signing_certificates:
        try:
            return SigningKeyRing(key_path, cert.path)
        except CredentialError:
            continue
    return f"{key_path.name} matches none of its signing_certificates in the federation config"


def served_idps(config: FederationConfig, keys_dir: Path) -> dict[str, ServedIdp]:
    """The identity providers this process can answer for; one log line per IDP left out."""
    idps: dict[str, ServedIdp] = {}
    for idp in config.identity_providers:  # keys loaded once, here
        signing = _signing_key(keys_dir, idp)
        if isinstance(signing, str):
            log.info("not serving identity provider %s (%s): %s", idp.name, idp.entity_id, signing)
            continue
        idps[idp.name] = ServedIdp(idp, IdpSigner(idp.name, idp.entity_id, signing))
    if not idps:
        raise ValueError(f"no identity provider of the federation config has its signing key in {keys_dir}")
    return idps


def load_messages(path: Path = MESSAGES_FILE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def create_app(
    runtime: Runtime,
    *,
    metadata_source: MetadataSource | None = None,
    users: tuple[StubUser, ...] | None = None,
) -> Flask:
    """The stub IDPs' app. `metadata_source` defaults to `MetadataSource.for_config(runtime.config)`."""
    config = runtime.config
    idps = served_idps(config, runtime.keys_dir)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),  # per process: sessions do not survive a restart, by design
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=all(idp.config.sso_url.startswith("https://") for idp in idps.values()),
        MAX_CONTENT_LENGTH=MAX_FORM_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_FORM_BYTES,
    )
    store = UserStore(users if users is not None else load_users())
    hub_metadata = FederationMetadataFeed(metadata_source or MetadataSource.for_config(config))
    replay = ReplayCache(ttl=REQUEST_MAX_AGE + 2 * config.clock_skew)
    headless_enabled = runtime.setting("STUB_IDP_HEADLESS", "0") == "1"
    lifetime = (
        timedelta(seconds=int(runtime.setting("STUB_IDP_ASSERTION_LIFETIME_SECONDS", "0") or 0))
        or DEFAULT_ASSERTION_LIFETIME
    )

    messages = load_messages()
    register_web(
        app,
        service_name=lambda lang: (
            g.idp.config.display_name.get(lang) if g.get("idp") else catalogue().text(lang, "stub_idp.service_name")
        ),
        form_action_origins=lambda: [config.hub.response_url, *g.get("form_targets", ())],
        messages=messages,
        phase="development",
        pages=ServicePages(
            operator=config.operator,
            cookies=(
                CookieUse(SESSION_COOKIE, "pages.cookies.stub_idp_session_purpose", "pages.cookies.session_end"),
                LANGUAGE_COOKIE,
            ),
            feedback=FeedbackLog(runtime.var_dir / "feedback-stub-idps.jsonl", app="stub-idps"),
            kind="idp",
        ),
    )

    def catalogue():
        return app.extensions["federation_web"]["catalogue"]

    def text(key: str, **params: object) -> dict[str, str]:
        """A message in both languages, for template values that are localized later (`| localize`)."""
        return {lang: catalogue().text(lang, key, **params) for lang in ("en", "cy")}

    # --- session state ----------------------------------------------------------------------------------

    def csrf_token() -> str:
        token = session.get(SESSION_CSRF)
        if not token:
            token = session[SESSION_CSRF] = secrets.token_urlsafe(32)
        return token

    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["hub_home_url"] = config.hub.base_url + "/"  # the way on from a page with no next step

    def check_csrf() -> None:
        expected = session.get(SESSION_CSRF)
        sent = request.form.get("csrf_token", "")
        if not expected or not hmac.compare_digest(expected.encode(), sent.encode()):
            raise PageError("csrf", 400, "csrf-token-mismatch")

    def state(idp: ServedIdp) -> dict[str, Any]:
        return dict(session.get(SESSION_IDPS, {}).get(idp.name, {}))

    def save_state(idp: ServedIdp, value: Mapping[str, Any] | None) -> None:
        all_states = dict(session.get(SESSION_IDPS, {}))
        if value is None:
            if idp.name not in all_states:
                return  # nothing to forget: the session stays untouched, so no cookie is signed and sent
            all_states.pop(idp.name)
        else:
            all_states[idp.name] = dict(value)
        session[SESSION_IDPS] = all_states

    def pending_request(idp: ServedIdp) -> PendingRequest:
        current = state(idp).get("request")
        if not current:
            raise PageError("no_pending", 400, "no-pending-request")
        return PendingRequest.from_session(current)

    def signed_in_user(idp: ServedIdp) -> StubUser:
        username = state(idp).get("user")
        user = store.find(idp.name, username) if username else None
        if user is None:
            raise PageError("no_pending", 400, "not-signed-in")
        return user

    def served(idp_name: str) -> ServedIdp:
        idp = idps.get(idp_name)
        if idp is None:
            raise PageError("unknown_idp", 404)
        g.idp = idp
        return idp

    # --- SAML in and out --------------------------------------------------------------------------------

    def accept_authn_request(idp: ServedIdp) -> PendingRequest:
        metadata = hub_metadata.current()
        try:
            pending = read_authn_request(
                request.form,
                metadata=metadata,
                sso_url=idp.config.sso_url,
                replay=replay,
                now=datetime.now(UTC),
                clock_skew=config.clock_skew,
            )
        except SamlValidationError as exc:
            log.warning("%s refused an AuthnRequest: %s", idp.name, exc.refusal)  # detail: log-safe
            raise PageError("bad_request", 400, exc.reason) from None
        log.info("%s accepted AuthnRequest %s", idp.name, pending.request_id)
        return pending

    def answer(idp: ServedIdp, pending: PendingRequest, outcome: Outcome, user: StubUser | None = None) -> str:
        """The auto-submitting page that carries our signed Response to the hub, with the RelayState."""
        hub = HubEndpoint.from_metadata(hub_metadata.current())
        xml = build_idp_response(
            outcome=outcome,
            idp=idp.signer,
            hub=hub,
            in_response_to=pending.request_id,
            now=datetime.now(UTC),
            user=user,
            level=level_at(user, idp.levels) if user is not None else None,
            ip_address=request.remote_addr,
            assertion_lifetime=lifetime,
        )
        save_state(idp, None)  # one answer per request
        log.info("%s answered AuthnRequest %s: %s", idp.name, pending.request_id, outcome.value)
        g.form_targets = (hub.response_url,)
        return render_template(
            "federation/saml_post.html",
            action=hub.response_url,
            saml_response=encode_post(xml),
            relay_state=pending.relay_state,
            destination_name=text("stub_idp.hub_name"),
            language_toggle_path=url_for("index"),
        )

    # --- view helpers -----------------------------------------------------------------------------------

    def display() -> Display:
        return Display(catalogue(), current_language())

    def login_page(idp: ServedIdp, pending: PendingRequest, *, errors: Mapping[str, str] | None = None) -> str:
        current = state(idp)
        notice = current.pop("notice", None)
        if notice:
            save_state(idp, current)
        return render_template(
            "stub_idps/login.html",
            idp=idp,
            requested=display().requested(pending),
            errors=errors or {},
            username=request.form.get("username", "") if request.method == "POST" else "",
            notice=notice,
            outcomes=[o for o in Outcome if o is not Outcome.SUCCESS],
            test_users=[u.username for u in store.file_users(idp.name)],
        )

    def register_page(idp: ServedIdp, *, errors: Mapping[str, str] | None = None) -> str:
        return render_template(
            "stub_idps/register.html",
            idp=idp,
            errors=errors or {},
            fields=FIELDS,
            form=request.form if request.method == "POST" else {},
            genders=GENDERS,
            levels=[(level.name, display().level(level)) for level in idp.levels],
        )

    # --- routes -----------------------------------------------------------------------------------------

    @app.get("/healthcheck")
    def healthcheck() -> Response:
        return jsonify(status="ok", metadata="ready" if hub_metadata.ready else "loading")

    @app.get("/")
    def index() -> str:
        return render_template(
            "stub_idps/index.html",
            idps=[
                {
                    "idp": idp,
                    "levels": ", ".join(display().level(level) for level in idp.levels),
                    "users": ", ".join(u.username for u in store.file_users(idp.name)),
                }
                for idp in idps.values()
            ],
            headless_enabled=headless_enabled,
        )

    @app.post("/<idp_name>/SAML2/SSO")
    def sso(idp_name: str) -> Response:
        idp = served(idp_name)
        pending = accept_authn_request(idp)
        save_state(idp, {"request": pending.to_session()})  # a new request replaces any earlier one
        return redirect(url_for("login", idp_name=idp.name), 303)

    @app.post("/<idp_name>/SAML2/SSO/headless")
    def headless(idp_name: str) -> str:
        idp = served(idp_name)
        if not headless_enabled:
            raise PageError("unknown_idp", 404, "headless-disabled")
        pending = accept_authn_request(idp)
        try:
            outcome = Outcome(request.form.get("outcome") or Outcome.SUCCESS.value)
        except ValueError:
            raise PageError("bad_request", 400, "unknown-outcome") from None
        user = None
        if outcome.needs_user:
            user = store.find(idp.name, request.form.get("username", ""))
            if user is None:
                raise PageError("bad_request", 400, "unknown-user")
        return answer(idp, pending, outcome, user)

    @app.route("/<idp_name>/login", methods=["GET", "POST"])
    def login(idp_name: str) -> Response | str:
        idp = served(idp_name)
        pending = pending_request(idp)
        if request.method == "GET":
            return login_page(idp, pending)
        check_csrf()
        username = request.form.get("username", "").strip()
        chosen = request.form.get("outcome")
        if chosen:
            try:
                outcome = Outcome(chosen)
            except ValueError:
                raise PageError("bad_request", 400, "unknown-outcome") from None
            user = store.find(idp.name, username) if outcome.needs_user else None
            if outcome.needs_user and user is None:
                return login_page(idp, pending, errors={"username": "stub_idp.login.fraud_needs_user"})
            return answer(idp, pending, outcome, user)
        user = store.authenticate(idp.name, username, request.form.get("password", ""))
        if user is None:
            log.info("%s: sign-in refused for AuthnRequest %s", idp.name, pending.request_id)
            return login_page(idp, pending, errors={"username": "stub_idp.login.invalid"})
        save_state(idp, {**state(idp), "user": user.username})
        return redirect(url_for("consent", idp_name=idp.name), 303)

    @app.route("/<idp_name>/register", methods=["GET", "POST"])
    def register(idp_name: str) -> Response | str:
        idp = served(idp_name)
        pending_request(idp)
        if request.method == "GET":
            return register_page(idp)
        check_csrf()
        result = parse_registration(request.form, idp_levels=idp.levels, today=date.today())
        if result.user is None:
            return register_page(idp, errors=result.errors)
        try:
            store.register(idp.name, result.user)
        except UsernameTaken:
            return register_page(idp, errors={"username": "stub_idp.register.errors.username_taken"})
        except RegistrationFull:
            return register_page(idp, errors={"username": "stub_idp.register.errors.full"})
        log.info("%s: a test account was registered", idp.name)
        save_state(idp, {**state(idp), "notice": "registered"})
        return redirect(url_for("login", idp_name=idp.name), 303)

    @app.route("/<idp_name>/consent", methods=["GET", "POST"])
    def consent(idp_name: str) -> str:
        idp = served(idp_name)
        pending = pending_request(idp)
        user = signed_in_user(idp)
        if request.method == "POST":
            check_csrf()
            outcome = Outcome.CANCEL if request.form.get("action") == "cancel" else Outcome.SUCCESS
            return answer(idp, pending, outcome, user if outcome is Outcome.SUCCESS else None)
        level = level_at(user, idp.levels)
        return render_template(
            "stub_idps/consent.html",
            idp=idp,
            details=display().details(user),
            level=display().level(level),
            requested=display().requested(pending),
            below_request=not pending.accepts(level),
        )

    # --- errors: always our page, never a stack trace ---------------------------------------------------

    def error_page(problem: str, status: int, reason: str | None = None) -> tuple[str, int]:
        shown_id = server_errors.error_id() if status >= 500 else None
        return render_template("stub_idps/error.html", problem=problem, reason=reason, error_id=shown_id), status

    @app.errorhandler(PageError)
    def page_error(exc: PageError) -> tuple[str, int]:
        return error_page(exc.problem, exc.status, exc.reason)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        problem = {404: "unknown_idp", 405: "method_not_allowed"}.get(exc.code or 500, "bad_request")
        return error_page(problem, exc.code or 500)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[str, int]:
        # The type and where it happened, not the message: an exception's text may quote personal data.
        frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        where = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
        log.error("unexpected %s%s while handling %s %s", type(exc).__name__, where, request.method, request.path)
        return error_page("generic", 500)

    server_errors.install(app, log)
    return app
