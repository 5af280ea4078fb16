"""The light load driver: the same matched journey as `tests.e2e.journey.sign_in` with a BrowserClient, at a
fraction of the driver's own CPU, so that the machine's cores go to the services being measured.

A virtual browser keeps one keep-alive connection per origin (`light_http`) and a minimal cookie jar, and
reads each page's forms with a few precompiled regexes over the raw bytes instead of building an HTML tree.
It still behaves as the BrowserClient does where the services can tell: the same requests in the same
order, the same form fields, cookies kept per host (a cookie ignores the port, as in a browser) with their
Path, Secure and SameSite (a cross-site POST carries only SameSite=None cookies; a cookie without SameSite
is Lax), redirects followed as a browser does (303, and 301/302 after a POST, become a GET). Each HTTP
exchange is timed as a hop named like the BrowserClient's. Any step that lands anywhere unexpected stops
the run with the page's address, status and heading, as `journeys.one_journey` does.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote_plus, urlencode, urljoin, urlsplit

from federation.launcher import Federation
from tests.bench.journeys import Journey, hop_namer
from tests.bench.light_http import Connection, Response
from tests.e2e.journey import expected_hashed_pid

USERNAME = "alice"
IDP_NAME = "stub-idp-two"
IDP_DISPLAY_NAME = "Stub IDP Two"
TIMEOUT = 30.0
MAX_REDIRECTS = 10
REDIRECTS = frozenset((301, 302, 303, 307, 308))
LOOPBACK = frozenset(("127.0.0.1", "localhost", "::1"))
HEADERS = "User-Agent: federation-light-driver\r\nAccept: */*\r\n"  # what every request says
FORM_CONTENT_TYPE = "Content-Type: application/x-www-form-urlencoded\r\n"

_INPUT = re.compile(rb"<input\b([^>]*)>")
_BUTTON = re.compile(rb"<button\b[^>]*>(.*?)</button>", re.S)
_ATTR = re.compile(rb"""([\w-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_H1 = re.compile(rb"<h1\b[^>]*>(.*?)</h1>", re.S)
_TAG = re.compile(rb"<[^>]*>")
_SPACE = re.compile(rb"\s+")


class JourneyError(RuntimeError):
    """A step landed somewhere the journey does not go: the run stops."""


# quote_plus's alphabet. urlencode quotes a 20 kB SAML message a character at a time in Python; base64 has
# three characters to quote, so finding which ones occur (in C) and replacing those is about 30 times cheaper.
_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~"
_PERCENT, _SPACE_CODE = ord("%"), ord(" ")


def form_encode(fields: Mapping[str, str]) -> bytes:
    """application/x-www-form-urlencoded, byte for byte what urllib.parse.urlencode (and requests) sends."""
    return "&".join(f"{_quote(name)}={_quote(value)}" for name, value in fields.items()).encode("ascii")


def _quote(text: str) -> str:
    if not text.isascii():
        return quote_plus(text)
    unsafe = set(text.encode("ascii").translate(None, _SAFE))
    if _PERCENT in unsafe:  # first, so that no escape made below is escaped again
        text = text.replace("%", "%25")
    for code in unsafe - {_PERCENT, _SPACE_CODE}:
        text = text.replace(chr(code), f"%{code:02X}")
    return text.replace(" ", "+") if _SPACE_CODE in unsafe else text


def _text(raw: bytes) -> str:
    """Markup's text, whitespace collapsed and entities decoded (headings, button labels)."""
    return html.unescape(_SPACE.sub(b" ", _TAG.sub(b"", raw)).strip().decode("utf-8", "replace"))


def _attrs(raw: bytes) -> dict[str, str]:
    """A tag's attributes (valueless ones as "")."""
    found = {}
    for name, double, single, bare in _ATTR.findall(raw):
        text = (double or single or bare).decode("utf-8", "replace")
        found[name.decode().lower()] = html.unescape(text) if "&" in text else text
    return found


@dataclass(frozen=True)
class Form:
    action: str  # as written in the page, resolved against the page's address by the browser
    method: str
    fields: dict[str, str]  # named inputs as a browser sends them: radios and checkboxes only if checked
    auto: bool  # data-federation-auto-submit: the page's JavaScript (or the citizen's Continue) posts it
    buttons: tuple[str, ...]


@dataclass
class Page:
    url: str
    status: int
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def heading(self) -> str:
        found = _H1.search(self.body)
        return _text(found.group(1)) if found else ""

    def forms(self) -> list[Form]:
        forms = []
        body, position = self.body, 0
        while (start := body.find(b"<form", position)) >= 0:
            inner_start = body.find(b">", start) + 1
            position = body.find(b"</form>", inner_start)
            if inner_start == 0 or position < 0:
                break
            attrs, inner = _attrs(body[start + 5 : inner_start - 1]), body[inner_start:position]
            fields = {}
            for raw in _INPUT.findall(inner):
                field_attrs = _attrs(raw)
                name = field_attrs.get("name")
                if name is None:
                    continue
                if field_attrs.get("type") in ("radio", "checkbox") and "checked" not in field_attrs:
                    continue
                fields[name] = field_attrs.get("value", "")
            buttons = tuple(_text(label) for label in _BUTTON.findall(inner))
            auto = "data-federation-auto-submit" in attrs
            forms.append(Form(attrs.get("action", ""), attrs.get("method", "get").lower(), fields, auto, buttons))
        return forms

    def form(self, *, button: str | None = None, action: str | None = None, auto: bool = False) -> Form:
        """The first form that fits, in the page's order. (The BrowserClient looks in <main> first; on this
        journey's pages only one form fits each step's criteria, so the two pick the same.)"""
        for form in self.forms():
            if auto and not form.auto:
                continue
            if action is not None and form.action.partition("?")[0] != action:
                continue
            if button is not None and not any(button in label for label in form.buttons):
                continue
            return form
        raise self.unexpected(f"no form (button={button!r}, action={action!r}, auto={auto})")

    def unexpected(self, what: str) -> JourneyError:
        return JourneyError(f"the journey went astray: {what} at {self.url} ({self.status}: {self.heading!r})")


@dataclass
class Cookie:
    value: str
    path: str
    same_site: str  # "lax", "strict" or "none"
    secure: bool


def parse_set_cookie(header: str) -> tuple[str, Cookie | None]:
    """A Set-Cookie header: the cookie's name and the cookie, or None if the header removes it."""
    pair, *attributes = header.split(";")
    name, _, value = pair.strip().partition("=")
    cookie = Cookie(value.strip(), "/", "lax", False)
    for attribute in attributes:
        key, _, arg = attribute.strip().partition("=")
        key = key.lower()
        if key == "path" and arg.startswith("/"):
            cookie.path = arg
        elif key == "samesite":
            cookie.same_site = arg.lower()
        elif key == "secure":
            cookie.secure = True
        elif key == "max-age" and arg.lstrip("-").isdigit() and int(arg) <= 0:
            return name, None
    return name, cookie


@dataclass
class CookieJar:
    """Cookies by host, then name. Host-only (no service here sets Domain), and kept for the journey."""

    by_host: dict[str, dict[str, Cookie]] = field(default_factory=dict)

    def store(self, host: str, headers: list[str]) -> None:
        cookies = self.by_host.setdefault(host, {})
        for header in headers:
            name, cookie = parse_set_cookie(header)
            if cookie is None:
                cookies.pop(name, None)
            else:
                cookies[name] = cookie

    def header(self, host: str, path: str, *, secure: bool, cross_site_post: bool) -> str:
        """The Cookie header for a request. Loopback counts as secure, as in a browser."""
        cookies = self.by_host.get(host)
        if not cookies:
            return ""
        return "; ".join(
            f"{name}={cookie.value}"
            for name, cookie in cookies.items()
            if _path_matches(path, cookie.path)
            and (secure or not cookie.secure)
            and not (cross_site_post and cookie.same_site != "none")
        )


def _path_matches(path: str, cookie_path: str) -> bool:
    return path == cookie_path or (
        path.startswith(cookie_path) and (cookie_path.endswith("/") or path[len(cookie_path)] == "/")
    )


class LightBrowser:
    """One citizen's browser: a keep-alive connection per origin, a cookie jar, each exchange timed as a hop."""

    def __init__(self, name_hop: Callable[[str, str], str]) -> None:
        self.name_hop = name_hop
        self.hops: dict[str, float] = {}
        self.cookies = CookieJar()
        self._connections: dict[str, Connection] = {}  # by host:port

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def _exchange(self, method: str, url: str, body: bytes | None, cross_site_post: bool) -> Response:
        """One request and its whole answer, timed as the hop it is; the cookies it sets are kept."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme != "http":
            raise JourneyError(f"the light driver speaks plain HTTP to local services, not {url}")
        path = parts.path or "/"
        headers = HEADERS
        cookie = self.cookies.header(host, path, secure=host in LOOPBACK, cross_site_post=cross_site_post)
        if cookie:
            headers += f"Cookie: {cookie}\r\n"
        if body is not None:
            headers += FORM_CONTENT_TYPE
        connection = self._connections.get(parts.netloc)
        if connection is None:
            connection = self._connections[parts.netloc] = Connection(host, parts.port or 80, timeout=TIMEOUT)
        hop = self.name_hop(method, url)
        start = time.perf_counter()
        response = connection.exchange(method, f"{path}?{parts.query}" if parts.query else path, headers, body)
        self.hops[hop] = self.hops.get(hop, 0.0) + time.perf_counter() - start
        set_cookies = response.header_values("set-cookie")
        if set_cookies:
            self.cookies.store(host, set_cookies)
        return response

    def go(self, method: str, url: str, fields: Mapping[str, str] | None = None, *, from_url: str = "") -> Page:
        """A navigation: the request, then each redirect as a browser follows it; the page it lands on."""
        body = form_encode(fields) if fields is not None else None
        cross_site = method == "POST" and bool(from_url) and urlsplit(from_url).hostname != urlsplit(url).hostname
        for _ in range(MAX_REDIRECTS + 1):
            response = self._exchange(method, url, body, cross_site)
            location = response.header("location")
            status = response.status
            if status not in REDIRECTS or location is None:
                return Page(url, status, response.body)
            url = resolve(url, location)
            cross_site = False  # the redirect is a navigation of its own: Lax cookies travel (as in BrowserClient)
            if status == 303 or (status in (301, 302) and method == "POST"):
                method, body = "GET", None
        raise JourneyError(f"more than {MAX_REDIRECTS} redirects, the last to {url}")

    def submit(
        self, page: Page, form: Form, extra: Mapping[str, str] | None = None, *, action_suffix: str = ""
    ) -> Page:
        """Submit a form as a browser does, with `extra` fields (a choice, a button's value) added."""
        action = resolve(page.url, form.action or page.url)
        if action_suffix:  # onto the path, before any query (e.g. the `lang` the sender added)
            path, _, query = action.partition("?")
            action = path + action_suffix + (f"?{query}" if query else "")
        fields = {**form.fields, **(extra or {})}
        if form.method == "post":
            return self.go("POST", action, fields, from_url=page.url)
        query = urlencode(fields)
        return self.go("GET", f"{action}{'&' if '?' in action else '?'}{query}" if query else action)


def resolve(base: str, reference: str) -> str:
    """urljoin for what the services write (an absolute URL or an absolute path), without its general cost."""
    if reference.startswith(("http://", "https://")):
        return reference
    if reference.startswith("/") and not reference.startswith("//"):
        scheme_end = base.find("://") + 3
        path_start = base.find("/", scheme_end)
        return (base if path_start < 0 else base[:path_start]) + reference
    return urljoin(base, reference)


def _expect(page: Page, path: str) -> Page:
    if page.status != 200 or page.path != path:
        raise page.unexpected(f"expected {path}")
    return page


def sign_in(browser: LightBrowser, urls: Mapping[str, str], username: str = USERNAME, outcome: str = "success") -> Page:
    """The steps `tests.e2e.journey.sign_in` takes at Stub IDP Two (headless), in the same order: for alice,
    the signed-in page; for anyone or anything else, wherever the journey stops (a JourneyError)."""
    page = _expect(browser.go("GET", urls["RP_URL"] + "/"), "/")
    page = browser.submit(page, page.form(button="Prove your identity"))
    page = browser.submit(page, page.form(auto=True))  # the service's AuthnRequest, posted to the hub
    page = _expect(page, "/start")
    page = browser.submit(page, page.form(action="/start"), {"verified_before": "yes"})
    page = _expect(page, "/choose-a-certified-company")
    page = browser.submit(page, page.form(button=f"Choose {IDP_DISPLAY_NAME}"))
    # the stub IDP's instant answer, then its signed Response posted (cross-site) to the hub
    page = browser.submit(
        page, page.form(auto=True), {"username": username, "outcome": outcome}, action_suffix="/headless"
    )
    page = browser.submit(page, page.form(auto=True))
    page = _expect(page, "/journey/result")  # what the service will receive: agree
    page = browser.submit(page, page.form(button="Agree and continue"), {"release": "agree"})
    page = browser.submit(page, page.form(auto=True))  # the hub's Response, posted to the service
    return _expect(page, "/signed-in")


def one_journey(federation: Federation) -> Journey:
    """One matched journey by a fresh virtual browser; anything else (an error page, another identifier)
    stops the run."""
    urls = federation.urls
    browser = LightBrowser(hop_namer(urls))
    try:
        start = time.perf_counter()
        page = sign_in(browser, urls)
        seconds = time.perf_counter() - start
    finally:
        browser.close()
    if EXPECTED_PID not in page.body:
        raise page.unexpected("signed in without the expected hashed PID")
    return Journey(seconds, browser.hops)


EXPECTED_PID = expected_hashed_pid(IDP_NAME, USERNAME).encode()
