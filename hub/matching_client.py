"""The hub's back channel to a matching service: a signed AttributeQuery over SOAP, with a timeout.

Any failure (timeout, refused connection, an HTTP error, a body that is not a valid signed Response from
that matching service) is one `MatchingServiceUnavailable` with a reason for the log, so the journey
always ends on the MATCHING_SERVICE_REQUEST_ERROR page rather than a stack trace.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass

import requests
from lxml import etree

from federation import xmlsecurity
from federation.config import MatchingService
from federation.saml import constants as c
from federation.saml import soap
from federation.saml.errors import SamlValidationError
from federation.saml.response import parse_response

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


class MatchingServiceClient:
    def __init__(self, *, timeout: float) -> None:
        self.timeout = timeout
        self._http = requests.Session()

    def ask(
        self,
        url: str,
        query: etree._Element,
        *,
        matching_service: MatchingService,
        rp_entity_id: str,
        now: dt.datetime,
        clock_skew: dt.timedelta,
    ) -> MatchingAnswer:
        try:
            reply = self._http.post(
                url,
                data=soap.wrap(query),
                headers={
                    "Content-Type": "text/xml; charset=utf-8",
                    "SOAPAction": '"http://www.oasis-open.org/committees/security"',
                },
                timeout=self.timeout,
            )
        except requests.Timeout:
            raise MatchingServiceUnavailable("timeout") from None
        except requests.RequestException as exc:
            raise MatchingServiceUnavailable(f"connection-failed:{type(exc).__name__}") from None
        if reply.status_code != 200:
            raise MatchingServiceUnavailable(f"http-{reply.status_code}")
        certs = tuple(cert.certificate for cert in matching_service.signing_certificates)
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
