"""Hostile AuthnRequests at the hub's `/SAML2/SSO` (HTTP-POST and HTTP-Redirect bindings).

Each attack starts from a request forged with test-rp's real signing key (the controls prove it is
accepted), changes one thing, and checks that the citizen gets the 400 "problem with your request" page
and that hub.log names the specific reason.
"""

from __future__ import annotations

import base64
import copy
import http.server
import re
import threading
import zlib
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from federation import xmlsecurity
from federation.loa import LevelOfAssurance
from federation.saml import encode_post, encode_redirect, new_id
from federation.saml.constants import SAML_NS, SAMLP_NS, q
from tests.e2e.journey import at_idp_headless, choose, hub_response_page
from tests.hostile.conftest import BAD_REQUEST_HEADING
from tests.hostile.forge import (
    RSA_SHA1,
    SHA1,
    attacker_credential,
    forge_authn_request,
    read_hub_request,
    sign_with,
    signature_of,
    strip_signature,
)
from tests.support.browser_client import BrowserClient

pytestmark = pytest.mark.hostile

SIG_ALG_RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"


def post_request(federation, forge, saml_request, relay_state: str | None = "state-1"):
    """POST an AuthnRequest to the hub from the service's site, as the service's auto-post page does."""
    if isinstance(saml_request, etree._Element):
        saml_request = xmlsecurity.to_bytes(saml_request)
    if isinstance(saml_request, bytes):
        saml_request = encode_post(saml_request)
    data = {"SAMLRequest": saml_request}
    if relay_state is not None:
        data["RelayState"] = relay_state
    return BrowserClient().post(forge.hub_sso_url, data, from_url=federation.urls["RP_URL"] + "/")


def get_request(url: str):
    return BrowserClient().get(url)


def assert_refused(page, watch, reason: str) -> None:
    assert page.status == 400, (page.status, page.heading)
    assert page.heading == BAD_REQUEST_HEADING, page.heading
    logged = watch.wait_for(f"authn request refused: {reason}")
    found = re.findall(r"authn request refused: ([^\s(:]+)", logged)  # the code; `:<what failed>` may follow
    assert reason in found, f"expected {reason!r}, hub logged {found!r}"


def assert_accepted(page) -> None:
    assert page.status == 200 and page.url.endswith("/start"), (page.status, page.url, page.heading)


# --- controls ---------------------------------------------------------------------------------------------------


def test_control_valid_post_request_is_accepted(federation, forge):
    assert_accepted(post_request(federation, forge, forge_authn_request(forge)))


def test_control_valid_redirect_request_is_accepted(forge):
    request = forge_authn_request(forge, sign=False)
    url = encode_redirect(
        forge.hub_sso_url, xmlsecurity.to_bytes(request), credential=forge.credential("test-rp"), relay_state="s-2"
    )
    assert_accepted(get_request(url))


# --- tolerated where the standard allows it -----------------------------------------------------------------------

PASSWORD_PROTECTED_TRANSPORT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"


def _python3_saml_style_request(forge) -> etree._Element:
    """What python3-saml sends by default: RequestedAuthnContext exact PasswordProtectedTransport."""
    request = forge_authn_request(forge, sign=False)
    requested = request.find(q(SAMLP_NS, "RequestedAuthnContext"))
    requested.set("Comparison", "exact")
    requested[0].text = PASSWORD_PROTECTED_TRANSPORT
    return xmlsecurity.sign(request, forge.credential("test-rp"))


def test_classes_the_federation_does_not_define_are_ignored_and_the_service_levels_apply(federation, forge, hub_log):
    browser = BrowserClient()
    request = _python3_saml_style_request(forge)
    watch = hub_log()
    page = browser.post(
        forge.hub_sso_url,
        {"SAMLRequest": encode_post(xmlsecurity.to_bytes(request)), "RelayState": "state-1"},
        from_url=federation.urls["RP_URL"] + "/",
    )
    assert_accepted(page)
    logged = watch.wait_for("ignored RequestedAuthnContext")
    line = next(line for line in logged.splitlines() if "ignored RequestedAuthnContext" in line)
    assert " INFO " in line and f"'{PASSWORD_PROTECTED_TRANSPORT}'" in line and request.get("ID") in line
    # The journey goes on at test-rp's configured level: the hub asks the company for LEVEL_2.
    hub_request = read_hub_request(browser, choose(browser, page, "Stub IDP Two"))
    asked = xmlsecurity.parse_xml(
        base64.b64decode(hub_request.page.form(auto=True).xpath(".//input[@name='SAMLRequest']")[0].get("value"))
    )
    refs = [ref.text for ref in asked.iter(q(SAML_NS, "AuthnContextClassRef"))]
    assert refs == [LevelOfAssurance.LEVEL_2.uri]
    page = hub_response_page(browser, at_idp_headless(browser, hub_request.page, "alice"))
    answer = page.form(auto=True).xpath(".//input[@name='SAMLResponse']")[0].get("value")
    status = xmlsecurity.parse_xml(base64.b64decode(answer)).find(f"{{{SAMLP_NS}}}Status/{{{SAMLP_NS}}}StatusCode")
    assert status.get("Value") == "urn:oasis:names:tc:SAML:2.0:status:Success"  # matched, at LEVEL_2


@pytest.mark.parametrize("digest", ["sha384", "sha512"])
def test_redirect_binding_accepts_rsa_with_longer_sha2_digests(forge, digest):
    """The POST binding's algorithms: RSA-SHA256 (the controls), RSA-SHA384 and RSA-SHA512."""
    key = forge.credential("test-rp").private_key
    algorithm = {"sha384": hashes.SHA384, "sha512": hashes.SHA512}[digest]
    url = _redirect_with(
        forge,
        sig_alg=f"http://www.w3.org/2001/04/xmldsig-more#rsa-{digest}",
        sign=lambda octets: key.sign(octets, padding.PKCS1v15(), algorithm()),
    )
    assert_accepted(get_request(url))


def test_refused_algorithm_is_named_in_the_hub_log(forge, hub_log):
    watch = hub_log()
    assert_refused(get_request(_redirect_rsa_sha1(forge)), watch, "signature-algorithm-not-allowed")
    assert f"signature-algorithm-not-allowed:{SIG_ALG_RSA_SHA1}" in watch.wait_for(SIG_ALG_RSA_SHA1)


# --- HTTP-POST --------------------------------------------------------------------------------------------------


def _acs_url_not_configured(forge):
    return forge_authn_request(forge, acs_url="https://evil.example/SAML2/SSO/POST")


def _acs_index_not_configured(forge):
    return forge_authn_request(forge, acs_index=7)


def _old_issue_instant(forge):
    return forge_authn_request(forge, now=datetime.now(UTC) - timedelta(hours=1))


def _future_issue_instant(forge):
    return forge_authn_request(forge, now=datetime.now(UTC) + timedelta(minutes=5))


def _unsigned(forge):
    return forge_authn_request(forge, sign=False)


def _signed_by_another_federation_key(forge):
    return forge_authn_request(forge, credential=forge.credential("stub-idp-two"))


def _signed_by_attacker_with_keyinfo(forge):
    return forge_authn_request(forge, credential=attacker_credential("self-signed", common_name="test-rp"))


def _unknown_issuer(forge):
    return forge_authn_request(
        forge, issuer="https://evil.example/sp", credential=attacker_credential("self-signed", common_name="evil")
    )


def _wrong_destination(forge):
    request = forge_authn_request(forge, sign=False)
    request.set("Destination", "https://evil.example/SAML2/SSO")
    return xmlsecurity.sign(request, forge.credential("test-rp"))


def _rsa_sha1(forge):
    return sign_with(
        forge_authn_request(forge), forge.credential("test-rp"), signature_method=RSA_SHA1, digest_method=SHA1
    )


def _wrapped(forge):
    """The genuine signed request inside the signature of an evil one that asks for another ACS URL."""
    genuine = forge_authn_request(forge)
    evil = copy.deepcopy(genuine)
    strip_signature(evil)
    evil.set("ID", new_id())
    evil.set("AssertionConsumerServiceURL", "https://evil.example/SAML2/SSO/POST")
    signature = copy.deepcopy(signature_of(genuine))
    signature.append(genuine)
    evil.insert(1, signature)
    return evil


def _changed_after_signing(forge):
    request = forge_authn_request(forge)
    request.set("ForceAuthn", "true")
    return request


def _doctype_external_entity(forge):
    body = xmlsecurity.to_bytes(forge_authn_request(forge))
    return b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + body


POST_ATTACKS = {
    "acs-url-not-in-config": (_acs_url_not_configured, "acs-url-not-configured"),
    "acs-index-not-in-config": (_acs_index_not_configured, "acs-index-not-configured"),
    "old-issue-instant": (_old_issue_instant, "issue-instant-stale"),
    "future-issue-instant": (_future_issue_instant, "issue-instant-in-future"),
    "unsigned": (_unsigned, "signature-missing"),
    "signed-by-another-federation-key": (_signed_by_another_federation_key, "signature-invalid"),
    "signed-by-attacker-key-in-keyinfo": (_signed_by_attacker_with_keyinfo, "signature-invalid"),
    "unknown-issuer": (_unknown_issuer, "unknown-issuer"),
    "wrong-destination": (_wrong_destination, "wrong-destination"),
    "rsa-sha1-signature": (_rsa_sha1, "signature-algorithm-not-allowed"),
    "signature-wrapping": (_wrapped, "reference-mismatch"),
    "changed-after-signing": (_changed_after_signing, "signature-invalid"),
    "doctype-external-entity": (_doctype_external_entity, "doctype"),
}


@pytest.mark.parametrize("attack", POST_ATTACKS)
def test_post_binding_attack(federation, forge, hub_log, attack):
    mutate, reason = POST_ATTACKS[attack]
    request = mutate(forge)
    watch = hub_log()
    assert_refused(post_request(federation, forge, request), watch, reason)


def test_request_id_reused(federation, forge, hub_log):
    """Another message with an ID seen before is refused (here: the same request with other RelayState)."""
    request = xmlsecurity.to_bytes(forge_authn_request(forge))
    assert_accepted(post_request(federation, forge, request))
    watch = hub_log()
    assert_refused(post_request(federation, forge, request, relay_state="state-2"), watch, "request-id-replayed")


def test_the_same_request_again_is_a_retry_only_until_its_journey_begins(federation, forge, hub_log):
    """The very same form posted again (the hub died before the browser got its session; a double submit)
    starts the journey afresh, and the session it started first stops working; once a company is chosen,
    the same form is refused from any browser."""
    request = xmlsecurity.to_bytes(forge_authn_request(forge))
    citizen = BrowserClient()
    data = {"SAMLRequest": encode_post(request), "RelayState": "state-1"}
    rp_page = federation.urls["RP_URL"] + "/"
    first = citizen.post(forge.hub_sso_url, data, from_url=rp_page)
    assert_accepted(first)
    first_session = citizen.http.cookies.get("hub_session")
    again = citizen.post(forge.hub_sso_url, data, from_url=rp_page)
    assert_accepted(again)
    assert citizen.http.cookies.get("hub_session") != first_session, "a new session: the first one is deleted"
    stale = BrowserClient()
    stale.http.cookies.set("hub_session", first_session, domain=forge.hub_sso_url.split("/")[2].split(":")[0])
    assert stale.get(federation.url("hub") + "/start").status != 200 or "start" not in stale.history[-1].url
    choose(citizen, again, "Stub IDP Two")  # the journey is under way
    watch = hub_log()
    assert_refused(post_request(federation, forge, request), watch, "request-id-replayed")


def test_request_id_reused_in_another_binding(forge, federation, hub_log):
    """The replay cache is per issuer and ID, whatever binding carried the request the first time."""
    request_id = new_id()
    assert_accepted(post_request(federation, forge, forge_authn_request(forge, request_id=request_id)))
    again = forge_authn_request(forge, request_id=request_id, sign=False)
    url = encode_redirect(forge.hub_sso_url, xmlsecurity.to_bytes(again), credential=forge.credential("test-rp"))
    watch = hub_log()
    assert_refused(get_request(url), watch, "request-id-replayed")


@pytest.mark.parametrize(
    ("relay_state", "reason"),
    [
        ("r" * 81, "relay-state-too-long"),
        ("<script>alert(1)</script>", "relay-state-unsafe-characters"),
        ('x" onmouseover="alert(1)', "relay-state-unsafe-characters"),
    ],
    ids=["longer-than-80", "script-markup", "attribute-injection"],
)
def test_hostile_relay_state(federation, forge, hub_log, relay_state, reason):
    watch = hub_log()
    page = post_request(federation, forge, forge_authn_request(forge), relay_state=relay_state)
    assert_refused(page, watch, reason)
    assert "<script>alert" not in page.text


def test_oversized_request(federation, forge, hub_log):
    request = forge_authn_request(forge, sign=False)
    extensions = etree.Element(q(SAMLP_NS, "Extensions"))
    etree.SubElement(extensions, "{urn:x-hostile}Padding").text = "A" * (520 * 1024)
    request.insert(1, extensions)
    xmlsecurity.sign(request, forge.credential("test-rp"))
    watch = hub_log()
    assert_refused(post_request(federation, forge, request), watch, "too-large")


def test_invalid_base64(federation, forge, hub_log):
    value = encode_post(xmlsecurity.to_bytes(forge_authn_request(forge)))
    watch = hub_log()
    assert_refused(post_request(federation, forge, value[:30] + "!*" + value[30:]), watch, "invalid-base64")


class _Listener(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - the http.server hook
        _Listener.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'<!ENTITY y "fetched">')

    def log_message(self, *args):
        pass


def test_external_entity_is_never_fetched(federation, forge, hub_log):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Listener)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/xxe"
        body = xmlsecurity.to_bytes(forge_authn_request(forge))
        doctype = f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{url}"> %p;]>'.encode()
        watch = hub_log()
        assert_refused(post_request(federation, forge, doctype + body), watch, "doctype")
        assert _Listener.hits == []
    finally:
        server.shutdown()
        server.server_close()


# --- HTTP-Redirect ------------------------------------------------------------------------------------------------


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _redirect_with(forge, *, sig_alg: str, sign) -> str:
    request = xmlsecurity.to_bytes(forge_authn_request(forge, sign=False))
    query = f"SAMLRequest={quote(base64.b64encode(_deflate(request)).decode(), safe='')}"
    query += f"&SigAlg={quote(sig_alg, safe='')}"
    signature = sign(query.encode())
    return f"{forge.hub_sso_url}?{query}&Signature={quote(base64.b64encode(signature).decode(), safe='')}"


def _redirect_bad_signature(forge):
    """A genuine query signature with one bit flipped."""
    request = forge_authn_request(forge, sign=False)
    url = encode_redirect(forge.hub_sso_url, xmlsecurity.to_bytes(request), credential=forge.credential("test-rp"))
    head, _, signature = url.rpartition("Signature=")
    raw = bytearray(base64.b64decode(unquote(signature)))
    raw[10] ^= 0x01
    return head + "Signature=" + quote(base64.b64encode(bytes(raw)).decode(), safe="")


def _redirect_signed_by_other_key(forge):
    request = forge_authn_request(forge, sign=False)
    return encode_redirect(
        forge.hub_sso_url, xmlsecurity.to_bytes(request), credential=attacker_credential("self-signed")
    )


def _redirect_rsa_sha1(forge):
    key = forge.credential("test-rp").private_key
    return _redirect_with(
        forge, sig_alg=SIG_ALG_RSA_SHA1, sign=lambda octets: key.sign(octets, padding.PKCS1v15(), hashes.SHA1())
    )


def _redirect_unsigned(forge):
    request = xmlsecurity.to_bytes(forge_authn_request(forge, sign=False))
    return f"{forge.hub_sso_url}?SAMLRequest={quote(base64.b64encode(_deflate(request)).decode(), safe='')}"


def _redirect_with_xml_signature(forge):
    request = forge_authn_request(forge)  # XML-signed as well: refused rather than ignored
    return encode_redirect(forge.hub_sso_url, xmlsecurity.to_bytes(request), credential=forge.credential("test-rp"))


def _redirect_relay_state_too_long(forge):
    request = forge_authn_request(forge, sign=False)
    return encode_redirect(
        forge.hub_sso_url, xmlsecurity.to_bytes(request), credential=forge.credential("test-rp"), relay_state="r" * 81
    )


def _redirect_relay_state_markup(forge):
    request = forge_authn_request(forge, sign=False)
    return encode_redirect(
        forge.hub_sso_url,
        xmlsecurity.to_bytes(request),
        credential=forge.credential("test-rp"),
        relay_state="<script>alert(1)</script>",
    )


REDIRECT_ATTACKS = {
    "bad-signature": (_redirect_bad_signature, "signature-invalid"),
    "signed-by-another-key": (_redirect_signed_by_other_key, "signature-invalid"),
    "sigalg-rsa-sha1": (_redirect_rsa_sha1, "signature-algorithm-not-allowed"),
    "unsigned": (_redirect_unsigned, "signature-missing"),
    "xml-signature-inside": (_redirect_with_xml_signature, "signature-in-redirect"),
    "relay-state-too-long": (_redirect_relay_state_too_long, "relay-state-too-long"),
    "relay-state-markup": (_redirect_relay_state_markup, "relay-state-unsafe-characters"),
}


@pytest.mark.parametrize("attack", REDIRECT_ATTACKS)
def test_redirect_binding_attack(forge, hub_log, attack):
    make_url, reason = REDIRECT_ATTACKS[attack]
    url = make_url(forge)
    watch = hub_log()
    assert_refused(get_request(url), watch, reason)


def test_redirect_message_is_signed_over_the_query_not_the_xml(forge, hub_log):
    """Changing the deflated request after signing (here: another ACS URL) breaks the query signature."""
    genuine = _redirect_with(
        forge,
        sig_alg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        sign=lambda octets: forge.credential("test-rp").private_key.sign(octets, padding.PKCS1v15(), hashes.SHA256()),
    )
    assert_accepted(get_request(genuine))
    evil = forge_authn_request(forge, sign=False, acs_url="https://evil.example/SAML2/SSO/POST")
    swapped = re.sub(
        r"SAMLRequest=[^&]+",
        "SAMLRequest=" + quote(base64.b64encode(_deflate(xmlsecurity.to_bytes(evil))).decode(), safe=""),
        genuine,
    )
    watch = hub_log()
    assert_refused(get_request(swapped), watch, "signature-invalid")
