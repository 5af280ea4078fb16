"""The matching service's SOAP replies to the hub: signed Responses, and faults for unanswerable requests.

Status codes follow the GOV.UK Verify matching-service profile: the cabinet-office code travels as the
second-level StatusCode, under `Success` when the RP gets an assertion (match, created) and under
`Responder` when it does not (no-match, create-failure); `Requester` for a query we refused, `Responder`
alone when we could not answer (local matcher down). The Response has InResponseTo = the query ID and no
Destination (back channel).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509

from federation.credentials import SigningCredential
from federation.keyring import SigningKeyRing
from federation.loa import LevelOfAssurance
from federation.saml import constants as c
from federation.saml import soap
from federation.saml.assertion import Attribute, build_assertion
from federation.saml.response import Status, build_response, encrypt_assertion
from federation.xmlsecurity import KeyTransport

MATCH = Status(c.STATUS_SUCCESS, c.STATUS_MATCH)
NO_MATCH = Status(c.STATUS_RESPONDER, c.STATUS_NO_MATCH)
CREATED = Status(c.STATUS_SUCCESS, c.STATUS_CREATED)
CREATE_FAILURE = Status(c.STATUS_RESPONDER, c.STATUS_CREATE_FAILURE)
RESPONDER_ERROR = Status(c.STATUS_RESPONDER)
HEALTHY = Status(c.STATUS_SUCCESS, c.STATUS_HEALTHY)  # the answer to the hub's health check


def requester_error(reason: str) -> Status:
    """A refused query; the reason code (never personal data) helps the hub's operator."""
    return Status(c.STATUS_REQUESTER, message=reason)


@dataclass(frozen=True)
class SoapReply:
    """What the endpoint answers: an HTTP status and a SOAP envelope (SOAP 1.1: faults travel as 500)."""

    status: int
    body: bytes
    content_type: str = soap.CONTENT_TYPE


def fault(reason: str, *, status: int = 500) -> SoapReply:
    return SoapReply(status, soap.fault(reason))


@dataclass(frozen=True)
class ResponseSigner:
    """This matching service's identity as the author of replies and of assertions for RPs."""

    entity_id: str
    signing: SigningCredential | SigningKeyRing  # a ring when the key may be rotated under the process

    @property
    def credential(self) -> SigningCredential:
        return self.signing.current if isinstance(self.signing, SigningKeyRing) else self.signing

    def status_reply(self, *, in_response_to: str, status: Status, now: datetime) -> SoapReply:
        response = build_response(
            issuer=self.entity_id, in_response_to=in_response_to, status=status, credential=self.credential, now=now
        )
        return SoapReply(200, soap.wrap(response))

    def assertion_reply(
        self,
        *,
        in_response_to: str,
        status: Status,
        now: datetime,
        hashed_pid: str,
        relying_party_entity_id: str,
        relying_party_encryption_certificate: x509.Certificate,
        relying_party_key_transport: KeyTransport,
        rp_acs_url: str,
        rp_request_id: str,
        level_of_assurance: LevelOfAssurance,
        authn_instant: datetime | None,
        valid_for: timedelta,
        attributes: Sequence[Attribute] = (),
    ) -> SoapReply:
        """A Success reply carrying one assertion about `hashed_pid`, signed by us, encrypted for the RP."""
        assertion = build_assertion(
            issuer=self.entity_id,
            name_id=hashed_pid,
            audience=relying_party_entity_id,
            recipient=rp_acs_url,
            in_response_to=rp_request_id,
            credential=self.credential,
            now=now,
            level_of_assurance=level_of_assurance,
            authn_instant=authn_instant,
            attributes=attributes,
            valid_for=valid_for,
        )
        response = build_response(
            issuer=self.entity_id,
            in_response_to=in_response_to,
            status=status,
            credential=self.credential,
            now=now,
            assertions=[
                encrypt_assertion(
                    assertion, relying_party_encryption_certificate, key_transport=relying_party_key_transport
                )
            ],
        )
        return SoapReply(200, soap.wrap(response))
