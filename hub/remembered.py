"""The "remembered company" cookie: `hub.policy.remembered` kept in the citizen's browser.

The record is sealed with the hub's session key (AES-256-GCM, the same `SessionCodec` that protects sessions
and parked answers at rest, bound to this purpose), so the browser can neither read which company it names
nor forge or alter one; a cookie sealed under a retired key is simply ignored. It is HttpOnly, SameSite=Lax
(it must come with the top-level GET that follows a service's request) and Secure over TLS. Nothing in it
is personal data: two entity IDs from the federation's configuration, a reason and an expiry.
"""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import datetime

from flask import Request, Response, request

from hub.policy.remembered import RememberedCompany
from hub.policy.states import Session, State
from hub.store.crypto import SessionCodec, SessionCorrupt
from hub.web_session import services

log = logging.getLogger("hub.remembered")

COOKIE_NAME = "hub_company"
_PURPOSE = "remembered-company"
_MAX_COOKIE = 1024


def read(request: Request, codec: SessionCodec) -> RememberedCompany | None:
    """The browser's remembered company, or None if there is none or it is not one the hub sealed."""
    value = request.cookies.get(COOKIE_NAME)
    if not value or len(value) > _MAX_COOKIE:
        return None
    try:
        blob = base64.urlsafe_b64decode(value.encode("ascii"))
        return RememberedCompany.from_dict(codec.unseal(_PURPOSE, COOKIE_NAME, blob))
    except (binascii.Error, UnicodeError, SessionCorrupt, KeyError, TypeError, ValueError):
        log.info("remembered company ignored: cookie-invalid")
        return None


def write(response: Response, remembered: RememberedCompany, codec: SessionCodec, *, secure: bool, now: datetime):
    blob = codec.seal(_PURPOSE, COOKIE_NAME, remembered.to_dict())
    max_age = max(1, int((remembered.expires_at - now).total_seconds()))
    response.set_cookie(
        COOKIE_NAME,
        base64.urlsafe_b64encode(blob).decode("ascii"),
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=secure,
        path="/",
    )
    return response


def clear(response: Response, *, secure: bool) -> Response:
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="Lax", secure=secure)
    return response


def offers_company(session: Session) -> bool:
    """Whether a journey that has only just started should first be offered the browser's remembered company.

    Asked on the first top-level GET of the journey (its start page), not on the service's request itself:
    that arrives as a cross-site POST, which carries no SameSite=Lax cookie."""
    fresh = session.state is State.SESSION_STARTED and session.journey_kind is None and session.problem is None
    if not fresh:
        return False
    hub = services()
    remembered = read(request, hub.sessions.codec)
    return remembered is not None and remembered.applies_to(session.rp_entity_id, hub.now())
