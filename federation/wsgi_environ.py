"""The WSGI environ the apps see, made what they expect under granian.

Two things granian does differently from the WSGI servers the apps were written against:

- A chunked request body arrives with no CONTENT_LENGTH. Werkzeug then cuts the body at the app's
  MAX_CONTENT_LENGTH instead of refusing it, so an oversized SAML message would be read truncated (and
  refused as malformed) rather than refused as too large. Here a chunked body is read, up to
  MAX_CHUNKED_BODY, and handed on with its length, so each app's own limit answers 413 as for any other
  body; a longer one is refused here with 413 without being read further.
- granian copies the whole process environment into every request's environ (secrets such as
  HUB_SESSION_KEY or LOCAL_MATCHING_TOKEN among them). They are removed again, so that nothing in a request
  can show them and no environment variable can pose as a request header.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from typing import Any

MAX_CHUNKED_BODY = 1024 * 1024  # every message and form of the apps is far smaller (SAML: 512 KiB at most)
# what a server sets per request: never removed, even if the process environment has a variable of the name
_REQUEST_KEYS = frozenset(
    {
        "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH",
        "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "REMOTE_ADDR", "REMOTE_PORT", "RAW_URI", "REQUEST_URI",
    }
)  # fmt: skip


class ServerNeutralEnviron:
    """WSGI middleware: chunked bodies handed on with a length; the process environment taken out."""

    def __init__(self, app: Any, *, max_chunked_body: int = MAX_CHUNKED_BODY) -> None:
        self.app = app
        self.max_chunked_body = max_chunked_body
        self._process_environment = {k: v for k, v in os.environ.items() if k not in _REQUEST_KEYS}
        self._process_names = frozenset(self._process_environment)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        process_environment = self._process_environment
        for key in self._process_names.intersection(environ):  # one pass in C, then only the names present
            if environ[key] == process_environment[key]:
                del environ[key]
        if not environ.get("CONTENT_LENGTH") and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            body = environ["wsgi.input"].read(self.max_chunked_body + 1)
            if len(body) > self.max_chunked_body:
                start_response("413 Request Entity Too Large", [("Content-Type", "text/plain; charset=utf-8")])
                return [b"Request body too large\n"]
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            del environ["HTTP_TRANSFER_ENCODING"]  # Werkzeug ignores a length given beside "chunked"
        return self.app(environ, start_response)
