"""The `standard` profile's success: one assertion the hub signs, read into typed attributes.

The assertion (docs/saml-profiles.md) names the citizen by a pairwise persistent NameID qualified by the
hub and this service, carries the level as its AuthnContextClassRef and each released attribute as plain
`xs:string` values with a `<name>_verified` companion ("true" or "false"); a service with a matching
service also gets `matching_outcome`. Anything else in the statement is refused: a value that is not
text, a second value of a single-valued attribute, an attribute without its companion or a companion
without its attribute, a name outside the catalogue. A catalogue attribute the service did not list in
its config is dropped, unread: the service receives what it asked for and nothing more.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from federation.metadata import HubMetadata
from federation.saml import Attribute, DecryptedAssertion, ResponseData, parse_assertion
from federation.saml import constants as c
from federation.saml.constants import MatchingOutcome
from federation.saml.standard import ReleasedAttribute
from hub_client.errors import HubResponseError
from hub_client.expectations import Expected, accepted_level
from hub_client.outcome import Outcome, Scenario

__all__ = ["read_standard_assertion", "released_attributes"]

log = logging.getLogger("hub_client")

MULTI_VALUED = frozenset({"address_lines"})  # every other catalogue attribute has exactly one value
_FLAGS = {"true": True, "false": False}
_PAIRWISE_ID = re.compile(r"[0-9a-f]{64}")
_SCENARIOS = {MatchingOutcome.MATCH: Scenario.SUCCESS_MATCH, MatchingOutcome.ACCOUNT_CREATED: Scenario.ACCOUNT_CREATION}


def read_standard_assertion(
    decrypted: Sequence[DecryptedAssertion], response: ResponseData, expected: Expected, hub: HubMetadata
) -> Outcome:
    """The hub's one assertion, addressed to us, answering our request, about a pairwise subject."""
    if len(decrypted) != 1:
        raise HubResponseError("wrong-assertion-count", "the standard profile carries exactly one assertion")
    rp = expected.relying_party
    assertion = parse_assertion(
        decrypted[0].element,
        certificates_for_issuer=lambda issuer: hub.signing_certificates if issuer == hub.entity_id else (),
        expected_audience=rp.entity_id,
        expected_recipient=expected.acs_url,
        expected_in_response_to=expected.request_id,
        now=expected.now,
        clock_skew=expected.clock_skew,
        expect_authn_statement=True,
    )
    if assertion.name_qualifier != hub.entity_id or assertion.sp_name_qualifier != rp.entity_id:
        raise HubResponseError("wrong-name-qualifier", "the NameID is not qualified by the hub and this service")
    if not _PAIRWISE_ID.fullmatch(assertion.name_id):
        raise HubResponseError("bad-nameid", "the NameID is not a pairwise identifier")
    level = accepted_level(assertion, rp)
    attributes, matching_outcome = released_attributes(assertion.attributes, wanted=rp.attributes)
    if (matching_outcome is not None) != rp.uses_matching:
        problem = "missing" if rp.uses_matching else "unexpected"
        raise HubResponseError(f"{problem}-matching-outcome", f"{c.MATCHING_OUTCOME} is {problem}")
    return Outcome(
        _SCENARIOS[matching_outcome] if matching_outcome else Scenario.IDENTITY_VERIFIED,
        response.id,
        response.status,
        identifier=assertion.name_id,
        level_of_assurance=level,
        attributes=attributes,
    )


def _single_text(attribute: Attribute) -> str:
    values = _texts(attribute)
    if len(values) != 1:
        raise HubResponseError("bad-attribute-value", f"{attribute.name} must have exactly one value")
    return values[0]


def _texts(attribute: Attribute) -> tuple[str, ...]:
    if not all(isinstance(value, str) for value in attribute.values):
        raise HubResponseError("bad-attribute-value", f"{attribute.name} has a value that is not text")
    return attribute.values  # type: ignore[return-value]


def released_attributes(
    statement: Sequence[Attribute], *, wanted: Sequence[str]
) -> tuple[tuple[ReleasedAttribute, ...], MatchingOutcome | None]:
    """The attributes the service listed (in its order) and `matching_outcome`, from the signed statement."""
    by_name = {attribute.name: attribute for attribute in statement}
    known = {*c.STANDARD_ATTRIBUTES, *(name + c.VERIFIED_SUFFIX for name in c.STANDARD_ATTRIBUTES)}
    unknown = sorted(set(by_name) - known - {c.MATCHING_OUTCOME})
    if unknown:
        raise HubResponseError("unknown-attribute", f"attributes outside the catalogue: {', '.join(unknown)}")
    released = []
    for name in c.STANDARD_ATTRIBUTES:
        attribute, flag = by_name.get(name), by_name.get(name + c.VERIFIED_SUFFIX)
        if attribute is None and flag is None:
            continue
        if attribute is None or flag is None:
            raise HubResponseError("verified-flag-mismatch", f"{name} and {name}{c.VERIFIED_SUFFIX} come together")
        verified = _FLAGS.get(_single_text(flag))
        if verified is None:
            raise HubResponseError("bad-attribute-value", f"{flag.name} is neither true nor false")
        values = _texts(attribute) if name in MULTI_VALUED else (_single_text(attribute),)
        if name not in wanted:
            log.warning("standard profile: dropped %s, which this service did not ask for", name)
            continue
        try:
            released.append(ReleasedAttribute(name, values, verified))
        except ValueError:
            raise HubResponseError("bad-attribute-value", f"{name} has an empty value") from None
    released.sort(key=lambda attribute: list(wanted).index(attribute.name))
    outcome = by_name.get(c.MATCHING_OUTCOME)
    if outcome is None:
        return tuple(released), None
    try:
        return tuple(released), MatchingOutcome(_single_text(outcome))
    except ValueError:
        raise HubResponseError("bad-attribute-value", f"{c.MATCHING_OUTCOME} is not a known outcome") from None
