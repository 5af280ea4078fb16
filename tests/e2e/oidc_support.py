"""Steps of an OpenID Connect sign-in through the real hub and stub IDPs, as a browser takes them, and the
test clients' keys. The client libraries themselves are used by the tests as their documentation shows."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

from federation.config import CORE_IDENTITY_CLAIM
from tests.e2e.journey import IDP_TWO, at_idp_headless, choose
from tests.support.browser_client import BrowserClient, Page

CLIENT = "test-rp-oidc"
MATCHING_CLIENT = "test-rp-oidc-matching"
CLIENT_KEY = "test-rp-oidc-client.key"
SECTOR = "https://test-rp.federation.test"
IDENTITY_CLAIMS = json.dumps(
    {
        "userinfo": {
            "verified_claims": {
                "verification": {"trust_framework": None},
                "claims": {"given_name": None, "family_name": None, "birthdate": None, "address": None},
            },
            CORE_IDENTITY_CLAIM: None,
        }
    }
)


def redirect_uri(federation) -> str:
    return federation.urls["RP_URL"] + "/oidc/callback"


def client_private_pem(keys_dir: Path) -> bytes:
    return (keys_dir / CLIENT_KEY).read_bytes()


def to_hub_start(browser: BrowserClient, authorization_url: str) -> Page:
    page = browser.get(authorization_url)
    assert page.url.split("?")[0].endswith("/start"), (page.url, page.heading)
    return page


def hub_answer(browser: BrowserClient, page: Page) -> str:
    """From a hub outcome page: the return step's 303 to the client's redirect URI (not followed)."""
    if not any(f.get("action") == "/journey/return-to-service" for f in page.forms()):
        form = page.form(button="Return to")
    else:
        form = next(f for f in page.forms() if f.get("action") == "/journey/return-to-service")
    data = {i.get("name"): i.get("value") or "" for i in form.xpath(".//input[@name]")}
    agree = form.xpath(".//button[@name='release'][@value='agree']")  # a release page: the citizen agrees
    if agree:
        data["release"] = "agree"
    reply = browser.http.post(urljoin(page.url, form.get("action")), data=data, allow_redirects=False, timeout=30)
    assert reply.status_code == 303, (reply.status_code, reply.text[:300])
    return reply.headers["Location"]


def journey(browser: BrowserClient, authorization_url: str, username: str = "alice", outcome: str = "success") -> str:
    """The citizen's whole journey at the hub and Stub IDP Two: the redirect back to the client."""
    page = to_hub_start(browser, authorization_url)
    page = choose(browser, page, IDP_TWO)
    page = at_idp_headless(browser, page, username, outcome=outcome)
    if "/journey/result" in page.url and page.forms() == []:
        page = browser.get(page.url)
    return hub_answer(browser, page)


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
