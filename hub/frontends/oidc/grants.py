"""What codes, access tokens and the hub's OpenID Connect login sessions stand for, in the hub's store.

Each entry is sealed with the hub key (AES-256-GCM, bound to its namespace and key, like a parked IDP
answer) and kept for its lifetime only: a code 60 seconds, an access token 3 minutes. The store key is
the SHA-256 of the code or token, so the store never holds a bearer value. A code is taken atomically
(single use); redeeming it records which access token it gave, so a replayed code revokes that token.
Identity data leaves the store once userinfo has served it, or when its token expires.

A login session (`sid`) lists the clients the citizen signed in to from one browser, for logout.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from hub.services import HubServices
from hub.store.crypto import SessionCorrupt

CODES = "oidc-code"
REDEEMED = "oidc-code-redeemed"
TOKENS = "oidc-token"
LOGINS = "oidc-login"
CODE_SECONDS = 60
TOKEN_SECONDS = 180


@dataclass(frozen=True)
class Grant:
    """A signed-in citizen for one client: what the code and then the access token stand for.

    `claims` are the userinfo claims besides `sub` (the verified identity and the matching answer: personal
    data), `identity_jwt` the payload of the identity JWT signed when userinfo is served.
    """

    client_id: str
    redirect_uri: str
    code_challenge: str
    nonce: str | None
    sid: str
    sub: str
    vot: str
    auth_time: int
    claims: dict[str, Any] = field(default_factory=dict)
    identity_jwt: dict[str, Any] | None = None

    @property
    def holds_identity(self) -> bool:
        return bool(self.claims) or self.identity_jwt is not None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _seal(hub: HubServices, namespace: str, key: str, payload: dict[str, Any]) -> bytes:
    return hub.sessions.codec.seal(namespace, key, payload)


def _unseal(hub: HubServices, namespace: str, key: str, blob: bytes | None) -> dict[str, Any] | None:
    if blob is None:
        return None
    try:
        return hub.sessions.codec.unseal(namespace, key, blob)
    except SessionCorrupt:
        return None


def _grant(raw: dict[str, Any] | None) -> Grant | None:
    if raw is None:
        return None
    try:
        return Grant(**raw["grant"])
    except (KeyError, TypeError):
        return None


def issue_code(hub: HubServices, grant: Grant) -> str:
    code = secrets.token_urlsafe(32)
    key = _digest(code)
    hub.store.put(CODES, key, _seal(hub, CODES, key, {"grant": asdict(grant)}), CODE_SECONDS)
    return code


@dataclass(frozen=True)
class Redemption:
    grant: Grant | None
    replayed: bool = False


def redeem_code(hub: HubServices, code: str) -> Redemption:
    """The code's grant, which no one else can now redeem; a code seen before revokes the token it gave."""
    if not code or len(code) > 128:
        return Redemption(None)
    key = _digest(code)
    grant = _grant(_unseal(hub, CODES, key, hub.store.take(CODES, key)))
    if grant is not None:
        return Redemption(grant)
    given = hub.store.take(REDEEMED, key)
    if given is None:
        return Redemption(None)
    hub.store.remove(TOKENS, given.decode())
    return Redemption(None, replayed=True)


def issue_access_token(hub: HubServices, grant: Grant, code: str) -> str:
    token = secrets.token_urlsafe(32)
    key = _digest(token)
    hub.store.put(TOKENS, key, _seal(hub, TOKENS, key, {"grant": asdict(grant)}), TOKEN_SECONDS)
    hub.store.put(REDEEMED, _digest(code), key.encode(), TOKEN_SECONDS)
    return token


def token_grant(hub: HubServices, token: str) -> Grant | None:
    """The grant of a live access token; its identity data is then dropped (served once)."""
    if not token or len(token) > 128:
        return None
    key = _digest(token)
    grant = _grant(_unseal(hub, TOKENS, key, hub.store.get(TOKENS, key)))
    if grant is not None and grant.holds_identity:
        spent = replace(grant, claims={}, identity_jwt=None)
        hub.store.put(TOKENS, key, _seal(hub, TOKENS, key, {"grant": asdict(spent)}), TOKEN_SECONDS)
    return grant


# ------------------------------------------------------------------------------------------ login sessions


@dataclass(frozen=True)
class SignedIn:
    client_id: str
    sub: str


def _lifetime(hub: HubServices) -> int:
    return int(hub.config.session_lifetime.total_seconds())


def _clients(hub: HubServices, sid: str | None, *, take: bool = False) -> tuple[SignedIn, ...]:
    if not sid or len(sid) > 64:
        return ()
    raw = _unseal(hub, LOGINS, sid, hub.store.take(LOGINS, sid) if take else hub.store.get(LOGINS, sid))
    if raw is None:
        return ()
    try:
        return tuple(SignedIn(str(item["client_id"]), str(item["sub"])) for item in raw["clients"])
    except (KeyError, TypeError):
        return ()


def add_login(hub: HubServices, sid: str | None, client_id: str, sub: str) -> str:
    """The login session `sid` (a new one if it has ended or there is none) with this client added."""
    clients = list(_clients(hub, sid))
    if not clients:
        sid = secrets.token_urlsafe(24)
    entry = SignedIn(client_id, sub)
    if entry not in clients:
        clients.append(entry)
    payload = {"clients": [asdict(item) for item in clients]}
    hub.store.put(LOGINS, sid, _seal(hub, LOGINS, sid, payload), _lifetime(hub))
    return sid


def end_login(hub: HubServices, sid: str | None) -> tuple[SignedIn, ...]:
    """End the login session: the clients that were signed in to it (for back-channel logout)."""
    return _clients(hub, sid, take=True)  # of two logouts at once, one tells the clients
