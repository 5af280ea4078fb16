"""AuthnRequest: RP -> hub and hub -> IDP. Built straight as an lxml tree and signed in place, read with lxml.

Inbound requests are validated in the order of ARCHITECTURE section 6: schema/version, known Issuer,
signature (XML signature for HTTP-POST, query-string signature for HTTP-Redirect), Destination,
IssueInstant. Replay (the request ID seen before) is the caller's check, against its replay store.

Tolerant where the standard allows it: a RequestedAuthnContext naming classes the federation does not
define (e.g. python3-saml's default `...:ac:classes:PasswordProtectedTransport`) is not an error. Those
classes are left out (logged at info), so the service's levels from the federation config apply.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from cryptography import x509
from lxml import etree

from federation import xmlsecurity
from federation.credentials import SigningCredential
from federation.loa import LevelOfAssurance
from federation.logsafe import log_safe
from federation.saml import _build, _common
from federation.saml._build import samlp
from federation.saml.bindings import decode_redirect, verify_redirect_signature
from federation.saml.constants import NAMEID_FORMAT_PERSISTENT, SAML_NS, SAML_VERSION, SAMLP_NS, q
from federation.saml.errors import SamlValidationError
from federation.saml.ids import instant, new_id

Comparison = Literal["minimum", "exact"]
_TAG = q(SAMLP_NS, "AuthnRequest")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuthnRequestData:
    id: str
    issuer: str
    issue_instant: datetime
    destination: str
    acs_url: str | None
    acs_index: int | None
    force_authn: bool
    requested_loas: tuple[LevelOfAssurance, ...]
    comparison: Comparison | None  # None when the request has no RequestedAuthnContext the federation knows
    ignored_authn_contexts: tuple[str, ...] = ()  # requested classes that are not levels of the federation


def build_authn_request(
    *,
    issuer: str,
    destination: str,
    credential: SigningCredential,
    now: datetime,
    levels: Sequence[LevelOfAssurance] = (),
    comparison: Comparison = "minimum",
    force_authn: bool = False,
    acs_index: int | None = None,
    acs_url: str | None = None,
    request_id: str | None = None,
    sign: bool = True,
) -> etree._Element:
    """A signed AuthnRequest. `sign=False` only for the Redirect binding, which signs the query string."""
    if acs_index is not None and acs_url is not None:
        raise ValueError("AssertionConsumerServiceIndex and URL are mutually exclusive")
    element = _build.root(
        _TAG,
        (
            ("ID", request_id or new_id()),
            ("Version", SAML_VERSION),
            ("IssueInstant", instant(now)),
            ("Destination", destination),
            ("ForceAuthn", "true" if force_authn else None),
            ("AssertionConsumerServiceIndex", str(acs_index) if acs_index is not None else None),
            ("AssertionConsumerServiceURL", acs_url),
        ),
        nsmap=_build.PROTOCOL_NSMAP,
    )
    _build.issuer(element, issuer)
    _build.child(element, samlp("NameIDPolicy"), (("Format", NAMEID_FORMAT_PERSISTENT), ("AllowCreate", "true")))
    if levels:
        requested = _build.child(element, samlp("RequestedAuthnContext"), (("Comparison", comparison),))
        for level in levels:
            _build.child(requested, _build.saml("AuthnContextClassRef"), text=level.uri)
    return xmlsecurity.sign(element, credential) if sign else element


@dataclass(frozen=True)
class _Requested:
    levels: tuple[LevelOfAssurance, ...]
    comparison: Comparison | None
    ignored: tuple[str, ...]


def _requested(element: etree._Element) -> _Requested:
    """The requested levels; classes the federation does not define are left out, not refused."""
    requested = _common.optional_one(
        element, q(SAMLP_NS, "RequestedAuthnContext"), reason="bad-requested-authn-context"
    )
    if requested is None:
        return _Requested((), None, ())
    comparison = requested.get("Comparison", "exact")
    if comparison not in ("minimum", "exact"):
        detail = f"Comparison {log_safe(comparison)} (use minimum or exact)"
        raise SamlValidationError("bad-comparison", "Comparison must be minimum or exact", detail=detail)
    refs = requested.findall(q(SAML_NS, "AuthnContextClassRef"))
    if not refs:
        raise SamlValidationError(
            "bad-requested-authn-context",
            "RequestedAuthnContext has no class ref",
            detail="samlp:RequestedAuthnContext has no saml:AuthnContextClassRef",
        )
    levels: list[LevelOfAssurance] = []
    ignored: list[str] = []
    for ref in refs:
        uri = _common.full_text(ref)
        try:
            levels.append(LevelOfAssurance.from_uri(uri))
        except ValueError:
            ignored.append(uri)
    if not levels:
        return _Requested((), None, tuple(ignored))
    return _Requested(tuple(levels), comparison, tuple(ignored))  # type: ignore[arg-type]


def _acs(element: etree._Element) -> tuple[str | None, int | None]:
    url = element.get("AssertionConsumerServiceURL")
    index_text = element.get("AssertionConsumerServiceIndex")
    if url is not None and index_text is not None:
        raise SamlValidationError(
            "bad-acs",
            "AssertionConsumerServiceIndex and URL are mutually exclusive",
            detail="AssertionConsumerServiceIndex and AssertionConsumerServiceURL (send one)",
        )
    index = None
    if index_text is not None:
        if not index_text.isdigit() or len(index_text) > 5:
            raise SamlValidationError(
                "bad-acs",
                "AssertionConsumerServiceIndex is not an unsignedShort",
                detail=f"AssertionConsumerServiceIndex {log_safe(index_text)} (not an xs:unsignedShort)",
            )
        index = int(index_text)
    return url, index


def _validate(
    element: etree._Element,
    *,
    check_signature: Callable[[etree._Element, Sequence[x509.Certificate]], None],
    certificates_for_issuer: _common.CertificateLookup,
    expected_destination: str,
    now: datetime,
    clock_skew: timedelta,
    max_age: timedelta,
) -> AuthnRequestData:
    _common.check_message(element, _TAG)
    issuer = _common.issuer_of(element)
    certificates = _common.certificates_for(certificates_for_issuer, issuer)
    check_signature(element, certificates)
    _common.check_destination(element, expected_destination)
    issued = _common.check_issue_instant(element, now=now, clock_skew=clock_skew, max_age=max_age)
    acs_url, acs_index = _acs(element)
    requested = _requested(element)
    if requested.ignored:
        log.info(
            "AuthnRequest %s from %s: ignored RequestedAuthnContext classes the federation does not define: %s%s",
            log_safe(element.get("ID")),
            log_safe(issuer, max_chars=120),
            ", ".join(log_safe(uri, max_chars=120) for uri in requested.ignored[:5]),
            " (the configured levels apply)" if not requested.levels else "",
        )
    return AuthnRequestData(
        id=element.get("ID"),
        issuer=issuer,
        issue_instant=issued,
        destination=element.get("Destination"),
        acs_url=acs_url,
        acs_index=acs_index,
        force_authn=_common.parse_bool(element.get("ForceAuthn"), default=False, field="ForceAuthn"),
        requested_loas=requested.levels,
        comparison=requested.comparison,
        ignored_authn_contexts=requested.ignored,
    )


def parse_authn_request(
    message: bytes | etree._Element,
    *,
    certificates_for_issuer: _common.CertificateLookup,
    expected_destination: str,
    now: datetime,
    clock_skew: timedelta = _common.DEFAULT_CLOCK_SKEW,
    max_age: timedelta = _common.DEFAULT_MAX_AGE,
    max_bytes: int = xmlsecurity.MAX_MESSAGE_BYTES,
) -> AuthnRequestData:
    """Validate an HTTP-POST AuthnRequest (decoded XML bytes); the XML signature is required."""
    element = _common.parse(message, max_bytes=max_bytes)

    def check(el: etree._Element, certs: Sequence[x509.Certificate]) -> None:
        _common.verify_signature(el, certs)

    return _validate(
        element,
        check_signature=check,
        certificates_for_issuer=certificates_for_issuer,
        expected_destination=expected_destination,
        now=now,
        clock_skew=clock_skew,
        max_age=max_age,
    )


@dataclass(frozen=True)
class RedirectAuthnRequest:
    request: AuthnRequestData
    relay_state: str | None


def parse_redirect_authn_request(
    query_string: str,
    *,
    certificates_for_issuer: _common.CertificateLookup,
    expected_destination: str,
    now: datetime,
    clock_skew: timedelta = _common.DEFAULT_CLOCK_SKEW,
    max_age: timedelta = _common.DEFAULT_MAX_AGE,
    max_bytes: int = xmlsecurity.MAX_MESSAGE_BYTES,
) -> RedirectAuthnRequest:
    """Validate an HTTP-Redirect AuthnRequest from the raw query string (signature over the query)."""
    redirect = decode_redirect(query_string, max_bytes=max_bytes)
    if redirect.param != "SAMLRequest":
        raise SamlValidationError(
            "wrong-message-type", "expected SAMLRequest", detail="SAMLResponse (expected SAMLRequest)"
        )
    element = _common.parse(redirect.xml, max_bytes=max_bytes)
    _common.refuse_signature_below(element)

    def check(_el: etree._Element, certs: Sequence[x509.Certificate]) -> None:
        verify_redirect_signature(redirect, certs, now=now)

    data = _validate(
        element,
        check_signature=check,
        certificates_for_issuer=certificates_for_issuer,
        expected_destination=expected_destination,
        now=now,
        clock_skew=clock_skew,
        max_age=max_age,
    )
    return RedirectAuthnRequest(request=data, relay_state=redirect.relay_state)
