"""The SAML side of the matching service: validate the hub's AttributeQuery, ask the local matcher, answer.

End-to-end trust (ARCHITECTURE step 6/8): the hub's signature proves only that the hub sent the query. The
identity comes from the IDP's own assertions, which the hub relays untouched; each is verified here with
that IDP's certificates from signed federation metadata, so a compromised hub cannot mint a citizen.

The steps, each refusal with a specific reason in the log (`attribute query refused: <reason>`):
  1. the query: SOAP envelope with one AttributeQuery, hub-signed (hub key from metadata), Destination =
     this endpoint, IssueInstant fresh, assertions decrypted with our key (federation.saml.attribute_query).
     A query whose signature cannot be checked is answered with a SOAP fault: we cannot know whom to answer;
  2. the query ID was never seen before (replay cache); from here on refusals are signed Requester replies.
     The hub resends a query whose answer it never got (a connection that failed, a 502/503), byte for byte:
     the same ID with the same content digest is that retry, answered with the reply the first decision
     gave (kept with the ID), or decided again if there is none yet (the local matcher's link and account
     creation are idempotent for one hashed PID); the same ID on a different message is a replay;
  3. the relying party named by SPNameQualifier uses this matching service, and the RP ACS URL is its own;
  4. the two IDP assertions: issuer an IDP in metadata, its signature, Audience = hub, Recipient = the hub's
     response URL, InResponseTo present (it answers the hub's AuthnRequest, whose ID we cannot know) and
     the same in both, time windows; same issuer and NameID; not a fraud (levelX) assertion; LoA not below
     the RP's minimum; NameID equal to the query's;
  5. the optional cycle 3 assertion: hub-signed, Audience = us, Recipient = this endpoint, InResponseTo =
     the query ID, same NameID, one text value per attribute.
The hashed PID is hex(SHA-256(idpEntityId + msEntityId + pid)).

No Flask here: the app turns a `SoapReply` into an HTTP response. Logs name query IDs (through
`federation.logsafe.log_safe`: an ID is the caller's text) and reason codes, never names, dates of birth,
addresses or PIDs.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509

from federation import xmlsecurity
from federation.config import FederationConfig, MatchingService, RelyingParty
from federation.credentials import EntityCredentials
from federation.keyring import SigningKeyRing
from federation.loa import LevelOfAssurance
from federation.logsafe import log_safe
from federation.metadata import FederationMetadata, MetadataError, MetadataSource
from federation.replay_cache import MemoryReplayCache, RetryAwareReplayCache, StoreUnavailable
from federation.saml import SamlValidationError, soap
from federation.saml.assertion import (
    AssertionData,
    Attribute,
    IdpAssertions,
    MatchingDataset,
    parse_assertion,
    split_idp_assertions,
)
from federation.saml.attribute_query import (
    AttributeQueryData,
    is_health_check,
    parse_attribute_query,
    parse_health_check_query,
)
from federation.saml.constants import SAML_NS, q
from federation.saml.hashed_pid import hashed_pid
from federation.saml.ids import now_utc
from federation.saml.response import DecryptedAssertion, Status
from matching_service.datasets import (
    UnknownAttributeError,
    account_creation_attributes,
    attributes_to_json,
    to_matching_rule_dataset,
)
from matching_service.local_matcher_client import LocalMatcher, LocalMatcherError
from matching_service.local_matching_contract import MatchRequest
from matching_service.responses import (
    CREATE_FAILURE,
    CREATED,
    HEALTHY,
    MATCH,
    NO_MATCH,
    RESPONDER_ERROR,
    ResponseSigner,
    SoapReply,
    fault,
    requester_error,
)

log = logging.getLogger(__name__)

# How old a query may be when it arrives (a back-channel call: seconds in practice).
MAX_QUERY_AGE = timedelta(minutes=5)
# The replay cache's namespace for query IDs (`MATCHING_SERVICE_REDIS_URL`: shared by our processes).
REPLAY_NAMESPACE = "attribute-query"
# Our assertion for the RP lives as long as the hub asked (the query's NotOnOrAfter), within these bounds.
MIN_ASSERTION_VALIDITY = timedelta(minutes=1)
MAX_ASSERTION_VALIDITY = timedelta(minutes=90)


class QueryRefused(Exception):
    """A query the hub signed but we will not act on; answered with a signed Requester reply."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ValidatedQuery:
    """Everything the matching decision needs, read only from signed and checked elements."""

    query: AttributeQueryData
    endpoint_url: str
    relying_party: RelyingParty
    relying_party_encryption_certificate: x509.Certificate
    idp_entity_id: str
    authn: AssertionData
    matching_dataset: MatchingDataset
    cycle3_attributes: Mapping[str, str] | None
    hashed_pid: str

    @property
    def level_of_assurance(self) -> LevelOfAssurance:
        return self.authn.level_of_assurance  # type: ignore[return-value]  # checked: not None, not levelX


def _lookup(table: Mapping[str, Sequence[x509.Certificate]]) -> Callable[[str], Sequence[x509.Certificate]]:
    return lambda issuer: table.get(issuer, ())


class AttributeQueryService:
    """One per process: holds the keys, the metadata source, the replay cache and the local matcher client."""

    def __init__(
        self,
        *,
        config: FederationConfig,
        matching_service: MatchingService,
        credentials: EntityCredentials,
        metadata: MetadataSource,
        local_matcher: LocalMatcher,
        replay_cache: RetryAwareReplayCache | None = None,
        clock: Callable[[], datetime] = now_utc,
        signing_keys: SigningKeyRing | None = None,
    ) -> None:
        """`signing_keys`: this matching service's signing key as its files hold it now, so that a promoted
        key signs without a restart (`federation.keyring`); without it, `credentials.signing` signs."""
        self._config = config
        self._ms = matching_service
        self._decryption = [credentials.encryption]
        self._signer = ResponseSigner(matching_service.entity_id, signing_keys or credentials.signing)
        self._metadata = metadata
        self._local = local_matcher
        self._replay = replay_cache if replay_cache is not None else MemoryReplayCache()
        self._clock = clock

    # --- the two endpoints -------------------------------------------------------------------------------

    def match(self, body: bytes) -> SoapReply:
        """POST /matching-service/POST: cycle 0/1 (or cycle 3 with a hub cycle 3 assertion)."""
        return self._handle(body, self._ms.attribute_query_url, self._decide_match)

    def create_account(self, body: bytes) -> SoapReply:
        """POST /unknown-user-attribute-query: create the account and return the requested attributes."""
        return self._handle(body, self._ms.account_creation_url, self._decide_create)

    # --- the pipeline ------------------------------------------------------------------------------------

    def _handle(
        self, body: bytes, endpoint_url: str, decide: Callable[[ValidatedQuery, datetime], SoapReply]
    ) -> SoapReply:
        now = self._clock()
        try:
            metadata = self._metadata.current
        except MetadataError as exc:
            log.error("attribute query not answered: no federation metadata (%s)", exc.reason)
            return fault("metadata-unavailable", status=503)
        try:
            element = soap.unwrap(body)
            if is_health_check(element):  # the hub's probe: verified, then answered without the local matcher
                return self._health_check(element, metadata, endpoint_url, now)
            query = parse_attribute_query(
                element,
                certificates_for_issuer=_lookup({metadata.hub.entity_id: metadata.hub.signing_certificates}),
                expected_destination=endpoint_url,
                decryption_credentials=self._decryption,
                now=now,
                clock_skew=self._config.clock_skew,
                max_age=MAX_QUERY_AGE,
            )
        except SamlValidationError as exc:
            log.warning("attribute query refused: %s", exc.reason)
            return fault(exc.reason)
        # Remembered while the freshness check would still accept it; after that it refuses a replay itself.
        expires_at = query.issue_instant + MAX_QUERY_AGE + 2 * self._config.clock_skew
        ttl_seconds = max(1, math.ceil((expires_at - now).total_seconds()))
        fingerprint = hashlib.sha256(body).hexdigest()
        try:
            seen = self._replay.claim(REPLAY_NAMESPACE, query.id, fingerprint, ttl_seconds)
            if seen.is_replay:
                raise QueryRefused("replayed-query")
            if seen.answer is not None:
                log.info("attribute query %s: a retry, answered as before", log_safe(query.id))
                return SoapReply(200, seen.answer)
            if not seen.first:
                log.info("attribute query %s: a retry of an unanswered query, decided again", log_safe(query.id))
            validated = self._validate(query, metadata, endpoint_url, now)
            reply = decide(validated, now)
            self._keep_answer(query.id, fingerprint, reply)
            return reply
        except (QueryRefused, SamlValidationError) as exc:
            log.warning("attribute query refused: %s (query %s)", exc.reason, log_safe(query.id))
            return self._signer.status_reply(in_response_to=query.id, status=requester_error(exc.reason), now=now)
        except LocalMatcherError as exc:
            log.error("attribute query %s not answered: %s", log_safe(query.id), exc)
            return self._signer.status_reply(in_response_to=query.id, status=RESPONDER_ERROR, now=now)
        except StoreUnavailable as exc:  # fail closed: without the replay check, no answer
            log.error("attribute query %s not answered: replay cache unavailable (%s)", log_safe(query.id), exc)
            return self._signer.status_reply(in_response_to=query.id, status=RESPONDER_ERROR, now=now)

    def _health_check(
        self, element: xmlsecurity.Element, metadata: FederationMetadata, endpoint_url: str, now: datetime
    ) -> SoapReply:
        """Answer the hub's probe: `Success`/`healthy`, signed, if the query is the hub's and for us."""
        query = parse_health_check_query(
            element,
            certificates_for_issuer=_lookup({metadata.hub.entity_id: metadata.hub.signing_certificates}),
            expected_destination=endpoint_url,
            now=now,
            clock_skew=self._config.clock_skew,
            max_age=MAX_QUERY_AGE,
        )
        return self._signer.status_reply(in_response_to=query.id, status=HEALTHY, now=now)

    def _keep_answer(self, query_id: str, fingerprint: str, reply: SoapReply) -> None:
        """Keep the decision with the query ID, for the hub's retry of this same query."""
        try:
            self._replay.settle(REPLAY_NAMESPACE, query_id, fingerprint, answer=reply.body)
        except StoreUnavailable as exc:  # the answer still goes out; a retry would be decided again
            log.warning("attribute query %s: answer not kept for a retry (%s)", log_safe(query_id), exc)

    def _validate(
        self, query: AttributeQueryData, metadata: FederationMetadata, endpoint_url: str, now: datetime
    ) -> ValidatedQuery:
        rp = self._config.relying_party(query.sp_name_qualifier)
        if rp is None:
            raise QueryRefused("unknown-relying-party")
        if rp.matching_service_entity_id != self._ms.entity_id:
            raise QueryRefused("relying-party-not-served")
        if rp.encryption_certificate is None:
            raise QueryRefused("relying-party-without-encryption-certificate")
        if query.rp_acs_url not in {acs.url for acs in rp.assertion_consumer_services}:
            raise QueryRefused("unknown-rp-acs-url")

        hub_id = metadata.hub.entity_id
        from_hub = [a for a in query.assertions if _claimed_issuer(a) == hub_id]
        from_idps = [a for a in query.assertions if _claimed_issuer(a) != hub_id]
        idp_assertions = self._idp_assertions(from_idps, metadata, now)
        authn = idp_assertions.authn
        if authn.is_fraud or authn.level_of_assurance is None:
            raise QueryRefused("fraud-assertion")
        if authn.level_of_assurance < rp.minimum_level:
            raise QueryRefused("loa-below-relying-party-minimum")
        if authn.name_id != query.name_id:
            raise QueryRefused("name-id-mismatch")
        if len(from_hub) > 1:
            raise QueryRefused("too-many-cycle3-assertions")
        cycle3 = self._cycle3(from_hub[0], query, metadata, endpoint_url, now) if from_hub else None
        return ValidatedQuery(
            query=query,
            endpoint_url=endpoint_url,
            relying_party=rp,
            relying_party_encryption_certificate=rp.encryption_certificate.certificate,
            idp_entity_id=authn.issuer,
            authn=authn,
            matching_dataset=idp_assertions.matching_dataset.matching_dataset,  # type: ignore[arg-type]
            cycle3_attributes=cycle3,
            hashed_pid=hashed_pid(authn.issuer, self._ms.entity_id, authn.name_id),
        )

    def _idp_assertions(
        self, assertions: Sequence[DecryptedAssertion], metadata: FederationMetadata, now: datetime
    ) -> IdpAssertions:
        idps = _lookup({e: idp.signing_certificates for e, idp in metadata.identity_providers.items()})
        parsed = [
            parse_assertion(
                a.element,
                certificates_for_issuer=idps,
                expected_audience=metadata.hub.entity_id,
                expected_recipient=metadata.hub.response_url,
                expected_in_response_to=None,  # the hub's AuthnRequest ID: present, but not ours to know
                now=now,
                clock_skew=self._config.clock_skew,
            )
            for a in assertions
        ]
        if not parsed:
            raise QueryRefused("missing-idp-assertions")
        if any(p.in_response_to is None for p in parsed):
            raise QueryRefused("missing-in-response-to")
        if len({p.in_response_to for p in parsed}) != 1:
            raise QueryRefused("in-response-to-mismatch")
        return split_idp_assertions(parsed, response_issuer=parsed[0].issuer)

    def _cycle3(
        self,
        assertion: DecryptedAssertion,
        query: AttributeQueryData,
        metadata: FederationMetadata,
        endpoint_url: str,
        now: datetime,
    ) -> dict[str, str]:
        data = parse_assertion(
            assertion.element,
            certificates_for_issuer=_lookup({metadata.hub.entity_id: metadata.hub.signing_certificates}),
            expected_audience=self._ms.entity_id,
            expected_recipient=endpoint_url,
            expected_in_response_to=query.id,
            now=now,
            clock_skew=self._config.clock_skew,
            expect_authn_statement=False,
        )
        if data.name_id != query.name_id:
            raise QueryRefused("name-id-mismatch")
        values: dict[str, str] = {}
        for attribute in data.attributes:
            if len(attribute.values) != 1 or not isinstance(attribute.values[0], str):
                raise QueryRefused("bad-cycle3-attribute")
            values[attribute.name] = attribute.values[0]
        if not values:
            raise QueryRefused("empty-cycle3-assertion")
        return values

    # --- decisions ---------------------------------------------------------------------------------------

    def _decide_match(self, validated: ValidatedQuery, now: datetime) -> SoapReply:
        query = validated.query
        result = self._local.match(
            MatchRequest(
                match_id=query.id,
                level_of_assurance=validated.level_of_assurance.name,
                hashed_pid=validated.hashed_pid,
                matching_dataset=to_matching_rule_dataset(validated.matching_dataset),
                cycle3_attributes=validated.cycle3_attributes,
            )
        )
        cycle = "3" if validated.cycle3_attributes is not None else "0/1"
        log.info("attribute query %s: cycle %s %s", log_safe(query.id), cycle, result)
        if result != "match":
            return self._signer.status_reply(in_response_to=query.id, status=NO_MATCH, now=now)
        return self._assertion_reply(validated, MATCH, now)

    def _decide_create(self, validated: ValidatedQuery, now: datetime) -> SoapReply:
        query = validated.query
        cycle3_name = (
            validated.relying_party.cycle3_attribute.name if validated.relying_party.cycle3_attribute else None
        )
        cycle3_value = (validated.cycle3_attributes or {}).get(cycle3_name) if cycle3_name else None
        try:
            attributes = account_creation_attributes(
                query.requested_attributes, validated.matching_dataset, cycle3_value
            )
        except UnknownAttributeError:
            raise QueryRefused("unknown-requested-attribute") from None
        result = self._local.create_user(
            validated.hashed_pid, validated.level_of_assurance.name, attributes_to_json(attributes)
        )
        log.info("account creation query %s: %s", log_safe(query.id), result)
        if result != "success":
            return self._signer.status_reply(in_response_to=query.id, status=CREATE_FAILURE, now=now)
        return self._assertion_reply(validated, CREATED, now, attributes)

    def _assertion_reply(
        self, validated: ValidatedQuery, status: Status, now: datetime, attributes: Sequence[Attribute] = ()
    ) -> SoapReply:
        query = validated.query
        valid_for = min(max(query.not_on_or_after - now, MIN_ASSERTION_VALIDITY), MAX_ASSERTION_VALIDITY)
        return self._signer.assertion_reply(
            in_response_to=query.id,
            status=status,
            now=now,
            hashed_pid=validated.hashed_pid,
            relying_party_entity_id=validated.relying_party.entity_id,
            relying_party_encryption_certificate=validated.relying_party_encryption_certificate,
            relying_party_key_transport=validated.relying_party.key_transport,
            rp_acs_url=query.rp_acs_url,
            rp_request_id=query.rp_request_id,
            level_of_assurance=validated.level_of_assurance,
            authn_instant=validated.authn.authn_instant,
            valid_for=valid_for,
            attributes=attributes,
        )


def _claimed_issuer(assertion: DecryptedAssertion) -> str | None:
    """The Issuer as written, before any check: only used to pick which checks (and keys) apply."""
    return (assertion.element.findtext(q(SAML_NS, "Issuer")) or "").strip() or None
