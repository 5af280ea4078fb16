"""Sending the citizen to the hub: a signed AuthnRequest in the HTTP-POST or HTTP-Redirect binding.

The request names no assertion consumer service and no level of assurance: the hub answers at the
service's default ACS URL and applies the levels the federation config gives the service, never the
request's. The caller keeps the request ID server-side, with the browser session that sent it, until
the answer comes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from federation import xmlsecurity
from federation.credentials import SigningCredential
from federation.saml import build_authn_request, encode_post, encode_redirect
from federation.saml.bindings import MAX_RELAY_STATE_BYTES

__all__ = ["SamlPost", "new_relay_state", "post_authn_request", "redirect_authn_request"]


@dataclass(frozen=True)
class SamlPost:
    """An HTTP-POST binding message: the browser POSTs `field_name=value` (and RelayState) to `url`."""

    url: str
    field_name: str
    value: str
    relay_state: str | None


def new_relay_state() -> str:
    """An opaque, unguessable RelayState (43 characters; SAML allows 80 bytes)."""
    return secrets.token_urlsafe(32)


def _check_relay_state(relay_state: str | None) -> None:
    if relay_state is not None and len(relay_state.encode("utf-8")) > MAX_RELAY_STATE_BYTES:
        raise ValueError(f"RelayState must be at most {MAX_RELAY_STATE_BYTES} bytes")


def post_authn_request(
    *, issuer: str, destination: str, credential: SigningCredential, now: datetime, relay_state: str | None
) -> tuple[str, SamlPost]:
    """(request ID, the form the browser posts): the AuthnRequest carries its XML signature."""
    _check_relay_state(relay_state)
    request = build_authn_request(issuer=issuer, destination=destination, credential=credential, now=now)
    post = SamlPost(destination, "SAMLRequest", encode_post(xmlsecurity.to_bytes(request)), relay_state)
    return request.get("ID"), post


def redirect_authn_request(
    *, issuer: str, destination: str, credential: SigningCredential, now: datetime, relay_state: str | None
) -> tuple[str, str]:
    """(request ID, the URL to redirect the browser to): the signature covers the query string instead."""
    _check_relay_state(relay_state)
    request = build_authn_request(issuer=issuer, destination=destination, credential=credential, now=now, sign=False)
    url = encode_redirect(destination, xmlsecurity.to_bytes(request), credential=credential, relay_state=relay_state)
    return request.get("ID"), url
