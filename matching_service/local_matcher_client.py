"""The client the SAML endpoint calls a local matcher over HTTP with: a department's own, or ours on a listener
of its own, at the configured `local_matching_url` (`builtin:` is called in process instead:
`local_matcher_inprocess`).

Every call carries `Authorization: Bearer <token>` (`matching_service.local_matching_auth`), is bounded by a
timeout shorter than the hub's wait for us, follows no redirect, and reads at most `MAX_RESPONSE_BYTES` of
the answer. Anything but a 200 with a valid result is a `LocalMatcherError`, which the SAML endpoint turns into
a Responder status for the hub.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from federation.logging_setup import outgoing_headers
from federation.run_slots import waiting_elsewhere
from matching_service.local_matching_contract import (
    CREATE_USER_RESULTS,
    MATCH_RESULTS,
    CreateUserRequest,
    MatchRequest,
    create_user_request_to_json,
    match_request_to_json,
)

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 16 * 1024
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


class LocalMatcherError(Exception):
    """The local matcher did not answer within the contract (timeout, refused, HTTP error, garbage)."""


class LocalMatcher(Protocol):
    """What the SAML endpoint calls: this HTTP client, or the built-in matcher in process
    (`local_matcher_inprocess.InProcessLocalMatcher`)."""

    def match(self, match_request: Mapping[str, Any] | MatchRequest) -> str: ...

    def create_user(
        self, hashed_pid: str, level_of_assurance: str, attributes: Mapping[str, Any] | None = None
    ) -> str: ...


class LocalMatcherClient:
    """Calls a local matcher's JSON contract; `base_url` is where it is mounted, e.g.
    "http://127.0.0.1:8084/local-matching" (the client appends /match and /create-user)."""

    def __init__(self, base_url: str, *, token: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._headers = {"Authorization": f"Bearer {token}"}
        self._local = threading.local()  # requests.Session is not documented as thread-safe
        parts = urlsplit(self.base_url)
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
            log.warning(
                "the local matcher at %s is reached over plain http: its token and the citizen's details "
                "cross the network unencrypted; use https",
                self.base_url,
            )

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def match(self, match_request: Mapping[str, Any] | MatchRequest) -> str:
        """Returns "match" or "no-match"; raises LocalMatcherError otherwise."""
        body = match_request_to_json(match_request) if isinstance(match_request, MatchRequest) else match_request
        return self._call("/match", body, MATCH_RESULTS)

    def create_user(self, hashed_pid: str, level_of_assurance: str, attributes: Mapping[str, Any] | None = None) -> str:
        """Returns "success" or "failure"; raises LocalMatcherError otherwise."""
        body = create_user_request_to_json(CreateUserRequest(hashed_pid, level_of_assurance, dict(attributes or {})))
        return self._call("/create-user", body, CREATE_USER_RESULTS)

    def _call(self, path: str, body: Mapping[str, Any], allowed: frozenset[str]) -> str:
        url = self.base_url + path
        try:
            with waiting_elsewhere():  # another request may run meanwhile (federation.run_slots)
                with self._session().post(
                    url,
                    json=dict(body),
                    headers={**self._headers, **outgoing_headers()},
                    timeout=self.timeout,
                    stream=True,
                    allow_redirects=False,
                ) as response:
                    status = response.status_code
                    raw = b""
                    for chunk in response.iter_content(chunk_size=4096):
                        raw += chunk
                        if len(raw) > MAX_RESPONSE_BYTES:
                            break
        except requests.Timeout as exc:
            raise LocalMatcherError(f"local matcher timed out after {self.timeout}s ({path})") from exc
        except (requests.RequestException, OSError) as exc:
            raise LocalMatcherError(f"local matcher unreachable ({path}): {type(exc).__name__}") from exc
        if status == 401:
            raise LocalMatcherError(
                f"local matcher refused our credential (HTTP 401, {path}): "
                "LOCAL_MATCHING_TOKEN differs from the matcher's"
            )
        if status != 200:
            raise LocalMatcherError(f"local matcher answered HTTP {status} ({path})")
        if len(raw) > MAX_RESPONSE_BYTES:
            raise LocalMatcherError(f"local matcher answer too large ({path})")
        try:
            answer = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise LocalMatcherError(f"local matcher answered with something that is not JSON ({path})") from exc
        result = answer.get("result") if isinstance(answer, dict) else None
        if result not in allowed:
            raise LocalMatcherError(f"local matcher answered without a valid result ({path})")
        return str(result)
