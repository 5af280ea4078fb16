"""The journey's end for an OpenID Connect client: an authorization code, or an error, for its redirect URI.

On success the code stands for a `Grant` (`grants`): the pairwise `sub`, the `vot` reached, and the claims
the client may receive, computed now from the identity the journey kept, so that the session (and the
identity in it) can be deleted at once. Any other end is an error response: `access_denied` (or
`temporarily_unavailable` when the matching service failed), with the structured return code for clients
registered to receive them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit, urlunsplit

from federation import vectors_of_trust as vot
from federation.config import CORE_IDENTITY_CLAIM, RelyingParty
from federation.saml.hashed_pid import hashed_pid
from federation.saml.standard import pairwise_id
from hub.frontends.oidc import OAuthError, grants
from hub.frontends.oidc import claims as identity
from hub.frontends.oidc.provider import MATCHING_CLAIM, TRUST_FRAMEWORK
from hub.policy import return_codes
from hub.policy.states import OidcRequest, RpOutcome, Session, State, outcome_for_rp
from hub.services import HubServices

MATCHING_OUTCOMES = {
    State.SUCCESSFUL_MATCH: "match",
    State.USER_ACCOUNT_CREATED: "account-created",
    State.NO_MATCH: "no-match",  # the identity is proved; the department has no record of it (yet)
}


def answers_with_identity(rp: RelyingParty, session: Session) -> bool:
    """Whether the journey's end hands the client the identity: a success, or, for a client with a matching
    service, a no-match (its claims say so, and the client may offer what it offers people it cannot find)."""
    return outcome_for_rp(session.state) is RpOutcome.SUCCESS or (
        session.state is State.NO_MATCH and rp.matching_service_entity_id is not None
    )


@dataclass(frozen=True)
class Redirect:
    """Where the citizen's browser goes next, and the login session to remember in it (success only)."""

    url: str
    sid: str | None = None


def redirect_url(redirect_uri: str, params: dict[str, str]) -> str:
    """`redirect_uri` with `params` added to its query (a registered URI may carry a query of its own)."""
    parts = urlsplit(redirect_uri)
    query = "&".join(part for part in (parts.query, urlencode(params)) if part)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def error_redirect(
    hub: HubServices,
    client_id: str,
    redirect_uri: str,
    state: str | None,
    error: OAuthError,
    code: return_codes.ReturnCode | None = None,
) -> str:
    """The error response at the redirect URI, with `state` and `iss` (RFC 9207), and the return code."""
    params = {"error": error.error, "error_description": error.description}
    if state is not None:
        params["state"] = state
    params["iss"] = hub.oidc.issuer
    rp = hub.config.oidc_client(client_id)
    if code is not None and rp is not None and rp.oidc is not None and rp.oidc.return_codes:
        params["return_code"] = code.code
        params["return_offer"] = code.offer.value
    return redirect_url(redirect_uri, params)


def _error_for(hub: HubServices, request: OidcRequest, error: OAuthError, code: return_codes.ReturnCode | None) -> str:
    return error_redirect(hub, request.client_id, request.redirect_uri, request.state, error, code)


def _refusal(session: Session, *, overridden: bool = False) -> tuple[OAuthError, return_codes.ReturnCode | None]:
    if overridden:  # the citizen stopped at the last step
        return OAuthError("access_denied", "cancelled"), return_codes.CANCELLED
    code = return_codes.return_code(session.state, session.problem)
    if session.state is State.MATCHING_SERVICE_REQUEST_ERROR:
        return OAuthError("temporarily_unavailable", "the service's records could not be checked"), code
    text = code.code.replace("_", " ") if code else "the journey did not succeed"
    return OAuthError("access_denied", text), code


def _claims(hub: HubServices, session: Session, rp: RelyingParty, reached: vot.Vector) -> tuple[dict, dict | None]:
    """The userinfo claims besides `sub`, and the identity JWT's payload, for what the client may receive."""
    request, release = session.oidc_request, session.release
    assert request is not None and release is not None
    idp_entity_id = session.selected_idp_entity_id or ""
    claims: dict = {}
    identity_jwt = None
    if reached.needs_identity and request.claims:  # authentication only never carries identity
        idp = hub.identity_provider(idp_entity_id)
        verified = identity.verified_claims(
            identity=release.identity,
            wanted=tuple(name for name in request.claims if name in identity.VERIFIED_CLAIMS),
            trust_framework=TRUST_FRAMEWORK,
            assurance_level=f"P{reached.confidence}",
            verified_at=release.authn_instant,
            voucher=idp.display_name.en if idp else idp_entity_id,
        )
        if verified is not None:
            claims["verified_claims"] = verified
        if CORE_IDENTITY_CLAIM in request.claims:
            identity_jwt = identity.identity_jwt_payload(release.identity, f"P{reached.confidence}")
    if rp.matching_service_entity_id is not None:
        claims[MATCHING_CLAIM] = {"outcome": MATCHING_OUTCOMES[session.state]}
        if session.state is not State.NO_MATCH:
            # the key the department's records know the citizen by (the matching service's hashed PID)
            claims[MATCHING_CLAIM]["hashed_pid"] = hashed_pid(idp_entity_id, rp.matching_service_entity_id, release.pid)
    return claims, identity_jwt


def _too_old(hub: HubServices, session: Session, request: OidcRequest) -> bool:
    """`max_age`: the citizen authenticated earlier than the client allows (counted from its request)."""
    if request.max_age is None or session.release is None:
        return False
    oldest = session.started_at - timedelta(seconds=request.max_age) - hub.config.clock_skew
    return session.release.authn_instant < oldest


def answer(
    hub: HubServices, session: Session, *, browser_sid: str | None, outcome: RpOutcome | None = None
) -> Redirect:
    """The redirect that ends `session` for its client: a code on success, an error otherwise. `outcome`
    overrides the state's (the citizen declined to release their identity: `NO_AUTHN_CONTEXT`)."""
    request = session.oidc_request
    rp = hub.relying_party(session.rp_entity_id)
    assert request is not None and rp is not None
    overridden = outcome is not None
    if not overridden and answers_with_identity(rp, session):
        outcome = RpOutcome.SUCCESS
    outcome = outcome or outcome_for_rp(session.state)
    if outcome is not RpOutcome.SUCCESS or session.release is None or session.idp_level is None:
        error, code = (
            _refusal(session, overridden=overridden)
            if outcome is not RpOutcome.SUCCESS
            else (OAuthError("access_denied", "authentication failed"), return_codes.AUTHENTICATION_FAILED)
        )
        return Redirect(_error_for(hub, request, error, code))
    if _too_old(hub, session, request):
        error = OAuthError("login_required", "the citizen authenticated longer ago than max_age allows")
        return Redirect(_error_for(hub, request, error, return_codes.AUTHENTICATION_FAILED))
    release, client = session.release, rp.oidc
    reached = vot.vector_of_trust((vot.parse_vector(text) for text in request.vtr), session.idp_level)
    if reached is None:  # not expected: the IDPs were asked for the requested vectors' levels
        error = OAuthError("access_denied", "level not reached")
        return Redirect(_error_for(hub, request, error, return_codes.LEVEL_NOT_REACHED))
    sub = pairwise_id(session.selected_idp_entity_id or "", client.sector_identifier, release.pid)
    claims, identity_jwt = _claims(hub, session, rp, reached)
    sid = grants.add_login(hub, browser_sid, rp.entity_id, sub)
    grant = grants.Grant(
        client_id=rp.entity_id,
        redirect_uri=request.redirect_uri,
        code_challenge=request.code_challenge,
        nonce=request.nonce,
        sid=sid,
        sub=sub,
        vot=str(reached),
        auth_time=int(release.authn_instant.timestamp()),
        claims=claims,
        identity_jwt=identity_jwt,
    )
    code = grants.issue_code(hub, grant)
    params = {"code": code, "iss": hub.oidc.issuer}
    if request.state is not None:
        params["state"] = request.state
    return Redirect(redirect_url(request.redirect_uri, params), sid=sid)
