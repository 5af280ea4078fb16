"""Rendering helpers shared by the hub's views: error pages and the SAML auto-post pages."""

from __future__ import annotations

import logging

from flask import make_response, render_template, url_for

from federation.config import RelyingParty
from federation.web import problems
from hub.metrics import PROBLEM_PAGES

log = logging.getLogger("hub")


def problem_page(problem: str, *, rp: RelyingParty | None = None, status: int | None = None, **context):
    """A page that says what happened and what to do next; its HTTP status comes from the problem key."""
    if rp is not None:
        context.setdefault("rp_name", rp.display_name)
        context.setdefault("other_ways", rp.other_ways)
    body = render_template("error.html", problem=problem, **context)
    status = status or problems.problem_status(problem)
    PROBLEM_PAGES.labels(problem=problem, status=str(status)).inc()
    return make_response(body, status)


def return_to_service_url() -> str:
    return url_for("journey.return_to_service")
