"""An identity provider's Response read as the hub reads it: the IDP profile's checks, in one place.

The hub's IDP-side engine and the compliance tool (`federation check-idp`) both read an IDP's answer with
these functions, so what the tool reports is what the hub would log. Two steps, because the hub records the
Response and its assertions in its replay cache in between (a Response refused for its content cannot be
posted again):

1. `parse_idp_response`: the message (signature by the IDP the citizen chose, Destination, InResponseTo,
   freshness, status, decryption and every assertion: Audience, Recipient, times, attributes);
2. `read_idp_answer`: what the answer means in the profile (success with its two assertions, fraud with
   its attributes, cancel, pending, authentication failed, requester error).

`check_returned_level` is the profile's rule for the level a success asserts. Every refusal is a
`SamlValidationError` whose `refusal` names what failed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from lxml import etree

from federation.credentials import DecryptionCredential
from federation.loa import LevelOfAssurance
from federation.logsafe import log_safe
from federation.saml import constants as c
from federation.saml.assertion import AssertionData, IdpAssertions, split_idp_assertions
from federation.saml.errors import SamlValidationError
from federation.saml.response import ResponseData, parse_response


class IdpAnswerKind(enum.StrEnum):
    SUCCESS = "success"
    FRAUD = "fraud"
    CANCEL = "cancel"
    PENDING = "pending"
    AUTHN_FAILED = "authn-failed"
    REQUESTER_ERROR = "requester-error"


@dataclass(frozen=True)
class IdpAnswer:
    """What a verified IDP Response says, in the profile's terms."""

    kind: IdpAnswerKind
    response: ResponseData
    assertions: IdpAssertions | None = None  # SUCCESS: the authn and the matching dataset assertions
    fraud: AssertionData | None = None  # FRAUD: the levelX assertion with the fraud attributes
    failure: str | None = None  # AUTHN_FAILED: the IDP's StatusDetail, or "authn-failed"

    @property
    def level(self) -> LevelOfAssurance | None:
        return self.assertions.authn.level_of_assurance if self.assertions else None


@dataclass(frozen=True)
class HubEnd:
    """Who the IDP answers: the hub's entity ID (the Audience) and response URL (Destination, Recipient)."""

    entity_id: str
    response_url: str


def parse_idp_response(
    root: etree._Element,
    *,
    idp_entity_id: str,
    idp_certificates: Sequence,
    is_another_idp: Callable[[str], bool],
    hub: HubEnd,
    request_id: str,
    decryption: Sequence[DecryptionCredential],
    now: datetime,
    clock_skew: timedelta,
) -> ResponseData:
    """Verify `root` as the answer of the IDP `idp_entity_id` to the hub's request `request_id`.

    `is_another_idp(issuer)`: whether a Response or assertion issuer is a known IDP other than the chosen
    one (refused as `issuer-not-selected-idp`, not as an unknown issuer).
    """

    def certificates_for_issuer(issuer: str) -> Sequence:
        if issuer == idp_entity_id:
            return idp_certificates
        if is_another_idp(issuer):
            raise SamlValidationError(
                "issuer-not-selected-idp",
                "the Response is not from the selected IDP",
                detail=f"{log_safe(issuer, max_chars=120)} (the hub's request went to {idp_entity_id})",
            )
        return ()

    return parse_response(
        root,
        certificates_for_issuer=certificates_for_issuer,
        expected_destination=hub.response_url,
        expected_in_response_to=request_id,
        expected_audience=hub.entity_id,
        decryption_credentials=decryption,
        now=now,
        clock_skew=clock_skew,
    )


def _missing_fraud_attributes(fraud: AssertionData) -> list[str]:
    return [
        name
        for name, value in (
            (c.FECI_IDP_FRAUD_EVENT_ID, fraud.fraud_event_id),
            (c.FECI_GPG45_STATUS, fraud.gpg45_status),
        )
        if not value
    ]


def read_idp_answer(response: ResponseData) -> IdpAnswer:
    """The profile's meaning of a verified IDP Response (SamlValidationError if it has none)."""
    status = response.status
    if status.code == c.STATUS_SUCCESS:
        assertions = [a.data for a in response.assertions]
        if not assertions:
            raise SamlValidationError(
                "success-without-assertions",
                "a Success response carries no assertion",
                detail="saml:EncryptedAssertion (a Success carries the authn and the matching dataset assertions)",
            )
        fraud = next((a for a in assertions if a.is_fraud), None)
        if fraud is not None:
            missing = _missing_fraud_attributes(fraud)
            if missing:
                detail = f"{' and '.join(missing)} (a levelX assertion carries both, one text value each)"
                raise SamlValidationError(
                    "fraud-response-without-fraud-attributes",
                    "a fraud response must carry the fraud event ID and GPG45 status",
                    detail=detail,
                )
            return IdpAnswer(IdpAnswerKind.FRAUD, response, fraud=fraud)
        pair = split_idp_assertions(assertions, response_issuer=response.issuer)
        return IdpAnswer(IdpAnswerKind.SUCCESS, response, assertions=pair)
    detail, sub = status.detail, status.sub_code
    if detail == c.STATUS_DETAIL_LOA_PENDING:
        return IdpAnswer(IdpAnswerKind.PENDING, response)
    if detail == c.STATUS_DETAIL_AUTHN_CANCEL or (sub == c.STATUS_NO_AUTHN_CONTEXT and detail is None):
        return IdpAnswer(IdpAnswerKind.CANCEL, response)
    if status.code == c.STATUS_REQUESTER:
        return IdpAnswer(IdpAnswerKind.REQUESTER_ERROR, response)
    return IdpAnswer(IdpAnswerKind.AUTHN_FAILED, response, failure=detail or "authn-failed")


def check_returned_level(
    level: LevelOfAssurance,
    *,
    requested: Collection[LevelOfAssurance],
    comparison: str,
    certified: Collection[LevelOfAssurance],
) -> None:
    """The level a success asserts must be one the IDP is certified for and satisfy the hub's request:
    at least its lowest level (`minimum`) or one of its levels (`exact`). Refusals: `loa-not-certified`,
    `loa-below-minimum`, `loa-not-requested`."""
    asked = ", ".join(sorted(lv.name for lv in requested)) or "no level"
    if level not in certified:
        certified_names = ", ".join(sorted(lv.name for lv in certified))
        raise SamlValidationError(
            "loa-not-certified",
            "the IDP is not certified for the level it asserted",
            detail=f"{level.name} (certified for {certified_names})",
        )
    if requested and level < min(requested):
        raise SamlValidationError(
            "loa-below-minimum",
            "the level is below what the hub asked for",
            detail=f"{level.name} (the hub asked for at least {min(requested).name})",
        )
    if requested and comparison == "exact" and level not in requested:
        raise SamlValidationError(
            "loa-not-requested",
            "the level is not one the hub asked for",
            detail=f"{level.name} (asked: {asked}, exact)",
        )


__all__ = [
    "HubEnd",
    "IdpAnswer",
    "IdpAnswerKind",
    "check_returned_level",
    "parse_idp_response",
    "read_idp_answer",
]
