"""The one error the client library raises: the hub's answer was refused, with a short reason to log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from federation.saml import SamlValidationError
from federation.xmlsecurity import XmlSecurityError

__all__ = ["HubResponseError", "refusing"]


class HubResponseError(Exception):
    """The hub's answer was refused: forged, altered, replayed, late, not for us, or not what we asked.

    `reason` is a short kebab-case code for the log and the metrics (e.g. `signature-invalid`,
    `replayed-response`, `loa-too-low`); `message` says more, for developers. Neither holds personal data.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@contextmanager
def refusing() -> Iterator[None]:
    """Turn the shared core's validation errors into HubResponseError, so callers catch one exception."""
    try:
        yield
    except SamlValidationError as exc:
        raise HubResponseError(exc.reason, exc.message) from None
    except XmlSecurityError as exc:
        raise HubResponseError(exc.reason, str(exc)) from None
