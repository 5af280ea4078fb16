"""Every server error (5xx) of a service is one log line with the method, the route and an error ID; the
same ID is on the page the citizen sees (and in the `X-Error-ID` header), so a citizen's or a
department's report can be matched to the log line without either side quoting anything personal.

The ID is the request ID every log line of the request carries (`federation.logging_setup`: the trusted
caller's `X-Request-ID`, else a new one), so the page's ID finds all of the step's lines in every service.
Outside that (an app not started by `federation.serve`, e.g. in a unit test) it is the caller's
well-formed `X-Request-ID`, else a new random one; one per request either way. The route is the URL rule
(`/journey/<step>`), never the path as sent, which could carry someone's text.
"""

from __future__ import annotations

import logging
import re
import secrets

from flask import Flask, Response, g, request

from federation.logging_setup import current_request_id

ERROR_ID_HEADER = "X-Error-ID"
REQUEST_ID_HEADER = "X-Request-ID"
_WELL_FORMED = re.compile(r"[A-Za-z0-9._-]{8,64}")


def error_id() -> str:
    """This request's error ID (the same however often it is asked for)."""
    if "federation_error_id" not in g:
        served = current_request_id()
        received = request.headers.get(REQUEST_ID_HEADER, "")
        if served != "-":
            g.federation_error_id = served
        elif _WELL_FORMED.fullmatch(received):
            g.federation_error_id = received
        else:
            g.federation_error_id = secrets.token_hex(8)
    return g.federation_error_id


def route() -> str:
    """The rule the request matched, or a fixed word when it matched none (the path is the sender's text)."""
    return request.url_rule.rule if request.url_rule is not None else "(no route)"


def install(app: Flask, logger: logging.Logger) -> None:
    """Log one line for every 5xx answer of `app`, whichever handler produced it, and name its error ID."""

    @app.after_request
    def log_server_error(response: Response) -> Response:
        if response.status_code >= 500:
            logger.error(
                "server error %d: %s %s (error ID %s)", response.status_code, request.method, route(), error_id()
            )
            response.headers[ERROR_ID_HEADER] = error_id()
        return response
