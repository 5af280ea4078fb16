"""Sessions and other entries at rest: JSON, encrypted and authenticated with AES-256-GCM under a hub key.

The session ID is associated data, so a blob copied under another session ID does not decrypt; other
entries (`seal`/`unseal`) are bound the same way to their purpose and key. Blob layout: version byte,
96-bit random nonce, ciphertext with tag. Old keys may be given for decryption only, so the hub key can
be rotated without ending journeys under way; from a key file (`hub.store.session_keys`), without a
restart either.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from federation.identity import dataset_from_dict, dataset_to_dict
from federation.loa import LevelOfAssurance
from hub.policy.states import FrontEnd, JourneyKind, MatchingIdentity, OidcRequest, Release, Session, State
from hub.policy.suitability import CitizenHas
from hub.store.session_keys import SessionKeyFile

_VERSION = b"\x01"
_NONCE_BYTES = 12
_KEY_BYTES = 32
_AAD_PREFIX = b"hub-session\x00" + _VERSION
_SEALED_AAD_PREFIX = b"hub-entry\x00" + _VERSION


class SessionCorrupt(Exception):
    """The blob does not decrypt, or does not hold a valid session: treat the session as gone."""


def _level(value: str | None) -> LevelOfAssurance | None:
    return None if value is None else LevelOfAssurance.from_name(value)


def _matching_identity_to_dict(value: MatchingIdentity | None) -> dict[str, Any] | None:
    return None if value is None else {"pid": value.pid}


def _matching_identity_from_dict(raw: dict[str, Any] | None) -> MatchingIdentity | None:
    return None if raw is None else MatchingIdentity(str(raw["pid"]))


def _release_to_dict(value: Release | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        "pid": value.pid,
        "authn_instant": value.authn_instant.isoformat(),
        "identity": dataset_to_dict(value.identity),
    }


def _release_from_dict(raw: dict[str, Any] | None) -> Release | None:
    if raw is None:
        return None
    return Release(
        pid=str(raw["pid"]),
        authn_instant=datetime.fromisoformat(raw["authn_instant"]),
        identity=dataset_from_dict(raw["identity"]),
    )


def _oidc_request_to_dict(value: OidcRequest | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        "client_id": value.client_id,
        "redirect_uri": value.redirect_uri,
        "state": value.state,
        "nonce": value.nonce,
        "code_challenge": value.code_challenge,
        "scope": list(value.scope),
        "vtr": list(value.vtr),
        "claims": list(value.claims),
        "ui_locales": value.ui_locales,
        "max_age": value.max_age,
        "force_authn": value.force_authn,
    }


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _oidc_request_from_dict(raw: dict[str, Any] | None) -> OidcRequest | None:
    if raw is None:
        return None
    max_age = raw["max_age"]
    if max_age is not None and (isinstance(max_age, bool) or not isinstance(max_age, int)):
        raise ValueError("max_age must be a whole number")
    return OidcRequest(
        client_id=str(raw["client_id"]),
        redirect_uri=str(raw["redirect_uri"]),
        state=_optional_text(raw["state"]),
        nonce=_optional_text(raw["nonce"]),
        code_challenge=str(raw["code_challenge"]),
        scope=tuple(str(item) for item in raw["scope"]),
        vtr=tuple(str(item) for item in raw["vtr"]),
        claims=tuple(str(item) for item in raw["claims"]),
        ui_locales=_optional_text(raw["ui_locales"]),
        max_age=max_age,
        force_authn=raw["force_authn"] is True,
    )


def _sorted_or_none(values: frozenset[str] | None) -> list[str] | None:
    return None if values is None else sorted(values)


def _citizen_has(raw: dict[str, Any] | None) -> CitizenHas | None:
    if raw is None:
        return None
    documents, phones, uk_address = raw["documents"], raw["phones"], raw["uk_address"]
    return CitizenHas(
        None if documents is None else frozenset(map(str, documents)),
        None if phones is None else frozenset(map(str, phones)),
        None if uk_address is None else uk_address is True,
    )


def session_to_dict(session: Session) -> dict[str, Any]:
    return {
        "session_id": session.session_id,
        "journey_id": session.journey_id,
        "state": session.state.value,
        "rp_entity_id": session.rp_entity_id,
        "authn_request_id": session.authn_request_id,
        "relay_state": session.relay_state,
        "acs_url": session.acs_url,
        "accepted_levels": [level.name for level in session.accepted_levels],
        "force_authn": session.force_authn,
        "idp_shortlist": list(session.idp_shortlist),
        "started_at": session.started_at.isoformat(),
        "expires_at": session.expires_at.isoformat(),
        "selected_idp_entity_id": session.selected_idp_entity_id,
        "hub_request_id": session.hub_request_id,
        "idp_level": session.idp_level.name if session.idp_level is not None else None,
        "pid_hash": session.pid_hash,
        "matching_request_id": session.matching_request_id,
        "journey_kind": session.journey_kind.value if session.journey_kind else None,
        "problem": session.problem,
        "matching_identity": _matching_identity_to_dict(session.matching_identity),
        "cycle3_value": session.cycle3_value,
        "release": _release_to_dict(session.release),
        "service_assertions_held": session.service_assertions_held,
        # what the release before held assertions beside the session requires, so that while both run (a
        # rolling deploy) its processes still read a journey saved here up to the company's answer
        "service_assertions": [],
        "timeout_audited": session.timeout_audited,
        "front_end": session.front_end.value,
        "oidc_request": _oidc_request_to_dict(session.oidc_request),
        "extensions": session.extensions,
        "citizen_has": None
        if session.citizen_has is None
        else {
            "documents": _sorted_or_none(session.citizen_has.documents),
            "phones": _sorted_or_none(session.citizen_has.phones),
            "uk_address": session.citizen_has.uk_address,
        },
    }


def session_from_dict(raw: dict[str, Any]) -> Session:
    # sessions stored before the assertions were held beside them (`hub.store.held`) hold none there
    service_assertions_held = raw.get("service_assertions_held", False)
    if not all(
        isinstance(flag, bool) for flag in (raw["force_authn"], raw["timeout_audited"], service_assertions_held)
    ):
        raise ValueError("flags must be booleans")
    return Session(
        session_id=str(raw["session_id"]),
        journey_id=str(raw["journey_id"]),
        state=State(raw["state"]),
        rp_entity_id=str(raw["rp_entity_id"]),
        authn_request_id=str(raw["authn_request_id"]),
        relay_state=raw["relay_state"],
        acs_url=str(raw["acs_url"]),
        accepted_levels=tuple(LevelOfAssurance.from_name(name) for name in raw["accepted_levels"]),
        force_authn=raw["force_authn"],
        idp_shortlist=tuple(str(entity_id) for entity_id in raw["idp_shortlist"]),
        started_at=datetime.fromisoformat(raw["started_at"]),
        expires_at=datetime.fromisoformat(raw["expires_at"]),
        selected_idp_entity_id=raw["selected_idp_entity_id"],
        hub_request_id=raw["hub_request_id"],
        idp_level=_level(raw["idp_level"]),
        pid_hash=raw["pid_hash"],
        matching_request_id=raw["matching_request_id"],
        journey_kind=JourneyKind(raw["journey_kind"]) if raw["journey_kind"] else None,
        problem=raw["problem"],
        matching_identity=_matching_identity_from_dict(raw["matching_identity"]),
        cycle3_value=raw["cycle3_value"],
        release=_release_from_dict(raw["release"]),
        service_assertions_held=service_assertions_held,
        timeout_audited=raw["timeout_audited"],
        extensions=int(raw.get("extensions", 0)),
        citizen_has=_citizen_has(raw.get("citizen_has")),
        # sessions stored before OpenID Connect existed are SAML journeys
        front_end=FrontEnd(raw.get("front_end", FrontEnd.SAML.value)),
        oidc_request=_oidc_request_from_dict(raw.get("oidc_request")),
    )


def _aead(key: bytes) -> AESGCM:
    if not isinstance(key, bytes) or len(key) != _KEY_BYTES:
        raise ValueError("the session key must be 32 bytes (AES-256)")
    return AESGCM(key)


class SessionCodec:
    """`key` encrypts, it and `previous_keys` decrypt; or, with `key_file` (`HUB_SESSION_KEY_FILE`), the keys
    that file holds now, the first encrypting, so that the key rotates while the hub runs."""

    def __init__(
        self,
        key: bytes | None = None,
        *,
        previous_keys: Sequence[bytes] = (),
        key_file: SessionKeyFile | None = None,
    ) -> None:
        if (key is None) == (key_file is None):
            raise ValueError("give a session key or a session key file, not both")
        self._fixed = () if key is None else (_aead(key), *(_aead(old) for old in previous_keys))
        self._key_file = key_file

    def _ciphers(self) -> tuple[AESGCM, ...]:
        return self._key_file.ciphers() if self._key_file is not None else self._fixed

    @staticmethod
    def _aad(session_id: str) -> bytes:
        return _AAD_PREFIX + session_id.encode()

    def encode(self, session: Session) -> bytes:
        plaintext = json.dumps(session_to_dict(session), separators=(",", ":"), sort_keys=True).encode()
        return self._encrypt(plaintext, self._aad(session.session_id))

    def _encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._ciphers()[0].encrypt(nonce, plaintext, aad)

    def _decrypt(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < 1 + _NONCE_BYTES + 16 or blob[:1] != _VERSION:
            raise SessionCorrupt("not a blob of ours")
        nonce, ciphertext = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        for aead in self._ciphers():
            try:
                return aead.decrypt(nonce, ciphertext, aad)
            except InvalidTag:
                continue
        raise SessionCorrupt("blob does not authenticate")

    def seal(self, purpose: str, key: str, payload: dict[str, Any]) -> bytes:
        """An entry other than a session (e.g. a parked IDP answer), bound to its purpose and key."""
        plaintext = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        return self._encrypt(plaintext, _SEALED_AAD_PREFIX + purpose.encode() + b"\x00" + key.encode())

    def unseal(self, purpose: str, key: str, blob: bytes) -> dict[str, Any]:
        """The payload `seal` was given; SessionCorrupt if the blob was made for another purpose or key."""
        plaintext = self._decrypt(blob, _SEALED_AAD_PREFIX + purpose.encode() + b"\x00" + key.encode())
        try:
            payload = json.loads(plaintext)
        except ValueError as exc:
            raise SessionCorrupt("sealed entry holds no JSON") from exc
        if not isinstance(payload, dict):
            raise SessionCorrupt("sealed entry holds no object")
        return payload

    def decode(self, session_id: str, blob: bytes) -> Session:
        plaintext = self._decrypt(blob, self._aad(session_id))
        try:
            session = session_from_dict(json.loads(plaintext))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SessionCorrupt("session blob holds no valid session") from exc
        if session.session_id != session_id:
            raise SessionCorrupt("session blob belongs to another session")
        return session
