"""Signing keys rotated under the running federation, with no restart: journeys before, during and after.

The federation runs on its own copy of the keys (the steps rename and remove files) and refreshes its
metadata every second, so that each step reaches every party within a few seconds. Which key signed a
message is checked by verifying the message itself with one certificate and then the other.
"""

from __future__ import annotations

import base64
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from federation import xmlsecurity as xs
from federation.credentials import SigningCredential, read_signing_credential
from federation.demo import DEMO_CONFIG
from keys.rotate import issue_next, promote, retire
from tests.e2e.journey import (
    IDP_TWO,
    at_idp_headless,
    choose,
    hub_response_page,
    return_to_service,
    start_at_service,
)
from tests.support.browser_client import BrowserClient, Page
from tests.support.federation_under_test import running_federation

STEP_SECONDS = 15  # generous: a step shows within the keyring's 2 s check plus a 1 s metadata refresh


@pytest.fixture(scope="module")
def rotating(tmp_path_factory, keys_dir):
    """The federation on keys of its own, refreshing its metadata every second."""
    base = tmp_path_factory.mktemp("rotation")
    keys = base / "keys"
    shutil.copytree(keys_dir, keys)
    config = base / "federation.yaml"
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    assert "refresh_interval_seconds: 300" in text
    config.write_text(text.replace("refresh_interval_seconds: 300", "refresh_interval_seconds: 1"), encoding="utf-8")
    var = base / "var"
    var.mkdir()
    with running_federation(var, keys, FEDERATION_CONFIG=str(config)) as federation:
        yield federation, keys


def _saml_field(page: Page, name: str) -> bytes:
    field = page.form(auto=True).xpath(f".//input[@name='{name}']")
    assert field, (page.url, page.heading)
    return base64.b64decode(field[0].get("value"))


def _last_posting(browser: BrowserClient, name: str) -> Page:
    """The last page the browser saw that auto-posts a `name` field."""
    for page in reversed(browser.history):
        if page.doc.xpath(f"//form[@data-federation-auto-submit]//input[@name='{name}']"):
            return page
    raise AssertionError(f"no page posted {name}")


def signed_by(message: bytes, credential: SigningCredential) -> bool:
    try:
        xs.verify(xs.parse_xml(message), [credential.certificate])
    except xs.XmlSecurityError:
        return False
    return True


def _wait_for(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + STEP_SECONDS
    while not check():
        assert time.monotonic() < deadline, f"not within {STEP_SECONDS} s: {what}"
        time.sleep(0.5)


def _hub_metadata(federation) -> bytes:
    return BrowserClient().http.get(federation.urls["HUB_URL"] + "/SAML2/metadata/federation", timeout=10).content


def _published(federation, credential: SigningCredential) -> bool:
    der = credential.certificate.public_bytes(serialization.Encoding.DER)
    return base64.b64encode(der) in _hub_metadata(federation)


def hub_request_to_idp(federation) -> tuple[BrowserClient, Page, bytes]:
    """A journey up to the page that posts the hub's AuthnRequest to Stub IDP Two, and that request."""
    browser = BrowserClient()
    page = choose(browser, start_at_service(browser, federation), IDP_TWO)
    return browser, page, _saml_field(page, "SAMLRequest")


def finish(browser: BrowserClient, page: Page) -> Page:
    page = return_to_service(browser, at_idp_headless(browser, page, "alice"))
    assert "signed in" in page.text.lower(), (page.url, page.heading)
    return page


def service_page_for_response_signed_by(federation, credential: SigningCredential) -> Page:
    """A journey whose last step, the hub's Response posted to the service, carries the hub's Response
    signed again with `credential`: the service's page that follows."""
    browser, page, _ = hub_request_to_idp(federation)
    page = hub_response_page(browser, at_idp_headless(browser, page, "alice"))
    response = _saml_field(page, "SAMLResponse")
    page = browser.submit(page, page.form(auto=True), {"SAMLResponse": resigned(response, credential)})
    return page


def resigned(message: bytes, credential: SigningCredential) -> str:
    root = xs.parse_xml(message)
    for signature in root.findall(f"{{{xs.DS}}}Signature"):
        root.remove(signature)
    xs.sign(root, credential)
    return base64.b64encode(xs.to_bytes(root)).decode()


def _keys(keys: Path, stem: str) -> SigningCredential:
    return read_signing_credential(keys / f"{stem}.key", keys / f"{stem}.crt")


def test_the_hubs_key_is_rotated_without_a_restart(rotating):
    federation, keys = rotating
    old = _keys(keys, "hub-signing")

    browser, page, request = hub_request_to_idp(federation)
    assert signed_by(request, old)
    finish(browser, page)

    issue_next(keys, "hub")
    new = _keys(keys, "hub-signing-next")
    _wait_for("the next certificate in the federation metadata", lambda: _published(federation, new))
    assert _published(federation, old)
    time.sleep(3)  # every party's next metadata refresh (each second) has it
    browser, page, request = hub_request_to_idp(federation)
    assert signed_by(request, old), "published, but not signing before it is promoted"
    finish(browser, page)

    promote(keys, "hub")
    _wait_for("the promoted key signing", lambda: signed_by(hub_request_to_idp(federation)[2], new))
    browser, page, request = hub_request_to_idp(federation)
    assert signed_by(request, new) and not signed_by(request, old)
    finish(browser, page)  # the IDP checked the new key's AuthnRequest, the service the new key's Response

    # During the overlap the old key is still published: a request and a response it signed are accepted.
    assert _published(federation, old)
    browser, page, request = hub_request_to_idp(federation)
    at_idp = browser.submit(page, page.form(auto=True), {"SAMLRequest": resigned(request, old)})
    assert at_idp.status == 200, (at_idp.status, at_idp.heading)
    at_service = service_page_for_response_signed_by(federation, old)
    assert "signed in" in at_service.text.lower(), (at_service.url, at_service.heading)

    retire(keys, "hub")
    _wait_for("the old certificate gone from the metadata", lambda: not _published(federation, old))
    time.sleep(3)
    browser, page, request = hub_request_to_idp(federation)
    refused = browser.submit(page, page.form(auto=True), {"SAMLRequest": resigned(request, old)})
    assert refused.status == 400, (refused.status, refused.heading)
    log = federation.log_path("stub_idps").read_text(encoding="utf-8", errors="replace")
    assert "no-trusted-key" in log or "signature" in log.lower()
    at_service = service_page_for_response_signed_by(federation, old)
    assert at_service.status >= 400 and "signed in" not in at_service.text.lower(), (
        at_service.status,
        at_service.heading,
    )
    browser, page, request = hub_request_to_idp(federation)
    assert signed_by(request, new)
    finish(browser, page)


def test_a_services_a_companys_and_a_matching_services_keys_are_rotated_without_a_restart(rotating):
    federation, keys = rotating
    parties = ("test-rp", "stub-idp-two", "test-rp-ms")
    old_rp, old_idp = _keys(keys, "test-rp-signing"), _keys(keys, "stub-idp-two-signing")
    for party in parties:
        issue_next(keys, party)
    new_rp, new_idp = _keys(keys, "test-rp-signing-next"), _keys(keys, "stub-idp-two-signing-next")
    _wait_for("the company's next certificate published", lambda: _published(federation, new_idp))
    time.sleep(3)  # every party's metadata refresh, and the keyrings' next look
    for party in parties:
        promote(keys, party)
    time.sleep(3)  # the keyrings' check interval

    def journey() -> None:
        browser = BrowserClient()
        page = start_at_service(browser, federation)  # a matching service: the matching service answers too
        authn_request = _saml_field(_last_posting(browser, "SAMLRequest"), "SAMLRequest")  # the service's
        assert signed_by(authn_request, new_rp) and not signed_by(authn_request, old_rp)
        page = at_idp_headless(browser, choose(browser, page, IDP_TWO), "alice")
        idp_response = _saml_field(_last_posting(browser, "SAMLResponse"), "SAMLResponse")  # the IDP's
        assert signed_by(idp_response, new_idp) and not signed_by(idp_response, old_idp)
        page = return_to_service(browser, page)
        assert "signed in" in page.text.lower(), (page.url, page.heading)

    journey()
    # With the old keys gone from every party, a journey still completes: the matching service, whose
    # answer the test cannot read (encrypted, on the back channel), signs with its promoted key too.
    for party in parties:
        retire(keys, party)
    _wait_for("the company's old certificate gone", lambda: not _published(federation, old_idp))
    time.sleep(3)
    journey()
