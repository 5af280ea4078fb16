"""Every Response a stub IDP can send to the hub, one per `Outcome` (ARCHITECTURE section 2, step 5).

Success and fraud carry two assertions, each signed by the IDP and encrypted for the hub: the authn
statement assertion (the LoA, or `levelX` plus the fraud attributes for fraud; `TXN_IPaddress`) and the
matching dataset assertion. Both have the same persistent NameID. Failures carry a status only, with the
status codes and StatusDetail values the GOV.UK Verify hub maps (pending and uplift-failed are
Responder/NoAuthnContext distinguished by their StatusDetail).
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509

from federation import xmlsecurity
from federation.credentials import SigningCredential
from federation.keyring import SigningKeyRing
from federation.loa import LevelOfAssurance
from federation.metadata import FederationMetadata
from federation.saml import Attribute, Status, build_assertion, build_response, encrypt_assertion, mds_attributes
from federation.saml import constants as c
from stub_idps.users import StubUser, pid_for

# Bearer confirmation and Conditions of our assertions: long enough for the hub and the matching service
# to consume them in one journey (the hub re-sends them at cycle 3, usually within minutes).
# The hub relays the IDP's assertions to the matching service again for cycle 3, later in the session, so
# they stay valid for a session's lifetime (the hub's replay cache keeps their IDs as long).
DEFAULT_ASSERTION_LIFETIME = timedelta(minutes=90)


class Outcome(enum.StrEnum):
    SUCCESS = "success"
    CANCEL = "cancel"
    AUTHN_FAILED = "authn-failed"
    REQUESTER_ERROR = "requester-error"
    REQUEST_DENIED = "request-denied"
    PENDING = "pending"
    UPLIFT_FAILED = "uplift-failed"
    FRAUD_DF01 = "fraud-DF01"
    FRAUD_FI01 = "fraud-FI01"
    FRAUD_IT01 = "fraud-IT01"

    @property
    def fraud_code(self) -> str | None:
        """The GPG45 status of a fraud outcome (DF01 deceased, FI01 identity fraud, IT01 impersonation)."""
        return self.value.removeprefix("fraud-") if self.value.startswith("fraud-") else None

    @property
    def needs_user(self) -> bool:
        """Success and fraud assert about someone, so they need a user (for the PID and the MDS)."""
        return self is Outcome.SUCCESS or self.fraud_code is not None


FAILURE_STATUS: dict[Outcome, Status] = {
    Outcome.CANCEL: Status(c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT, detail=c.STATUS_DETAIL_AUTHN_CANCEL),
    Outcome.AUTHN_FAILED: Status(c.STATUS_RESPONDER, c.STATUS_AUTHN_FAILED),
    Outcome.REQUESTER_ERROR: Status(c.STATUS_REQUESTER),
    Outcome.REQUEST_DENIED: Status(c.STATUS_REQUESTER, c.STATUS_REQUEST_DENIED),
    Outcome.PENDING: Status(c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT, detail=c.STATUS_DETAIL_LOA_PENDING),
    Outcome.UPLIFT_FAILED: Status(c.STATUS_RESPONDER, c.STATUS_NO_AUTHN_CONTEXT, detail=c.STATUS_DETAIL_UPLIFT_FAILED),
}


@dataclass(frozen=True)
class HubEndpoint:
    """Where and for whom the Response goes, read from signed federation metadata."""

    entity_id: str
    response_url: str
    encryption_certificate: x509.Certificate

    @classmethod
    def from_metadata(cls, metadata: FederationMetadata) -> HubEndpoint:
        hub = metadata.hub
        if not hub.encryption_certificates:
            raise ValueError("federation metadata lists no encryption certificate for the hub")
        return cls(hub.entity_id, hub.response_url, hub.encryption_certificates[0])


@dataclass(frozen=True)
class IdpSigner:
    name: str
    entity_id: str
    signing: SigningCredential | SigningKeyRing  # a ring when the key may be rotated under the process

    @property
    def credential(self) -> SigningCredential:
        return self.signing.current if isinstance(self.signing, SigningKeyRing) else self.signing


def _assertions(
    *,
    outcome: Outcome,
    idp: IdpSigner,
    hub: HubEndpoint,
    in_response_to: str,
    now: datetime,
    user: StubUser,
    level: LevelOfAssurance,
    ip_address: str | None,
    lifetime: timedelta,
) -> list:
    common = {
        "issuer": idp.entity_id,
        "name_id": pid_for(idp.name, user.username),
        "audience": hub.entity_id,
        "recipient": hub.response_url,
        "in_response_to": in_response_to,
        "credential": idp.credential,
        "now": now,
        "valid_for": lifetime,
    }
    authn_attributes = []
    if outcome.fraud_code is not None:
        event_id = f"{idp.name}-fraud-{secrets.token_hex(6)}"
        authn_attributes += [
            Attribute(c.FECI_IDP_FRAUD_EVENT_ID, (event_id,)),
            Attribute(c.FECI_GPG45_STATUS, (outcome.fraud_code,)),
        ]
    if ip_address:
        authn_attributes.append(Attribute(c.TXN_IPADDRESS, (ip_address,)))
    if outcome.fraud_code is not None:
        authn = build_assertion(**common, fraud=True, attributes=authn_attributes)
    else:
        authn = build_assertion(**common, level_of_assurance=level, attributes=authn_attributes)
    mds = build_assertion(**common, attributes=mds_attributes(user.matching_dataset))
    return [encrypt_assertion(authn, hub.encryption_certificate), encrypt_assertion(mds, hub.encryption_certificate)]


def build_idp_response(
    *,
    outcome: Outcome,
    idp: IdpSigner,
    hub: HubEndpoint,
    in_response_to: str,
    now: datetime,
    user: StubUser | None = None,
    level: LevelOfAssurance | None = None,
    ip_address: str | None = None,
    assertion_lifetime: timedelta = DEFAULT_ASSERTION_LIFETIME,
) -> bytes:
    """The signed Response (XML bytes) for `outcome`; success and fraud need `user`, success also `level`."""
    assertions = []
    if outcome.needs_user:
        if user is None:
            raise ValueError(f"outcome {outcome} needs a user")
        if outcome is Outcome.SUCCESS and level is None:
            raise ValueError("a success response needs the level of assurance")
        assertions = _assertions(
            outcome=outcome,
            idp=idp,
            hub=hub,
            in_response_to=in_response_to,
            now=now,
            user=user,
            level=level,  # type: ignore[arg-type]
            ip_address=ip_address,
            lifetime=assertion_lifetime,
        )
        status = Status(c.STATUS_SUCCESS)
    else:
        status = FAILURE_STATUS[outcome]
    response = build_response(
        issuer=idp.entity_id,
        in_response_to=in_response_to,
        status=status,
        credential=idp.credential,
        now=now,
        destination=hub.response_url,
        assertions=assertions,
    )
    return xmlsecurity.to_bytes(response)
