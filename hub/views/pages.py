"""Rendering helpers shared by the hub's views: error pages and the SAML auto-post pages."""

from __future__ import annotations

import logging

from flask import make_response, render_template, url_for

from federation.config import RelyingParty
from federation.server_errors import error_id
from federation.web import problems
from hub.metrics import PROBLEM_PAGES

log = logging.getLogger("hub")


def problem_page(problem: str, *, rp: RelyingParty | None = None, status: int | None = None, **context):
    """A page that says what happened and what to do next; its HTTP status comes from the problem key.
    A server error's page names its error ID, which the log line of that error names too."""
    status = status or problems.problem_status(problem)
    if rp is not None:
        context.setdefault("rp_name", rp.display_name)
        context.setdefault("other_ways", rp.other_ways)
    if status >= 500:
        context.setdefault("error_id", error_id())
    body = render_template("error.html", problem=problem, **context)
    PROBLEM_PAGES.labels(problem=problem, status=str(status)).inc()
    return make_response(body, status)


def return_to_service_url() -> str:
    return url_for("journey.return_to_service")
