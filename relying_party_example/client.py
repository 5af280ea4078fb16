"""A small client library for the hub: a department calls two methods and writes no SAML.

    client = HubClient(config, relying_party, credentials, metadata_source)
    request_id, post = client.start_sign_in(relay_state)   # keep request_id server-side, for this session
    ...                                                     # browser POSTs `post` to the hub
    request_id = client.request_id_answered(form["SAMLResponse"])  # unverified: finds the attempt
    outcome = client.handle_response(form["SAMLResponse"], expected_request_id=request_id_of_the_attempt)
    outcome.scenario, outcome.hashed_pid, outcome.level_of_assurance

The hub's own certificates and SSO URL come from signed federation metadata; the department's matching
service (its signing certificates) from the federation config. Any message that fails a check raises
`HubResponseError` with a short `reason` to log; a well-formed answer that is not a success (cancelled,
no match, ...) is an ordinary `Outcome`, not an error.

Hub status -> scenario (ARCHITECTURE section 2, step 10):
    Success + one matching-service assertion    SUCCESS_MATCH, or ACCOUNT_CREATION when the assertion
                                                carries account-creation attributes
    Success + the IDP's two assertions          IDENTITY_VERIFIED (a service without a matching service)
    Responder/no-match (or multiple-match)      NO_MATCH
    Responder/NoAuthnContext                    CANCELLATION
    Responder/AuthnFailed                       AUTHENTICATION_FAILED
    Requester (any second-level code)           REQUEST_ERROR
    VersionMismatch                             REQUEST_ERROR (our request was at fault)
    Responder with any other second-level code  AUTHENTICATION_FAILED: the hub could not give an identity
                                                and the citizen's next step is the same (try again or use
                                                another way); `Outcome.status` keeps the codes for logs.
"""

from __future__ import annotations

import enum
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509

from federation import xmlsecurity
from federation.config import ACCOUNT_CREATION_ATTRIBUTES, FederationConfig, RelyingParty
from federation.credentials import EntityCredentials
from federation.loa import LevelOfAssurance
from federation.metadata import FederationMetadata, MetadataSource
from federation.saml import (
    AssertionData,
    Attribute,
    MatchingDataset,
    SamlValidationError,
    Status,
    build_authn_request,
    decode_post,
    decrypt_assertion,
    encode_post,
    parse_assertion,
    parse_response,
    split_idp_assertions,
)
from federation.saml import constants as c
from federation.saml.bindings import MAX_RELAY_STATE_BYTES
from federation.saml.hashed_pid import hashed_pid
from federation.saml.ids import now_utc

Clock = Callable[[], datetime]
MAX_ID_LENGTH = 256  # our request IDs are 41 characters; anything far longer is not an answer to one

__all__ = ["HubClient", "HubResponseError", "Outcome", "SamlPost", "Scenario", "new_relay_state"]


class Scenario(enum.Enum):
    IDENTITY_VERIFIED = "identity_verified"
    SUCCESS_MATCH = "success_match"
    ACCOUNT_CREATION = "account_creation"
    NO_MATCH = "no_match"
    CANCELLATION = "cancellation"
    AUTHENTICATION_FAILED = "authentication_failed"
    REQUEST_ERROR = "request_error"

    @property
    def is_verified(self) -> bool:
        return self in _VERIFIED


_VERIFIED = frozenset({Scenario.IDENTITY_VERIFIED, Scenario.SUCCESS_MATCH, Scenario.ACCOUNT_CREATION})


@dataclass(frozen=True)
class Outcome:
    """What the hub said, in the department's terms. Attribute values are personal data: never log them."""

    scenario: Scenario
    response_id: str
    status: Status
    hashed_pid: str | None = None
    level_of_assurance: LevelOfAssurance | None = None
    attributes: tuple[Attribute, ...] = ()  # account creation: the attributes the matching service returned
    matching_dataset: MatchingDataset | None = None  # non-matching journey: the IDP's verified details


@dataclass(frozen=True)
class SamlPost:
    """An HTTP-POST binding message: the browser POSTs `field_name=value` (and RelayState) to `url`."""

    url: str
    field_name: str
    value: str
    relay_state: str | None


class HubResponseError(Exception):
    """The hub's answer was refused. `reason` is a short code for the log (never personal data)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


def new_relay_state() -> str:
    """An opaque, unguessable RelayState (43 characters; SAML allows 80 bytes)."""
    return secrets.token_urlsafe(32)


class _ConsumedRequests:
    """Request IDs already answered, so a captured Response cannot be replayed (one process only)."""

    def __init__(self, ttl: timedelta) -> None:
        self._ttl = ttl.total_seconds()
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def consume(self, request_id: str) -> bool:
        """True the first time a request ID is seen, False afterwards (until it expires)."""
        now = time.monotonic()
        with self._lock:
            self._expiry = {key: until for key, until in self._expiry.items() if until > now}
            if request_id in self._expiry:
                return False
            self._expiry[request_id] = now + self._ttl
            return True


class HubClient:
    """Signs citizens in through the hub on behalf of one relying party."""

    def __init__(
        self,
        config: FederationConfig,
        relying_party: RelyingParty,
        credentials: EntityCredentials,
        metadata_source: MetadataSource,
        clock: Clock = now_utc,
    ) -> None:
        self.config = config
        self.relying_party = relying_party
        self.acs_url = relying_party.default_acs_url()
        self._credentials = credentials
        self._metadata = metadata_source
        self._clock = clock
        self._consumed = _ConsumedRequests(config.session_lifetime + config.clock_skew)
        self._matching_service_certs: tuple[x509.Certificate, ...] = ()
        if relying_party.matching_service_entity_id is not None:
            matching_service = config.matching_service(relying_party.matching_service_entity_id)
            if matching_service is None:  # the config loader already refuses this; be explicit anyway
                raise ValueError(f"no matching service {relying_party.matching_service_entity_id!r} in the config")
            self._matching_service_certs = tuple(cert.certificate for cert in matching_service.signing_certificates)

    # --- sending the citizen to the hub ---------------------------------------------------------------

    def start_sign_in(self, relay_state: str | None = None) -> tuple[str, SamlPost]:
        """A signed AuthnRequest to the hub's SSO URL (from metadata). Keep the returned ID for the answer.

        No AssertionConsumerServiceIndex: the hub answers at our default ACS URL from the federation config,
        and our accepted levels of assurance also come from that config, not from the request.
        """
        if relay_state is not None and len(relay_state.encode("utf-8")) > MAX_RELAY_STATE_BYTES:
            raise ValueError(f"RelayState must be at most {MAX_RELAY_STATE_BYTES} bytes")
        destination = self._metadata.current.hub.sso_url
        request = build_authn_request(
            issuer=self.relying_party.entity_id,
            destination=destination,
            credential=self._credentials.signing,
            now=self._clock(),
        )
        post = SamlPost(destination, "SAMLRequest", encode_post(xmlsecurity.to_bytes(request)), relay_state)
        return request.get("ID"), post

    # --- reading the hub's answer ---------------------------------------------------------------------

    def request_id_answered(self, saml_response_b64: str) -> str:
        """The request ID a hub Response says it answers (its InResponseTo), NOT verified: only to find the
        sign-in attempt, when the hub's POST comes without the browser's cookie (the hub on another site).
        `handle_response` then checks it against the attempt on the signed Response. Raises HubResponseError.
        """
        try:
            root = xmlsecurity.parse_xml(decode_post(saml_response_b64))
        except SamlValidationError as exc:
            raise HubResponseError(exc.reason, exc.message) from None
        except xmlsecurity.XmlSecurityError as exc:
            raise HubResponseError(exc.reason, str(exc)) from None
        in_response_to = root.get("InResponseTo")
        if not in_response_to or len(in_response_to) > MAX_ID_LENGTH:
            raise HubResponseError("no-in-response-to", "the Response names no request it answers")
        return in_response_to

    def handle_response(self, saml_response_b64: str, *, expected_request_id: str) -> Outcome:
        """Validate the hub's Response to our request and say what it means. Raises HubResponseError."""
        try:
            return self._handle(saml_response_b64, expected_request_id)
        except SamlValidationError as exc:
            raise HubResponseError(exc.reason, exc.message) from None
        except xmlsecurity.XmlSecurityError as exc:
            raise HubResponseError(exc.reason, str(exc)) from None

    def _handle(self, saml_response_b64: str, expected_request_id: str) -> Outcome:
        metadata = self._metadata.current
        now = self._clock()
        hub = metadata.hub
        # The Response must be signed by the hub: only the hub's certificates are offered for it.
        response = parse_response(
            decode_post(saml_response_b64),
            certificates_for_issuer=lambda issuer: hub.signing_certificates if issuer == hub.entity_id else (),
            expected_destination=self.acs_url,
            expected_in_response_to=expected_request_id,
            expected_audience=self.relying_party.entity_id,
            now=now,
            clock_skew=self.config.clock_skew,
        )
        if not self._consumed.consume(expected_request_id):
            raise HubResponseError("replayed-response", "this sign-in request has already been answered")
        status = response.status
        if not status.is_success:
            if response.encrypted_assertions:
                raise HubResponseError("unexpected-assertions", "a non-success response carries assertions")
            return Outcome(_failure_scenario(status), response.id, status)
        if not response.encrypted_assertions:
            raise HubResponseError("missing-assertion", "a success response carries no assertion")
        decrypted = [
            decrypt_assertion(xmlsecurity.parse_xml(encrypted), [self._credentials.encryption])
            for encrypted in response.encrypted_assertions
        ]
        elements = [d.element for d in decrypted]
        if self.relying_party.uses_matching:
            return self._matching_outcome(elements, response.id, status, expected_request_id, now)
        return self._non_matching_outcome(elements, response.id, status, metadata, now)

    def _matching_outcome(
        self, elements: Sequence, response_id: str, status: Status, request_id: str, now: datetime
    ) -> Outcome:
        """One assertion from our matching service: NameID = hashed PID, addressed to us."""
        if len(elements) != 1:
            raise HubResponseError("wrong-assertion-count", "expected one assertion from the matching service")
        ms_id = self.relying_party.matching_service_entity_id
        assertion = parse_assertion(
            elements[0],
            certificates_for_issuer=lambda issuer: self._matching_service_certs if issuer == ms_id else (),
            expected_audience=self.relying_party.entity_id,
            expected_recipient=self.acs_url,
            expected_in_response_to=request_id,
            now=now,
            clock_skew=self.config.clock_skew,
        )
        level = self._accepted_level(assertion)
        created = tuple(a for a in assertion.attributes if a.name in ACCOUNT_CREATION_ATTRIBUTES)
        return Outcome(
            Scenario.ACCOUNT_CREATION if created else Scenario.SUCCESS_MATCH,
            response_id,
            status,
            hashed_pid=assertion.name_id,
            level_of_assurance=level,
            attributes=created,
        )

    def _non_matching_outcome(
        self, elements: Sequence, response_id: str, status: Status, metadata: FederationMetadata, now: datetime
    ) -> Outcome:
        """The IDP's two assertions, relayed unchanged: addressed to the hub and answering the hub's request
        (which we cannot know), so InResponseTo is not compared; the hub's signed Response binds them to ours.
        """
        idps = metadata.identity_providers

        def idp_certificates(issuer: str) -> tuple[x509.Certificate, ...]:
            idp = idps.get(issuer)
            return idp.signing_certificates if idp is not None else ()

        assertions = [
            parse_assertion(
                element,
                certificates_for_issuer=idp_certificates,
                expected_audience=metadata.hub.entity_id,
                expected_recipient=metadata.hub.response_url,
                expected_in_response_to=None,
                now=now,
                clock_skew=self.config.clock_skew,
            )
            for element in elements
        ]
        if not assertions:
            raise HubResponseError("missing-assertion", "a success response carries no assertion")
        idp_assertions = split_idp_assertions(assertions, response_issuer=assertions[0].issuer)
        authn = idp_assertions.authn
        if authn.is_fraud:
            raise HubResponseError("fraud-assertion", "the hub relayed a fraud assertion as a success")
        level = self._accepted_level(authn)
        # A service without a matching service stands in its place in the hashed PID (one per IDP and RP).
        pid = hashed_pid(authn.issuer, self.relying_party.entity_id, authn.name_id)
        return Outcome(
            Scenario.IDENTITY_VERIFIED,
            response_id,
            status,
            hashed_pid=pid,
            level_of_assurance=level,
            matching_dataset=idp_assertions.matching_dataset.matching_dataset,
        )

    def _accepted_level(self, assertion: AssertionData) -> LevelOfAssurance:
        level = assertion.level_of_assurance
        if level is None:
            raise HubResponseError("missing-loa", "the assertion carries no level of assurance")
        if level < self.relying_party.minimum_level:
            raise HubResponseError("loa-too-low", "the level of assurance is below what this service accepts")
        return level


def _failure_scenario(status: Status) -> Scenario:
    if status.code in (c.STATUS_REQUESTER, c.STATUS_VERSION_MISMATCH):
        return Scenario.REQUEST_ERROR
    if status.sub_code in (c.STATUS_NO_MATCH, c.STATUS_MULTIPLE_MATCH):
        return Scenario.NO_MATCH
    if status.sub_code == c.STATUS_NO_AUTHN_CONTEXT:
        return Scenario.CANCELLATION
    return Scenario.AUTHENTICATION_FAILED  # AuthnFailed, and any other Responder code (see the module doc)
