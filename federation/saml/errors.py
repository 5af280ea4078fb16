"""The one error every SAML parser raises, so callers log `reason` and show one error page."""

from __future__ import annotations


class SamlValidationError(Exception):
    """An inbound message was refused.

    `reason` is a short kebab-case code (e.g. `unknown-issuer`, `bad-signature`, `wrong-destination`)
    that callers log and count; `message` is for developers and never holds personal data.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message
