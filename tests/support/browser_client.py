"""A test client that follows a browser's path: forms, auto-submitting SAML forms, 303s and cookies.

It talks real HTTP to the services. Like a browser, it does not send SameSite=Lax or Strict cookies with
a cross-site POST (an IDP posting back to the hub), so a journey that relies on such a cookie fails here
as it would in Chrome. Sites are compared by host name (127.0.0.1 and localhost are different sites).
Every HTTP exchange, redirect hops included, is recorded in `exchanges` with the cookies it carried.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import lxml.html
import requests


def _site(url: str) -> str:
    return urlsplit(url).hostname or ""


@dataclass(frozen=True)
class Exchange:
    """One request as sent and its answer: what a browser's network panel shows."""

    method: str
    url: str
    cookie_header: str  # the Cookie header sent, "" if none
    status: int
    location: str | None  # where a redirect pointed

    def sent_cookie(self, name: str) -> bool:
        return any(part.strip().startswith(f"{name}=") for part in self.cookie_header.split(";"))


@dataclass
class Page:
    url: str
    status: int
    text: str

    @property
    def doc(self):
        return lxml.html.fromstring(self.text)

    @property
    def heading(self) -> str:
        h1 = self.doc.xpath("//h1")
        return " ".join(h1[0].text_content().split()) if h1 else ""

    def forms(self):
        return self.doc.xpath("//form")

    def form(self, *, button: str | None = None, action: str | None = None, auto: bool = False):
        """The first form that fits; the page's own (in <main>) before those around it, e.g. the session notice."""
        main = self.doc.xpath("//main//form")
        for form in main + [f for f in self.forms() if f not in main]:
            if auto and form.get("data-federation-auto-submit") is None:
                continue
            if action and action not in (form.get("action") or ""):
                continue
            if button and not any(button in " ".join(b.text_content().split()) for b in form.xpath(".//button")):
                continue
            return form
        raise AssertionError(
            f"no form (button={button!r}, action={action!r}, auto={auto}) on {self.url}:\n{self.heading}"
        )

    def links(self) -> dict[str, str]:
        return {" ".join(a.text_content().split()): a.get("href") for a in self.doc.xpath("//a[@href]")}

    def link(self, text: str) -> str:
        for label, href in self.links().items():
            if text in label:
                return urljoin(self.url, href)
        raise AssertionError(f"no link {text!r} on {self.url}: {list(self.links())}")


class BrowserClient:
    def __init__(self) -> None:
        self.http = requests.Session()
        self.history: list[Page] = []
        self.exchanges: list[Exchange] = []
        self.http.hooks["response"].append(self._record)

    def _record(self, response: requests.Response, *args, **kwargs) -> None:
        sent = response.request
        self.exchanges.append(
            Exchange(
                method=sent.method or "",
                url=sent.url or "",
                cookie_header=sent.headers.get("Cookie", ""),
                status=response.status_code,
                location=response.headers.get("Location"),
            )
        )

    def _page(self, response: requests.Response) -> Page:
        page = Page(url=response.url, status=response.status_code, text=response.text)
        self.history.append(page)
        return page

    def get(self, url: str) -> Page:
        return self._page(self.http.get(url, timeout=30))

    def post(self, url: str, data: dict, *, from_url: str | None = None) -> Page:
        cookies = None
        if from_url is not None and _site(from_url) != _site(url):
            # cross-site POST: only SameSite=None cookies travel
            jar = requests.cookies.RequestsCookieJar()
            for cookie in self.http.cookies:
                if (cookie.get_nonstandard_attr("SameSite") or "Lax").lower() == "none":
                    jar.set_cookie(cookie)
            saved, self.http.cookies = self.http.cookies, jar
            try:
                response = self.http.post(url, data=data, timeout=30, allow_redirects=False)
            finally:
                jar_after, self.http.cookies = self.http.cookies, saved
                for cookie in jar_after:
                    self.http.cookies.set_cookie(cookie)
            if response.is_redirect:
                return self.get(urljoin(url, response.headers["Location"]))
            return self._page(response)
        return self._page(self.http.post(url, data=data, timeout=30, cookies=cookies))

    def submit(self, page: Page, form, fields: dict | None = None, *, action_suffix: str = "") -> Page:
        data = {
            i.get("name"): i.get("value") or ""
            for i in form.xpath(".//input[@name]")
            if i.get("type") not in ("radio", "checkbox")
        }
        for radio in form.xpath(".//input[@type='radio'][@checked]"):
            data[radio.get("name")] = radio.get("value")
        data.update(fields or {})
        action = urljoin(page.url, form.get("action") or page.url)
        if action_suffix:  # onto the path, before any query (e.g. the `lang` the sender added)
            path, _, query = action.partition("?")
            action = path + action_suffix + (f"?{query}" if query else "")
        if (form.get("method") or "get").lower() == "post":
            return self.post(action, data, from_url=page.url)
        return self.get(action)

    def auto_submit(self, page: Page, *, action_suffix: str = "", extra: dict | None = None) -> Page:
        """What the page's JavaScript (or the citizen's Continue) does with a SAML auto-post form."""
        return self.submit(page, page.form(auto=True), extra, action_suffix=action_suffix)
