"""The `verify` profile's success: our matching service's own assertion, or the identity provider's two.

With a matching service the hub relays the assertion that service signed (NameID = its hashed PID). A
service without one gets the IDP's two assertions, still signed by the IDP, re-encrypted for the service:
they are addressed to the hub and carry the IDP's own PID, which the hub cannot rewrite without breaking
the IDP's signature. So the client turns that PID into `pairwise_id(idp, service, pid)` at once and hands
the service only that: two services never share an identifier for a citizen, and the PID never leaves
this module (docs/saml-profiles.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509

from federation.config import ACCOUNT_CREATION_ATTRIBUTES
from federation.metadata import FederationMetadata
from federation.saml import DecryptedAssertion, ResponseData, parse_assertion, split_idp_assertions
from federation.saml.standard import pairwise_id
from hub_client.errors import HubResponseError
from hub_client.expectations import Expected, accepted_level
from hub_client.outcome import Outcome, Scenario

__all__ = ["read_matching_service_assertion", "read_idp_assertions"]


def read_matching_service_assertion(
    decrypted: Sequence[DecryptedAssertion],
    response: ResponseData,
    expected: Expected,
    matching_service_certificates: Sequence[x509.Certificate],
) -> Outcome:
    """One assertion signed by our matching service, addressed to us and answering our request."""
    if len(decrypted) != 1:
        raise HubResponseError("wrong-assertion-count", "expected one assertion from the matching service")
    rp = expected.relying_party
    ms_id = rp.matching_service_entity_id
    assertion = parse_assertion(
        decrypted[0].element,
        certificates_for_issuer=lambda issuer: tuple(matching_service_certificates) if issuer == ms_id else (),
        expected_audience=rp.entity_id,
        expected_recipient=expected.acs_url,
        expected_in_response_to=expected.request_id,
        now=expected.now,
        clock_skew=expected.clock_skew,
    )
    level = accepted_level(assertion, rp)
    created = tuple(a for a in assertion.attributes if a.name in ACCOUNT_CREATION_ATTRIBUTES)
    return Outcome(
        Scenario.ACCOUNT_CREATION if created else Scenario.SUCCESS_MATCH,
        response.id,
        response.status,
        identifier=assertion.name_id,
        level_of_assurance=level,
        account_creation_attributes=created,
    )


def read_idp_assertions(
    decrypted: Sequence[DecryptedAssertion], response: ResponseData, expected: Expected, metadata: FederationMetadata
) -> Outcome:
    """The IDP's two assertions, relayed unchanged: addressed to the hub and answering the hub's request
    (which we cannot know), so InResponseTo is not compared; the hub's signed Response binds them to ours.
    """
    idps = metadata.identity_providers

    def idp_certificates(issuer: str) -> tuple[x509.Certificate, ...]:
        idp = idps.get(issuer)
        return idp.signing_certificates if idp is not None else ()

    if not decrypted:
        raise HubResponseError("missing-assertion", "a success response carries no assertion")
    assertions = [
        parse_assertion(
            assertion.element,
            certificates_for_issuer=idp_certificates,
            expected_audience=metadata.hub.entity_id,
            expected_recipient=metadata.hub.response_url,
            expected_in_response_to=None,
            now=expected.now,
            clock_skew=expected.clock_skew,
        )
        for assertion in decrypted
    ]
    idp_assertions = split_idp_assertions(assertions, response_issuer=assertions[0].issuer)
    authn = idp_assertions.authn
    level = accepted_level(authn, expected.relying_party)
    return Outcome(
        Scenario.IDENTITY_VERIFIED,
        response.id,
        response.status,
        identifier=pairwise_id(authn.issuer, expected.relying_party.entity_id, authn.name_id),
        level_of_assurance=level,
        matching_dataset=idp_assertions.matching_dataset.matching_dataset,
    )
