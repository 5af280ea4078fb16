"""The compliance tool's HTTP: one browser-like session, redirects under its control, forms read from HTML.

Like a browser, a cross-site POST carries no cookie (the hub's and an IDP's POSTs are cross-site), and the
redirect that follows is a top-level GET that carries them again. Answers are read up to a bound, so an
endpoint under test cannot exhaust the tool.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import lxml.html
import requests

MAX_BODY_BYTES = 2 * 1024 * 1024
TIMEOUT_SECONDS = 20
MAX_REDIRECTS = 8


class Unreachable(Exception):
    """The endpoint did not answer: `str()` says where and why, for the report."""


@dataclass(frozen=True)
class Answer:
    url: str
    status: int
    text: str
    location: str | None  # absolute, when the answer is a redirect

    @property
    def is_redirect(self) -> bool:
        return 300 <= self.status < 400 and self.location is not None

    def describe(self) -> str:
        """`HTTP 303 to /path`: the query is left out (it may hold a one-time key)."""
        if not self.is_redirect:
            return f"HTTP {self.status}"
        target = urlsplit(self.location)  # type: ignore[arg-type]
        same_site = target.netloc == urlsplit(self.url).netloc
        shown = target.path if same_site else f"{target.scheme}://{target.netloc}{target.path}"
        return f"HTTP {self.status} to {shown}{'?...' if target.query else ''}"


@dataclass(frozen=True)
class Form:
    action: str  # absolute
    method: str  # "get" or "post"
    fields: dict[str, str]


def forms(answer: Answer) -> list[Form]:
    """The forms of an HTML answer, with their hidden and text inputs (a submit button's value is left out)."""
    if not answer.text.strip():
        return []
    try:
        document = lxml.html.document_fromstring(answer.text)
    except (ValueError, lxml.etree.ParserError):
        return []
    found = []
    for form in document.xpath("//form"):
        fields = {
            item.get("name"): item.get("value") or ""
            for item in form.xpath(".//input[@name]")
            if (item.get("type") or "text").lower() not in ("submit", "button", "image", "radio", "checkbox")
        }
        action = urljoin(answer.url, form.get("action") or answer.url)
        found.append(Form(action, (form.get("method") or "get").lower(), fields))
    return found


@dataclass
class Browser:
    """One citizen's browser: a cookie jar, and requests that never follow redirects on their own."""

    http: requests.Session = field(default_factory=requests.Session)

    def _read(self, response: requests.Response) -> Answer:
        body = b""
        for chunk in response.iter_content(64 * 1024):
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                break
        response.close()
        location = response.headers.get("Location")
        text = body[:MAX_BODY_BYTES].decode(response.encoding or "utf-8", errors="replace")
        return Answer(response.url, response.status_code, text, urljoin(response.url, location) if location else None)

    def get(self, url: str) -> Answer:
        try:
            response = self.http.get(url, timeout=TIMEOUT_SECONDS, allow_redirects=False, stream=True)
        except requests.RequestException as exc:
            raise Unreachable(f"GET {url} failed: {type(exc).__name__}") from None
        return self._read(response)

    def post(self, url: str, data: Mapping[str, str], *, cross_site: bool = False) -> Answer:
        """POST a form; `cross_site`: as another site's page would, so without this browser's cookies."""
        try:
            if cross_site:
                response = requests.post(
                    url, data=dict(data), timeout=TIMEOUT_SECONDS, allow_redirects=False, stream=True
                )
            else:
                response = self.http.post(
                    url, data=dict(data), timeout=TIMEOUT_SECONDS, allow_redirects=False, stream=True
                )
        except requests.RequestException as exc:
            raise Unreachable(f"POST {url} failed: {type(exc).__name__}") from None
        return self._read(response)

    def follow(self, answer: Answer) -> Answer:
        """Follow redirects with GETs that carry this browser's cookies, as a top-level navigation does."""
        for _ in range(MAX_REDIRECTS):
            if not answer.is_redirect:
                return answer
            answer = self.get(answer.location)  # type: ignore[arg-type]
        return answer
