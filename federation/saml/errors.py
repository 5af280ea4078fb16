"""The one error every SAML parser raises, so callers log `refusal` and show one error page."""

from __future__ import annotations


class SamlValidationError(Exception):
    """An inbound message was refused.

    `reason` is a short kebab-case code (e.g. `unknown-issuer`, `signature-invalid`, `wrong-destination`)
    that callers count and tests match; `detail` names what failed (the attribute, the algorithm URI, the
    element), so that whoever sent the message can fix it without reading our code. Any value the sender
    wrote is in `detail` only through `federation.logsafe.log_safe`, so `refusal` can go into a log line as
    it is. `message` is for developers and never holds personal data.
    """

    def __init__(self, reason: str, message: str, *, detail: str | None = None) -> None:
        self.reason = reason
        self.message = message
        self.detail = detail
        super().__init__(f"{self.refusal}: {message}")

    @property
    def refusal(self) -> str:
        """`reason:detail` (or `reason` alone): what a log line or a compliance report says, code first."""
        return f"{self.reason}:{self.detail}" if self.detail else self.reason
