"""The OpenID Connect front end: a client's authorization request starts a journey; the journey's end is an
authorization code (or an error) redirected to the client's registered redirect URI; the code is redeemed at
the token endpoint for an ID token and an access token; the access token at userinfo for the claims.

One module per job: `provider` (the hub's signing keys, discovery, JWKS), `authorize` (intake), `answer`
(the journey's end: code or error), `grants` (codes, tokens and login sessions in the hub's store, sealed),
`client_auth` (`private_key_jwt` with authlib), `tokens` (the token endpoint), `claims` (verified_claims
and the identity JWT), `logout` (end session and back-channel logout). Protocol errors are
`OAuthError`s carrying the RFC 6749 / OpenID Connect error code; none of them holds journey rules.
"""

from __future__ import annotations


class OAuthError(Exception):
    """A protocol error for the client: `error` is the registered code, `description` safe to show.

    `status` is the HTTP status at the token and userinfo endpoints; at /authorize the error goes to the
    client's redirect URI instead.
    """

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def to_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class NoRedirect(Exception):
    """The request cannot be answered at a redirect URI (unknown client, unregistered redirect URI): the
    citizen gets a page, never a redirect; `reason` is for the operator's log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
