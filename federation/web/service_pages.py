"""The pages every live public service must have, for each citizen-facing app: cookies, privacy notice,
accessibility statement, help and contact, and a feedback form. Linked from every page's footer.

Each app says which cookies it sets and where its feedback goes; the operator's name and contacts come from
the federation config (`operator`), so a deployment changes them without code. The feedback form is the
Service Standard's satisfaction measure: a rating and an optional comment, stored without personal data
(the comment is redacted of anything that looks like an email address, a phone number, a National
Insurance number, a postcode or a date, and cut short), with no session, IP address or user agent. It
changes no journey and carries no credential, so it needs no CSRF token; its abuse is spam, which the
app's rate limit (`before_feedback`) and the size limits answer.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, Flask, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from federation.config import Operator

RATINGS = ("very-satisfied", "satisfied", "neither", "dissatisfied", "very-dissatisfied")
MAX_COMMENT = 1200
PAGES = ("cookies", "privacy", "accessibility", "help", "feedback")


@dataclass(frozen=True)
class CookieUse:
    """One cookie an app sets: its name and the message keys that say what it is for and how long it lasts."""

    name: str
    purpose_key: str
    expiry_key: str


LANGUAGE_COOKIE = CookieUse("lang", "pages.cookies.lang_purpose", "pages.cookies.one_year")


_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+"), "[email]"),
    # any National-Insurance-shaped text, valid prefix or not: redacting too much costs nothing here
    (re.compile(r"\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]?\b", re.IGNORECASE), "[nino]"),
    (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE), "[postcode]"),
    (re.compile(r"\b\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}\b"), "[date]"),
    (re.compile(r"\+?\d[\d\s\-()]{7,}\d"), "[number]"),
)


def redact(comment: str) -> str:
    """The comment with anything that looks like personal data replaced, whitespace tidied, cut short."""
    text = " ".join(comment.split())
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text[:MAX_COMMENT]


class FeedbackLog:
    """Feedback as JSON lines appended to one file (several processes may append: each line is one write)."""

    def __init__(self, path: Path, app: str) -> None:
        self.path = Path(path)
        self.app = app
        self._lock = threading.Lock()

    def add(self, rating: str, comment: str, language: str, service: str | None = None) -> None:
        record = {
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:00Z"),  # to the minute: no finer trail
            "app": self.app,
            "service": service or "",
            "rating": rating,
            "comment": redact(comment),
            "language": language,
        }
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)

    def entries(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass(frozen=True)
class ServicePages:
    """What one app's pages say: who runs it, which cookies it sets, where feedback goes."""

    operator: Operator
    cookies: Sequence[CookieUse]
    feedback: FeedbackLog
    # what this app is, for the privacy notice: "hub", "idp" or "service"
    kind: str = "hub"
    # an extra check on the feedback POST (e.g. the hub's rate limit); returns a response to refuse with
    before_feedback: Callable[[], Response | None] | None = None
    # the service (entity ID) the citizen was using when they gave feedback, if known: satisfaction per service
    service_in_use: Callable[[], str | None] | None = None


def local_return_path(path: str | None) -> str | None:
    """Where "back to where you were" goes: a path on this site only, never another site."""
    from federation.web import local_path

    if not path or not path.startswith("/") or path.startswith(("//", "/\\")) or len(path) > 300:
        return None
    return local_path(path.split("?", 1)[0])


def register_service_pages(app: Flask, pages: ServicePages) -> None:
    """Mount /cookies, /privacy, /accessibility, /help and /feedback on `app`."""
    blueprint = Blueprint("service_pages", __name__)

    def context(page: str) -> dict:
        return {
            "operator": pages.operator,
            "page": page,
            "app_kind": pages.kind,
            "cookies": pages.cookies,
            "return_to": local_return_path(request.args.get("from")),
        }

    @blueprint.get("/cookies")
    def cookies() -> str:
        return render_template("federation/pages/cookies.html", **context("cookies"))

    @blueprint.get("/privacy")
    def privacy() -> str:
        return render_template("federation/pages/privacy.html", **context("privacy"))

    @blueprint.get("/accessibility")
    def accessibility() -> str:
        return render_template("federation/pages/accessibility.html", **context("accessibility"))

    @blueprint.get("/help")
    def help_page() -> str:
        return render_template("federation/pages/help.html", **context("help"))

    @blueprint.route("/feedback", methods=["GET", "POST"])
    def feedback():
        page = context("feedback")
        if request.method == "GET":
            return render_template("federation/pages/feedback.html", **page)
        if pages.before_feedback is not None:
            refused = pages.before_feedback()
            if refused is not None:
                return refused
        rating, comment = request.form.get("rating", ""), request.form.get("comment", "")
        return_to = local_return_path(request.form.get("return_to"))
        page["return_to"] = return_to
        if rating not in RATINGS or len(comment) > 5 * MAX_COMMENT:
            return (
                render_template("federation/pages/feedback.html", error=True, comment=comment[:MAX_COMMENT], **page),
                400,
            )  # fmt: skip
        from federation.web import current_language

        service = pages.service_in_use() if pages.service_in_use is not None else None
        pages.feedback.add(rating, comment, current_language(), service)
        return redirect(url_for("service_pages.feedback_thanks", **({"from": return_to} if return_to else {})), 303)

    @blueprint.get("/feedback/thank-you")
    def feedback_thanks() -> str:
        return render_template("federation/pages/feedback_thanks.html", **context("feedback_thanks"))

    app.register_blueprint(blueprint)
    app.jinja_env.globals["service_pages"] = PAGES
