"""The IDP-side engine: a SAML Response from an identity provider in, a typed `IdpOutcome` out.

Everything SAML about an IDP's answer happens here, checked per ARCHITECTURE section 6: the signature
from the selected IDP's metadata, decryption, Destination, InResponseTo (the request this session sent),
Audience, times, replay of the Response and of each assertion, the IDP still being allowed to serve the
service, the level of assurance, and the fraud attributes. On success the IDP's assertions, untouched and
still IDP-signed, are re-encrypted at once for whoever reads them next (the service's matching service, or
a service without one), so the outcome never holds them in clear.

With `keep_identity` (the service's front end hands identity attributes to it: SAML `standard`, OIDC) the
outcome also carries the matching dataset the IDP verified, for the journey's end.

No Flask here and no journey state changes: the caller decides when and in which browser the outcome
takes effect (`hub.views.idp_response`).

Replay: the Response's ID and each assertion's ID are recorded with a digest of the whole Response and the
journey it answered. The very same Response posted again for the same journey is a retry only if the
caller says so (`retry_allowed`: nothing was parked for the request yet, so a hub process died after
recording it and before parking its outcome, and the citizen posted it again); it is then verified and
parked, and still takes effect at most once, in the browser that holds the journey. Anything else seen
before is a replay: a Response or assertion ID in another message, or the same Response once spent.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from federation import xmlsecurity
from federation.config import IdentityProvider, RelyingParty
from federation.loa import LevelOfAssurance
from federation.saml.authn_request import build_authn_request
from federation.saml.errors import SamlValidationError
from federation.saml.hashed_pid import audit_pid
from federation.saml.idp_response import HubEnd, IdpAnswerKind, parse_idp_response, read_idp_answer
from federation.saml.response import ResponseData, reencrypt_assertion
from federation.web import problems
from hub.policy import eligibility
from hub.policy import outcomes as o
from hub.policy.loa_rules import LevelOfAssuranceError, check_returned_level
from hub.policy.states import Session
from hub.services import HubServices

log = logging.getLogger("hub.idp_response")


class ResponseRefused(Exception):
    """The Response cannot be used; `reason` is a short machine-readable code, `refusal` what the operator's
    log says: `reason:what failed` (federation.saml.errors.SamlValidationError.refusal)."""

    def __init__(self, reason: str, refusal: str | None = None) -> None:
        super().__init__(refusal or reason)
        self.reason = reason
        self.refusal = refusal or reason

    @classmethod
    def from_saml(cls, exc: SamlValidationError) -> ResponseRefused:
        return cls(exc.reason, exc.refusal)


@dataclass(frozen=True)
class HubRequest:
    """The hub's signed AuthnRequest to an IDP, ready for the HTTP-POST binding."""

    id: str
    destination: str
    saml_request: bytes


def authn_request_to(
    hub: HubServices, idp: IdentityProvider, levels: tuple[LevelOfAssurance, ...], *, force_authn: bool
) -> HubRequest:
    """The hub's own request to `idp` (Issuer = the hub: the IDP never learns which service asked)."""
    element = build_authn_request(
        issuer=hub.config.hub.entity_id,
        destination=idp.sso_url,
        credential=hub.signing,
        now=hub.now(),
        levels=levels,
        comparison=idp.authn_context_comparison,
        force_authn=force_authn,
    )
    return HubRequest(element.get("ID"), idp.sso_url, xmlsecurity.to_bytes(element))


@dataclass(frozen=True)
class Keep:
    """What the service's front end needs from a success: the IDP's assertions re-encrypted for the service
    (SAML `verify` without a matching service), the verified identity (SAML `standard`, OIDC), or both."""

    idp_assertions_for_service: bool = True
    identity: bool = False


@dataclass(frozen=True)
class Routing:
    """The unverified InResponseTo of a Response: used only to find the session it claims to answer."""

    in_response_to: str


def route(root: xmlsecurity.Element) -> Routing:
    in_response_to = root.get("InResponseTo")
    if not in_response_to or len(in_response_to) > 256:
        raise ResponseRefused("no-in-response-to")
    return Routing(in_response_to)


def read_idp_response(
    hub: HubServices,
    root: xmlsecurity.Element,
    session: Session,
    idp: IdentityProvider,
    rp: RelyingParty,
    *,
    keep: Keep = Keep(),
    retry_allowed: bool = False,
) -> o.IdpOutcome:
    """Verify `root` as `idp`'s answer to the request `session` sent; ResponseRefused on any failure.
    `retry_allowed`: the same Response seen before for this journey is accepted again (see above)."""
    config, now = hub.config, hub.now()
    fingerprint = hashlib.sha256(xmlsecurity.to_bytes(root)).hexdigest()  # before anything reads (or decrypts) it
    try:
        response = parse_idp_response(
            root,
            idp_entity_id=idp.entity_id,
            idp_certificates=hub.signing_certificates(idp.entity_id),
            is_another_idp=lambda issuer: hub.identity_provider(issuer) is not None,
            hub=HubEnd(config.hub.entity_id, config.hub.response_url),
            request_id=session.hub_request_id,
            decryption=hub.decryption,
            now=now,
            clock_skew=config.clock_skew,
        )
    except SamlValidationError as exc:
        raise ResponseRefused.from_saml(exc) from exc
    _check_replay(hub, response, fingerprint, _journey_binding(session) if retry_allowed else None)
    if not eligibility.may_serve(idp, rp, now):
        raise ResponseRefused("idp-no-longer-allowed")
    return _outcome(hub, session, response, idp, rp, keep=keep)


def _journey_binding(session: Session) -> str:
    """Which journey consumed an ID, as the replay cache keeps it (a digest: never a usable session ID)."""
    return hashlib.sha256(b"idp-response-journey\x00" + session.journey_id.encode()).hexdigest()


def _check_replay(hub: HubServices, response: ResponseData, fingerprint: str, retry_of: str | None) -> None:
    """Record the IDs; a second sight is a replay unless it is this same message for journey `retry_of`."""
    now = hub.now()
    ttl = int((hub.config.session_lifetime + hub.config.clock_skew).total_seconds())
    key = f"{response.issuer} {response.id}"
    if not _first_or_retry(hub, "idp-response", key, fingerprint, ttl, retry_of):
        raise ResponseRefused("response-replayed")
    for assertion in response.assertions:
        remaining = int((assertion.data.not_on_or_after - now + hub.config.clock_skew).total_seconds()) + 1
        key = f"{assertion.data.issuer} {assertion.data.id}"
        if not _first_or_retry(hub, "assertion", key, fingerprint, max(remaining, 1), retry_of):
            raise ResponseRefused("assertion-replayed")


def _first_or_retry(
    hub: HubServices, namespace: str, key: str, fingerprint: str, ttl: int, retry_of: str | None
) -> bool:
    seen = hub.replay.claim(namespace, key, fingerprint, ttl, binding=retry_of or "")
    if seen.first:
        return True
    if retry_of is not None and seen.same_message and seen.binding == retry_of:
        log.info("idp response posted again for its journey before any answer was parked: a retry (%s)", namespace)
        return True
    return False


def _outcome(
    hub: HubServices,
    session: Session,
    response: ResponseData,
    idp: IdentityProvider,
    rp: RelyingParty,
    *,
    keep: Keep,
) -> o.IdpOutcome:
    ref = {"idp_entity_id": idp.entity_id, "in_response_to": response.in_response_to}
    try:
        answer = read_idp_answer(response)
    except SamlValidationError as exc:
        raise ResponseRefused.from_saml(exc) from exc
    if answer.kind is IdpAnswerKind.FRAUD and answer.fraud is not None:
        return o.IdpFraud(**ref, indicator=answer.fraud.gpg45_status or "")
    if answer.kind is IdpAnswerKind.SUCCESS and answer.assertions is not None:
        pair = answer.assertions
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
            return o.IdpAuthnFailed(**ref, reason=f"loa-{exc.reason}", problem=problems.LOA_TOO_LOW, level=level)
        matching = rp.matching_service_entity_id is not None
        recipient, transport = None, None
        if matching:
            ms = hub.config.matching_service(rp.matching_service_entity_id)
            recipient, transport = ms.encryption_certificate.certificate, ms.key_transport
        elif keep.idp_assertions_for_service:
            recipient, transport = rp.encryption_certificate.certificate, rp.key_transport
        sealed = tuple(  # the EncryptedAssertion's XML as text: it travels in JSON (parked, held), not base64
            xmlsecurity.to_bytes(reencrypt_assertion(a.plaintext, recipient, key_transport=transport)).decode()
            for a in response.assertions
            if recipient is not None
        )
        pid = pair.authn.name_id
        return o.IdpSuccess(
            **ref,
            level=level,
            pid=pid,
            pid_hash=audit_pid(idp.entity_id, pid),
            authn_instant=pair.authn.authn_instant or hub.now(),
            sealed_assertions=sealed,
            for_matching_service=matching,
            identity=pair.matching_dataset.matching_dataset if keep.identity else None,
        )
    if answer.kind is IdpAnswerKind.PENDING:
        return o.IdpPending(**ref)
    if answer.kind is IdpAnswerKind.CANCEL:
        return o.IdpCancelled(**ref)
    if answer.kind is IdpAnswerKind.REQUESTER_ERROR:
        return o.IdpRequesterError(**ref)
    return o.IdpAuthnFailed(**ref, reason=answer.failure or "authn-failed")
