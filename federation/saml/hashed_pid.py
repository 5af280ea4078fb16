"""The two derived identifiers of a citizen: never the IDP's PID itself outside the SAML messages."""

from __future__ import annotations

import hashlib


def hashed_pid(idp_entity_id: str, matching_service_entity_id: str, pid: str) -> str:
    """hex(SHA-256(idpEntityId + matchingServiceEntityId + pid)): the NameID an RP sees (ARCHITECTURE step 8)."""
    return hashlib.sha256((idp_entity_id + matching_service_entity_id + pid).encode("utf-8")).hexdigest()


def audit_pid(idp_entity_id: str, pid: str) -> str:
    """hex(SHA-256(idpEntityId + pid)): the only form of the PID allowed in audit events."""
    return hashlib.sha256((idp_entity_id + pid).encode("utf-8")).hexdigest()
