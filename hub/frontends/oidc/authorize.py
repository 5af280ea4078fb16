"""Intake: a client's authorization request, validated, starts a journey.

Order matters. The client and its redirect URI are checked first, and a request that fails either gets a
page (`NoRedirect`), never a redirect: redirecting to an unregistered URI would make the hub an open
redirector. Every later error goes back to the registered redirect URI with the client's `state`
(`OAuthError`). Only the authorization code flow is served, with PKCE S256, `state` and `nonce` required,
as GOV.UK One Login requires them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from federation import vectors_of_trust as vot
from federation.config import CORE_IDENTITY_CLAIM, RelyingParty
from hub.frontends.oidc import NoRedirect, OAuthError
from hub.frontends.oidc.claims import VERIFIED_CLAIMS, requested_identity
from hub.policy import eligibility
from hub.policy.states import OidcRequest, Session, new_session_id, start_session
from hub.services import HubServices

_PKCE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # base64url(SHA-256): 32 bytes, no padding
MAX_TEXT = 512
MAX_CLAIMS_PARAMETER = 4096
PROMPTS = frozenset({"none", "login", "select_account", "consent"})
LANGUAGES = ("en", "cy")


@dataclass(frozen=True)
class Started:
    session: Session
    rp: RelyingParty


def _one(params: Mapping[str, Any], name: str) -> str | None:
    """A parameter given at most once (RFC 6749 3.1: a repeated parameter is an error)."""
    values = params.getlist(name) if hasattr(params, "getlist") else [params.get(name)]
    values = [value for value in values if value is not None]
    if len(values) > 1:
        raise OAuthError("invalid_request", f"{name} is given more than once")
    return values[0] if values else None


def client_and_redirect(hub: HubServices, params: Mapping[str, Any]) -> tuple[RelyingParty, str]:
    """The registered client and redirect URI, or NoRedirect: nothing may be redirected before this."""
    try:
        client_id, redirect_uri = _one(params, "client_id"), _one(params, "redirect_uri")
    except OAuthError as exc:
        raise NoRedirect("repeated-client-or-redirect-uri") from exc
    rp = hub.config.oidc_client(client_id)
    if rp is None or rp.oidc is None:
        raise NoRedirect("unknown-client")
    if redirect_uri is None or redirect_uri not in rp.oidc.redirect_uris:
        raise NoRedirect("redirect-uri-not-registered")  # exact string match, as OpenID Connect requires
    return rp, redirect_uri


def _text(params: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = _one(params, name)
    if value is None or value == "":
        if required:
            raise OAuthError("invalid_request", f"{name} is required")
        return None
    if len(value) > MAX_TEXT or any(ord(ch) < 0x20 for ch in value):
        raise OAuthError("invalid_request", f"{name} is too long or holds control characters")
    return value


def _vectors(params: Mapping[str, Any], rp: RelyingParty) -> tuple[vot.Vector, ...]:
    raw = _one(params, "vtr")
    allowed = rp.oidc.vectors_of_trust
    if raw is None:
        return (allowed[0],)
    try:
        vectors = vot.parse_vtr(json.loads(raw))
    except ValueError as exc:  # JSON errors and VectorError alike
        message = str(exc) if isinstance(exc, vot.VectorError) else "vtr is not JSON"
        raise OAuthError("invalid_request", message) from None
    refused = [str(vector) for vector in vectors if vector not in allowed]
    if refused:
        raise OAuthError("invalid_request", f"vtr {refused[0]} is not allowed for this client")
    return vectors


def _requested_claims(params: Mapping[str, Any]) -> tuple[str, ...]:
    """The identity claims the `claims` parameter asks userinfo for (verified_claims and the identity JWT)."""
    raw = _one(params, "claims")
    if raw is None:
        return ()
    if len(raw) > MAX_CLAIMS_PARAMETER:
        raise OAuthError("invalid_request", "the claims parameter is too long")
    try:
        claims = json.loads(raw)
    except ValueError:
        raise OAuthError("invalid_request", "the claims parameter is not JSON") from None
    userinfo = claims.get("userinfo", {}) if isinstance(claims, dict) else None
    if not isinstance(userinfo, dict):
        raise OAuthError("invalid_request", "the claims parameter must be an object with a userinfo object")
    names: list[str] = []
    if CORE_IDENTITY_CLAIM in userinfo:
        names.append(CORE_IDENTITY_CLAIM)
    verified = userinfo.get("verified_claims")
    requests = verified if isinstance(verified, list) else [verified] if verified is not None else []
    for item in requests:
        inner = item.get("claims") if isinstance(item, dict) else None
        if not isinstance(inner, dict):
            raise OAuthError("invalid_request", "each verified_claims request needs a claims object")
        names.extend(name for name in inner if name in VERIFIED_CLAIMS)
    return tuple(dict.fromkeys(names))


def _prompt(params: Mapping[str, Any]) -> bool:
    """Whether the citizen must authenticate afresh at the IDP (`prompt=login`)."""
    raw = _text(params, "prompt", required=False)
    prompts = set(raw.split()) if raw else set()
    if prompts - PROMPTS:
        raise OAuthError("invalid_request", "prompt has an unknown value")
    if "none" in prompts and len(prompts) > 1:
        raise OAuthError("invalid_request", "prompt=none cannot be combined with other values")
    if "none" in prompts:  # the hub keeps no sign-in to reuse: every journey needs the citizen
        raise OAuthError("login_required", "the citizen must prove who they are with a certified company")
    if "consent" in prompts:
        raise OAuthError("consent_required", "the hub does not ask for consent: the client must not require it")
    return "login" in prompts


def _max_age(params: Mapping[str, Any]) -> int | None:
    raw = _text(params, "max_age", required=False)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise OAuthError("invalid_request", "max_age must be a whole number of seconds")
    return int(raw)


def _language(params: Mapping[str, Any]) -> str | None:
    raw = _text(params, "ui_locales", required=False)
    for tag in (raw or "").split():
        language = tag.split("-")[0].lower()
        if language in LANGUAGES:
            return language
    return None  # unsupported locales are ignored (OpenID Connect Core 3.1.2.1)


def validate(hub: HubServices, params: Mapping[str, Any], rp: RelyingParty, redirect_uri: str) -> OidcRequest:
    """The authorization request as the journey keeps it; OAuthError for the redirect URI if it is wrong."""
    if _one(params, "request") is not None:
        raise OAuthError("request_not_supported", "request objects are not supported")
    if _one(params, "request_uri") is not None:
        raise OAuthError("request_uri_not_supported", "request_uri is not supported")
    response_type = _text(params, "response_type", required=True)
    if response_type != "code":
        raise OAuthError("unsupported_response_type", "only the authorization code flow (response_type=code)")
    response_mode = _text(params, "response_mode", required=False)
    if response_mode not in (None, "query"):
        raise OAuthError("invalid_request", "only response_mode=query is supported")
    scope = tuple((_text(params, "scope", required=True) or "").split())
    if "openid" not in scope:
        raise OAuthError("invalid_scope", "the openid scope is required")
    state = _text(params, "state", required=True)
    nonce = _text(params, "nonce", required=True)
    challenge = _text(params, "code_challenge", required=True) or ""
    if _text(params, "code_challenge_method", required=True) != "S256":
        raise OAuthError("invalid_request", "code_challenge_method must be S256")
    if not _PKCE_CHALLENGE.fullmatch(challenge):
        raise OAuthError("invalid_request", "code_challenge is not an S256 challenge")
    vectors = _vectors(params, rp)
    identity = requested_identity(_requested_claims(params), rp.oidc.claims)
    if not any(vector.needs_identity for vector in vectors):
        identity = ()  # authentication only: identity is never released, whatever was asked
    force = _prompt(params)
    max_age = _max_age(params)
    return OidcRequest(
        client_id=rp.entity_id,
        redirect_uri=redirect_uri,
        state=state,
        nonce=nonce,
        code_challenge=challenge,
        scope=scope,
        vtr=tuple(str(vector) for vector in vectors),
        claims=identity,
        ui_locales=_language(params),
        max_age=max_age,
        force_authn=force or max_age is not None,
    )


def start_journey(hub: HubServices, rp: RelyingParty, request: OidcRequest) -> Started:
    """A new session for the validated request: the levels asked of the IDPs come from its vectors."""
    config, now = hub.config, hub.now()
    levels = vot.levels_for(vot.parse_vector(text) for text in request.vtr)
    session_id = new_session_id()
    shortlist = eligibility.eligible_idps(rp, config.identity_providers, now=now, for_registration=False, levels=levels)
    ordered = eligibility.shuffled_for_session(shortlist, session_id, key=hub.secret)
    session = start_session(
        session_id=session_id,
        rp_entity_id=rp.entity_id,
        authn_request_id="_oidc-" + new_session_id(),  # names the journey to the matching service
        relay_state=None,
        acs_url=request.redirect_uri,
        accepted_levels=levels,
        force_authn=request.force_authn,
        idp_shortlist=tuple(idp.entity_id for idp in ordered),
        now=now,
        lifetime=config.session_lifetime,
        oidc_request=request,
    )
    return Started(session, rp)
