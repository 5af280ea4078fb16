"""The matching-side engine: the hub's signed AttributeQuery over SOAP to a service's matching service,
and its answer as a typed `MatchingOutcome`.

The query carries the IDP's two assertions, untouched and still IDP-signed, encrypted for the matching
service when they arrived (`hub.engines.idp`), plus, in cycle 3, an assertion the hub signs with the
citizen's answer. Any failure (timeout, refused connection, an HTTP error, a body that is not a valid
signed Response from that matching service) is a `MatchingFailed` with a reason for the log, so the
journey always ends on the matching-service error page rather than a stack trace. The matching service's
own assertion is encrypted for the service: the hub relays it and never reads it.

Transient failures are retried within the citizen's wait (`RETRY_BUDGET_SECONDS`, backoff doubling from
`FIRST_BACKOFF_SECONDS`): a connection that could not be made or broke before an answer, a timeout while
connecting, and 502/503/504 (a balancer or a restarting process). The retry sends the very same bytes
(same query ID, same signature), which the matching service recognises and answers as it answered the
first (see `matching_service.attribute_query_endpoint`), so nothing is decided twice. A definitive answer
(any signed SAML Response, a SOAP fault, another HTTP status) and a timeout waiting for the answer are
never retried: the query may have been acted on and the citizen has already waited the whole timeout.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import requests.certs
import urllib3
from cryptography import x509

from federation import xmlsecurity
from federation.config import MatchingService, RelyingParty
from federation.logging_setup import outgoing_headers
from federation.run_slots import waiting_elsewhere
from federation.saml import constants as c
from federation.saml import soap
from federation.saml.assertion import Attribute, build_assertion
from federation.saml.attribute_query import build_attribute_query, build_health_check_query
from federation.saml.errors import SamlValidationError
from federation.saml.ids import new_id
from federation.saml.response import encrypt_assertion, parse_response
from hub import breakers
from hub.policy import outcomes as o
from hub.policy.states import Session, State

if TYPE_CHECKING:
    from hub.services import HubServices

log = logging.getLogger(__name__)


class MatchResult(enum.Enum):
    MATCH = "match"
    NO_MATCH = "no-match"
    CREATED = "created"
    CREATE_FAILURE = "create-failure"


_RESULTS = {
    c.STATUS_MATCH: MatchResult.MATCH,
    c.STATUS_NO_MATCH: MatchResult.NO_MATCH,
    c.STATUS_MULTIPLE_MATCH: MatchResult.NO_MATCH,  # never guess between two people
    c.STATUS_CREATED: MatchResult.CREATED,
    c.STATUS_CREATE_FAILURE: MatchResult.CREATE_FAILURE,
}


class MatchingServiceUnavailable(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MatchingAnswer:
    result: MatchResult
    encrypted_assertions: tuple[bytes, ...]  # for the RP, relayed unchanged


# How long the hub keeps retrying a transient failure (on top of one attempt's timeout), and the first pause.
RETRY_BUDGET_SECONDS = 5.0
FIRST_BACKOFF_SECONDS = 0.1
CONNECT_TIMEOUT_SECONDS = 2.0
RETRIED_STATUSES = frozenset({502, 503, 504})
POOL_SIZE = 16  # kept-alive connections per matching service: one per hub worker thread is plenty


class _Transient(Exception):
    """A failure worth one more try of the same bytes (the query was not, or not visibly, answered)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class MatchingReply:
    """What came back over HTTP: the status and the whole body."""

    status_code: int
    content: bytes


SOAP_HEADERS = {
    "Content-Type": "text/xml; charset=utf-8",
    "SOAPAction": '"http://www.oasis-open.org/committees/security"',
}


class MatchingServiceClient:
    """The back channel over one urllib3 pool of kept-alive connections per matching service.

    urllib3 rather than requests (which sits on it): requests spent about 0.7 ms of CPU more per query,
    half of it reading proxy and netrc settings from the environment again on every call. Connections go
    straight to the matching service (no proxy from the environment), are verified against the same CA
    bundle requests used (`REQUESTS_CA_BUNDLE`, else certifi's), and a redirect is an answer, not followed.
    """

    def __init__(
        self,
        *,
        timeout: float,
        retry_budget: float = RETRY_BUDGET_SECONDS,
        first_backoff: float = FIRST_BACKOFF_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        pool_size: int = POOL_SIZE,
    ) -> None:
        self.timeout = timeout
        self.retry_budget = retry_budget
        self.first_backoff = first_backoff
        self._sleep = sleep
        self._timeout = urllib3.Timeout(connect=min(CONNECT_TIMEOUT_SECONDS, timeout), read=timeout)
        self._http = urllib3.PoolManager(
            maxsize=pool_size,
            retries=False,  # retries are ours, above: only what cannot have been acted on
            ca_certs=os.environ.get("REQUESTS_CA_BUNDLE") or requests.certs.where(),
        )

    def _post_once(self, url: str, body: bytes) -> MatchingReply:
        try:
            reply = self._http.request(
                "POST",
                url,
                body=body,
                headers={**SOAP_HEADERS, **outgoing_headers()},  # the matching service logs this step under our ID
                timeout=self._timeout,
                redirect=False,
            )
        except urllib3.exceptions.NewConnectionError:  # refused, unreachable (a subclass of the connect timeout)
            raise _Transient("connection-failed:ConnectionError") from None
        except urllib3.exceptions.ConnectTimeoutError:
            raise _Transient("connect-timeout") from None
        except urllib3.exceptions.TimeoutError:  # the query arrived and may be under way: the citizen has waited
            raise MatchingServiceUnavailable("timeout") from None
        except urllib3.exceptions.ProtocolError:  # reset or closed before any answer
            raise _Transient("connection-failed:ConnectionError") from None
        except (urllib3.exceptions.HTTPError, ValueError) as exc:  # TLS, a bad URL, a malformed answer
            raise MatchingServiceUnavailable(f"connection-failed:{type(exc).__name__}") from None
        if reply.status in RETRIED_STATUSES:
            raise _Transient(f"http-{reply.status}")
        return MatchingReply(status_code=reply.status, content=reply.data)

    def post(self, url: str, body: bytes) -> MatchingReply:
        """POST `body`, retrying transient failures with backoff within the retry budget; the process's run
        slot is free for other requests while this one waits (`federation.run_slots`)."""
        with waiting_elsewhere():
            return self._post_with_retries(url, body)

    def _post_with_retries(self, url: str, body: bytes) -> MatchingReply:
        deadline = time.monotonic() + self.retry_budget
        pause = self.first_backoff
        attempt = 1
        while True:
            try:
                return self._post_once(url, body)
            except _Transient as exc:
                remaining = deadline - time.monotonic()
                if remaining < self.first_backoff:
                    raise MatchingServiceUnavailable(f"{exc.reason}:after-{attempt}-attempts") from None
                pause = min(pause, remaining)  # the last try at the end of the budget, not before it
                log.warning("matching service attempt %d failed (%s): retrying in %.1f s", attempt, exc.reason, pause)
            self._sleep(pause)
            pause *= 2
            attempt += 1

    def ask(
        self,
        url: str,
        query: xmlsecurity.Element,
        *,
        matching_service: MatchingService,
        rp_entity_id: str,
        now: dt.datetime,
        clock_skew: dt.timedelta,
        certificates: tuple[x509.Certificate, ...] | None = None,
    ) -> MatchingAnswer:
        """`certificates`: the matching service's signing certificates as published now (current and next
        key, `HubServices.signing_certificates`); those of the config when not given."""
        reply = self.post(url, soap.wrap(query))
        if reply.status_code != 200:
            raise MatchingServiceUnavailable(f"http-{reply.status_code}")
        certs = certificates or tuple(cert.certificate for cert in matching_service.signing_certificates)
        try:
            response = parse_response(
                soap.unwrap(reply.content),
                certificates_for_issuer=lambda issuer: certs if issuer == matching_service.entity_id else (),
                expected_destination=None,
                expected_in_response_to=query.get("ID"),
                expected_audience=rp_entity_id,
                now=now,
                clock_skew=clock_skew,
            )
        except (SamlValidationError, xmlsecurity.XmlSecurityError) as exc:
            raise MatchingServiceUnavailable(f"bad-response:{exc.reason}") from None
        status = response.status
        result = _RESULTS.get(status.sub_code or "") or _RESULTS.get(status.code)
        if result is None:
            raise MatchingServiceUnavailable(f"unexpected-status:{status.code}|{status.sub_code}")
        if result in (MatchResult.MATCH, MatchResult.CREATED) and len(response.encrypted_assertions) != 1:
            raise MatchingServiceUnavailable("wrong-assertion-count")
        return MatchingAnswer(result=result, encrypted_assertions=response.encrypted_assertions)


QUERY_VALIDITY = dt.timedelta(minutes=5)
# A signed Requester status: the matching service is up and refused this query; not a failure of the service.
_REFUSED_BY_IT = f"unexpected-status:{c.STATUS_REQUESTER}|"


def new_query_id() -> str:
    return new_id()


def ask(
    hub: HubServices,
    session: Session,
    rp: RelyingParty,
    ms: MatchingService,
    query_id: str,
    assertions: tuple[str, ...],
    *,
    now: dt.datetime,
) -> o.MatchingOutcome:
    """Send the query the session awaits (account creation when it awaits that) and read the answer.
    `assertions`: the IDP's, encrypted for the matching service (EncryptedAssertion XML), held beside the
    session."""
    account_creation = session.state is State.USER_ACCOUNT_CREATION_REQUEST_SENT
    identity = session.matching_identity
    if identity is None or not assertions:
        return o.MatchingFailed(reason="no-identity-to-match")
    if not hub.breakers.admit(breakers.MATCHING_SERVICE, ms.entity_id):  # down: the citizen is told at once
        log.warning("matching service %s not asked: circuit-open", ms.entity_id)
        return o.MatchingFailed(reason="circuit-open")
    recipient = ms.encryption_certificate.certificate
    destination = ms.account_creation_url if account_creation else ms.attribute_query_url
    cycle3_assertion = None
    if session.cycle3_value and rp.cycle3_attribute is not None:
        assertion = build_assertion(
            issuer=hub.config.hub.entity_id,
            name_id=identity.pid,
            audience=ms.entity_id,
            recipient=destination,
            in_response_to=query_id,
            credential=hub.signing,
            now=now,
            attributes=(Attribute(rp.cycle3_attribute.name, (session.cycle3_value,)),),
            valid_for=QUERY_VALIDITY,
        )
        cycle3_assertion = encrypt_assertion(assertion, recipient, key_transport=ms.key_transport)
    query = build_attribute_query(
        issuer=hub.config.hub.entity_id,
        destination=destination,
        name_id=identity.pid,
        sp_name_qualifier=rp.entity_id,
        rp_acs_url=session.acs_url,
        rp_request_id=session.authn_request_id,
        not_on_or_after=now + QUERY_VALIDITY,
        encrypted_assertions=[xmlsecurity.parse_xml(a.encode()) for a in assertions],
        credential=hub.signing,
        now=now,
        cycle3_assertion=cycle3_assertion,
        requested_attributes=rp.account_creation_attributes if account_creation else (),
        query_id=query_id,
    )
    try:
        answer = hub.matching.ask(
            destination,
            query,
            matching_service=ms,
            rp_entity_id=rp.entity_id,
            now=now,
            clock_skew=hub.config.clock_skew,
            certificates=hub.signing_certificates(ms.entity_id),
        )
    except MatchingServiceUnavailable as exc:
        log.error("matching service %s request failed: %s", ms.entity_id, exc.reason)
        if exc.reason.startswith(_REFUSED_BY_IT):  # it answered, signed: it is up, it refused this query
            hub.breakers.succeeded(breakers.MATCHING_SERVICE, ms.entity_id)
        else:
            hub.breakers.failed(breakers.MATCHING_SERVICE, ms.entity_id)
        return o.MatchingFailed(reason=exc.reason)
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the journey must not be left hanging
        log.exception("matching service %s request failed unexpectedly: %s", ms.entity_id, type(exc).__name__)
        return o.MatchingFailed(reason=f"unexpected:{type(exc).__name__}")
    hub.breakers.succeeded(breakers.MATCHING_SERVICE, ms.entity_id)
    sealed = tuple(item.decode() for item in answer.encrypted_assertions)  # EncryptedAssertion XML, as text
    return {
        MatchResult.MATCH: lambda: o.RecordMatched(service_assertions=sealed),
        MatchResult.CREATED: lambda: o.AccountCreated(service_assertions=sealed),
        MatchResult.NO_MATCH: o.NoRecord,
        MatchResult.CREATE_FAILURE: o.AccountNotCreated,
    }[answer.result]()


def check_health(hub: HubServices, ms: MatchingService, http: requests.Session, *, timeout: float) -> None:
    """The hub's probe: a signed health-check AttributeQuery, answered `healthy` in a Response signed by `ms`.

    Raises `MatchingServiceUnavailable` with the reason when the answer is anything else. One attempt, no
    retry: the probe runs again at its next interval.
    """
    now = hub.now()
    query = build_health_check_query(
        issuer=hub.config.hub.entity_id,
        destination=ms.attribute_query_url,
        matching_service_entity_id=ms.entity_id,
        credential=hub.signing,
        now=now,
    )
    try:
        reply = http.post(
            ms.attribute_query_url,
            data=soap.wrap(query),
            headers={"Content-Type": "text/xml; charset=utf-8", **outgoing_headers()},
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise MatchingServiceUnavailable(f"connection-failed:{type(exc).__name__}") from None
    if reply.status_code != 200:
        raise MatchingServiceUnavailable(f"http-{reply.status_code}")
    certs = hub.signing_certificates(ms.entity_id)  # current and next key, as real queries are checked
    try:
        response = parse_response(
            soap.unwrap(reply.content),
            certificates_for_issuer=lambda issuer: certs if issuer == ms.entity_id else (),
            expected_destination=None,
            expected_in_response_to=query.get("ID"),
            expected_audience=hub.config.hub.entity_id,
            now=now,
            clock_skew=hub.config.clock_skew,
        )
    except (SamlValidationError, xmlsecurity.XmlSecurityError) as exc:
        raise MatchingServiceUnavailable(f"bad-response:{exc.reason}") from None
    if (response.status.code, response.status.sub_code) != (c.STATUS_SUCCESS, c.STATUS_HEALTHY):
        raise MatchingServiceUnavailable(f"unhealthy:{response.status.code}|{response.status.sub_code}")
