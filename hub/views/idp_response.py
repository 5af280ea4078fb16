"""`/SAML2/SSO/Response/POST`: the identity provider's answer, checked per ARCHITECTURE section 6.

This POST is cross-site (from the IDP's site), so the SameSite=Lax session cookie is absent: the session
is found from the Response's InResponseTo, the hub's own request ID, and only a Response that then
verifies as the selected IDP's answer to exactly that request moves the session on. The view ends with a
303 to `/journey/result`, a top-level GET on which the cookie is present again.
"""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, request, url_for

from federation import xmlsecurity
from federation.saml import constants as c
from federation.saml.assertion import split_idp_assertions
from federation.saml.bindings import decode_post
from federation.saml.errors import SamlValidationError
from federation.saml.hashed_pid import audit_pid
from federation.saml.response import ResponseData, parse_response, reencrypt_assertion
from federation.web import problems
from hub import audit, matching_step
from hub.policy import eligibility
from hub.policy import states as s
from hub.policy.loa_rules import LevelOfAssuranceError, check_returned_level
from hub.rp_response import RP_ASSERTIONS, pack_assertions
from hub.services import HubServices
from hub.views.pages import problem_page
from hub.web_session import services, session_for_idp_request

log = logging.getLogger("hub.idp_response")
bp = Blueprint("idp_response", __name__)


class ResponseRefused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _refuse(reason: str, session: s.Session | None = None):
    log.warning("idp response refused: %s", reason)
    hub = services()
    rp = hub.relying_party(session.rp_entity_id) if session else None
    next_url = url_for("journey.choose_company") if session else None
    return problem_page(problems.BAD_REQUEST, rp=rp, next_url=next_url)


@bp.post("/SAML2/SSO/Response/POST")
def consume_idp_response():
    hub = services()
    config, now = hub.config, hub.now()
    try:
        root = xmlsecurity.parse_xml(decode_post(request.form.get("SAMLResponse", "")))
    except SamlValidationError as exc:
        return _refuse(exc.reason)
    except xmlsecurity.XmlSecurityError as exc:
        return _refuse(exc.reason)
    in_response_to = root.get("InResponseTo")  # routing only; checked again on the verified element
    if not in_response_to:
        return _refuse("no-in-response-to")
    session_id = session_for_idp_request(in_response_to)
    session = hub.sessions.get(session_id, now) if session_id else None
    if session is None:
        return _refuse("unknown-in-response-to")
    if session.state is s.State.TIMEOUT:
        return redirect(url_for("journey.result"), code=303)
    if session.state is not s.State.IDP_SELECTED or session.hub_request_id != in_response_to:
        return _refuse(f"session-not-awaiting-this-response:{session.state.name}", session)
    idp = hub.identity_provider(session.selected_idp_entity_id)
    rp = hub.relying_party(session.rp_entity_id)
    idp_certs = tuple(cert.certificate for cert in idp.signing_certificates)

    def certificates_for_issuer(issuer: str) -> tuple:
        if issuer == idp.entity_id:
            return idp_certs
        if hub.identity_provider(issuer) is not None:  # a known IDP, but not the one this session chose
            raise SamlValidationError("issuer-not-selected-idp", "the Response is not from the selected IDP")
        return ()

    try:
        response = parse_response(
            root,
            certificates_for_issuer=certificates_for_issuer,
            expected_destination=config.hub.response_url,
            expected_in_response_to=session.hub_request_id,
            expected_audience=config.hub.entity_id,
            decryption_credentials=hub.decryption,
            now=now,
            clock_skew=config.clock_skew,
        )
        _check_replay(hub, response)
        if not eligibility.may_serve(idp, rp, now):
            raise ResponseRefused("idp-no-longer-allowed")
        session = _apply(hub, session, response, idp, rp)
    except SamlValidationError as exc:
        return _refuse(exc.reason, session)
    except ResponseRefused as exc:
        return _refuse(exc.reason, session)
    except s.InvalidTransition as exc:
        return _refuse(f"invalid-transition:{exc.reason}", session)
    hub.sessions.put(session, now=now)
    return redirect(url_for("journey.result"), code=303)


def _check_replay(hub: HubServices, response: ResponseData) -> None:
    now = hub.now()
    ttl = int((hub.config.session_lifetime + hub.config.clock_skew).total_seconds())
    if not hub.replay.add_if_absent("idp-response", f"{response.issuer} {response.id}", ttl):
        raise ResponseRefused("response-replayed")
    for assertion in response.assertions:
        remaining = int((assertion.data.not_on_or_after - now + hub.config.clock_skew).total_seconds()) + 1
        if not hub.replay.add_if_absent("assertion", f"{assertion.data.issuer} {assertion.data.id}", max(remaining, 1)):
            raise ResponseRefused("assertion-replayed")


def _apply(hub: HubServices, session: s.Session, response: ResponseData, idp, rp) -> s.Session:
    now, status = hub.now(), response.status
    ref = {"idp_entity_id": idp.entity_id, "in_response_to": response.in_response_to}
    common = {"session_id": session.session_id, "rp_entity_id": rp.entity_id, "idp_entity_id": idp.entity_id}
    if status.code == c.STATUS_SUCCESS:
        assertions = [a.data for a in response.assertions]
        if not assertions:
            raise ResponseRefused("success-without-assertions")
        if any(a.is_fraud for a in assertions):
            fraud = next(a for a in assertions if a.is_fraud)
            if not fraud.fraud_event_id or not fraud.gpg45_status:
                raise ResponseRefused("fraud-response-without-fraud-attributes")
            audit.emit("fraud_detected", **common, extra={"fraud_indicator": fraud.gpg45_status})
            return s.transition(session, s.FraudDetected(**ref), now)
        pair = split_idp_assertions(assertions, response_issuer=response.issuer)
        level = pair.authn.level_of_assurance
        try:
            check_returned_level(
                level,
                rp_levels=session.accepted_levels,
                idp_levels=idp.levels_of_assurance,
                comparison=idp.authn_context_comparison,
            )
        except LevelOfAssuranceError as exc:
            log.warning("idp response refused: level-of-assurance %s (%s)", exc.reason, level.name if level else None)
            audit.emit("idp_authn_failed", **common, levels=level, extra={"reason": f"loa-{exc.reason}"})
            return s.transition(session, s.IdpAuthnFailed(**ref, data={"problem": problems.LOA_TOO_LOW}), now)
        pid = pair.authn.name_id
        pid_hash = audit_pid(idp.entity_id, pid)
        audit.emit("idp_authn_succeeded", **common, levels=level, pid_hash=pid_hash)
        plaintexts = [a.plaintext for a in response.assertions]
        if rp.matching_service_entity_id is None:
            rp_cert = rp.encryption_certificate.certificate
            encrypted = [xmlsecurity.to_bytes(reencrypt_assertion(p, rp_cert)) for p in plaintexts]
            return s.transition(
                session,
                s.NonMatchingSuccess(
                    **ref, level=level, pid_hash=pid_hash, data={RP_ASSERTIONS: pack_assertions(encrypted)}
                ),
                now,
            )
        query_id = matching_step.new_query_id()
        session = s.transition(
            session,
            s.IdpAuthnSucceeded(
                **ref,
                level=level,
                matching_request_id=query_id,
                pid_hash=pid_hash,
                data=matching_step.keep_idp_assertions(plaintexts, pid),
            ),
            now,
        )
        hub.sessions.put(session, now=now)  # the matching call may be slow: the session is saved first
        return matching_step.send_query(hub, session, query_id)
    detail, sub = status.detail, status.sub_code
    if detail == c.STATUS_DETAIL_LOA_PENDING:
        audit.emit("idp_authn_pending", **common)
        return s.transition(session, s.IdpPending(**ref), now)
    if detail == c.STATUS_DETAIL_AUTHN_CANCEL or (sub == c.STATUS_NO_AUTHN_CONTEXT and detail is None):
        audit.emit("no_authn_context", **common)
        return s.transition(session, s.IdpCancelled(**ref), now)
    if status.code == c.STATUS_REQUESTER:
        audit.emit("requester_error", **common, extra={"status": "requester"})
        return s.transition(session, s.IdpRequesterError(**ref), now)
    audit.emit("idp_authn_failed", **common, extra={"status": detail or "authn-failed"})
    return s.transition(session, s.IdpAuthnFailed(**ref), now)
