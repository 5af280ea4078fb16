"""Attacks on the real matching service's SOAP endpoint (`/matching-service/POST`), one change at a time.

Every attack starts from the valid message of the positive control: stub-idp-two's two assertions for
alice, signed with the IDP's real key and encrypted for the matching service, inside an AttributeQuery
signed with the hub's real key. A query whose signature cannot be trusted is answered with a SOAP Client
fault; a hub-signed query the MS will not act on gets a signed Requester status. Either way the service
log names the specific reason.
"""

from __future__ import annotations

import base64
import copy
import http.server
import os
import threading
import time
from datetime import timedelta

import pytest
from lxml import etree

from federation import xmlsecurity
from federation.credentials import DecryptionCredential
from federation.saml import constants as c
from federation.saml.assertion import parse_assertion
from federation.saml.constants import SAML_NS, SAMLP_NS, q
from federation.saml.ids import new_id, now_utc
from federation.saml.response import decrypt_assertion
from stub_idps.users import pid_for
from tests.e2e.journey import expected_hashed_pid
from tests.hostile import forge
from tests.hostile import forge_ms as f

pytestmark = pytest.mark.hostile

REFUSED = "attribute query refused: "


@pytest.fixture(scope="module")
def w(federation, keys_dir, var_dir) -> f.MsWorld:
    return f.world(federation, keys_dir, var_dir)


def expect_fault(w: f.MsWorld, body, reason: str, *, status: int = 500) -> None:
    """The MS answers a SOAP Client fault naming `reason`, and logs that reason for this request."""
    tail = f.LogTail(w.log_path)
    http = f.post(w, body)
    assert http.status_code == status, http.text[:500]
    assert f.fault_string(http) == reason
    tail.wait_for(REFUSED + reason)


def expect_requester(w: f.MsWorld, query: etree._Element, reason: str) -> None:
    """The MS answers the hub a signed Requester status naming `reason`, with no assertion."""
    query_id = f.query_id_of(query)
    tail = f.LogTail(w.log_path)
    reply = f.read_reply(w, f.post(w, f.envelope(query)), query_id)
    assert reply.status.code == c.STATUS_REQUESTER, reply.status
    assert reply.status.message == reason
    assert not reply.encrypted_assertions
    tail.wait_for(f"{REFUSED}{reason} (query '{query_id}')")


def assert_matched(w: f.MsWorld, query: etree._Element, username: str = "alice") -> None:
    reply = f.read_reply(w, f.post(w, f.envelope(query)), f.query_id_of(query))
    assert (reply.status.code, reply.status.sub_code) == (c.STATUS_SUCCESS, c.STATUS_MATCH), reply.status
    assert len(reply.encrypted_assertions) == 1
    decrypted = decrypt_assertion(xmlsecurity.parse_xml(reply.encrypted_assertions[0]), [w.decryption("test-rp")])
    rp = w.rp
    data = f.subject_confirmation_data(query)
    assertion = parse_assertion(
        decrypted.element,
        certificates_for_issuer=lambda i: (
            [x.certificate for x in w.config.entity_certificates(i)] if i == w.ms.entity_id else []
        ),
        expected_audience=rp.entity_id,
        expected_recipient=rp.default_acs_url(),
        expected_in_response_to=data.get("InResponseTo"),
        now=now_utc(),
        expect_authn_statement=True,
    )
    assert assertion.name_id == expected_hashed_pid(f.IDP, username)


# --- the positive control -------------------------------------------------------------------------------


def test_positive_control_valid_query_for_alice_is_matched(w):
    tail = f.LogTail(w.log_path)
    query = f.attribute_query(w)
    assert_matched(w, query)
    new = tail.wait_for(f"attribute query '{query.get('ID')}': cycle 0/1 match")
    assert REFUSED not in new


# --- the SOAP envelope ------------------------------------------------------------------------------------


def test_two_attribute_queries_in_one_body_are_refused(w):
    body = f.envelope(f.attribute_query(w), f.attribute_query(w))
    expect_fault(w, body, "soap-body")


def test_a_header_that_must_be_understood_is_refused(w):
    header = etree.Element(q(c.SOAP11_NS, "Header"))
    entry = etree.SubElement(header, "{urn:example:attacker}Routing")
    entry.set(q(c.SOAP11_NS, "mustUnderstand"), "1")
    entry.text = "forward-to-another-service"
    expect_fault(w, f.envelope(f.attribute_query(w), header=header), "soap-must-understand")


# --- the query's signature -------------------------------------------------------------------------------


def test_query_changed_after_the_hub_signed_it_is_refused(w):
    query = f.attribute_query(w)
    name_id = query.find(f"{q(SAML_NS, 'Subject')}/{q(SAML_NS, 'NameID')}")
    name_id.set("SPNameQualifier", "https://test-rp-nonmatching.federation.test")  # send the match elsewhere
    expect_fault(w, f.envelope(query), "signature-invalid")


def test_query_signed_with_an_idp_key_instead_of_the_hubs_is_refused(w):
    query = f.attribute_query(w, credential=w.signing(f.IDP))  # Issuer still the hub
    expect_fault(w, f.envelope(query), "signature-invalid")


def test_query_from_an_idp_as_issuer_is_refused(w):
    query = f.attribute_query(w, credential=w.signing(f.IDP), issuer=w.idp_entity_id)
    expect_fault(w, f.envelope(query), "unknown-issuer")


def test_query_wrapped_around_the_signed_one_is_refused(w):
    """XSW on the query: an evil AttributeQuery for another subject holds the signed one and its signature."""
    signed = f.attribute_query(w)
    evil = copy.deepcopy(signed)
    evil.find(f"{q(SAML_NS, 'Subject')}/{q(SAML_NS, 'NameID')}").text = pid_for(f.IDP, "someone-else")
    signature = evil.find(f"{{{xmlsecurity.DS}}}Signature")
    original = copy.deepcopy(signed)
    original.remove(original.find(f"{{{xmlsecurity.DS}}}Signature"))
    extensions = etree.Element(q(SAMLP_NS, "Extensions"))
    extensions.append(original)
    signature.addnext(extensions)
    expect_fault(w, f.envelope(evil), "duplicate-id")


# --- the IDP's assertions inside a hub-signed query (a compromised hub cannot mint a citizen) -----------------


def test_idp_assertion_signed_by_an_attacker_key_is_refused(w):
    attacker = forge.attacker_credential("self-signed")  # its certificate (CN stub-idp-two) travels in KeyInfo
    assertions = f.idp_assertions(w, credential=attacker)
    as_sent = xmlsecurity.parse_xml(xmlsecurity.to_bytes(assertions[0]))
    assert xmlsecurity.signature_certificates(as_sent)[0] == attacker.certificate
    expect_requester(w, f.attribute_query(w, encrypted=f.encrypted_for_ms(w, assertions)), "signature-invalid")


def test_idp_assertions_about_another_subject_than_the_query_are_refused(w):
    assertions = f.idp_assertions(w, name_id=pid_for(f.IDP, "someone-else"))
    query = f.attribute_query(w, encrypted=f.encrypted_for_ms(w, assertions))  # NameID = alice's PID
    expect_requester(w, query, "name-id-mismatch")


def test_unsigned_evil_assertion_beside_the_signed_ones_is_refused(w):
    authn, mds = f.idp_assertions(w)
    evil = copy.deepcopy(mds)
    evil.remove(evil.find(f"{{{xmlsecurity.DS}}}Signature"))
    evil.set("ID", new_id())
    query = f.attribute_query(w, encrypted=f.encrypted_for_ms(w, [authn, mds, evil]))
    expect_requester(w, query, "signature-missing")


def test_assertion_wrapping_inside_the_encrypted_assertion_is_refused(w):
    """XSW: an evil assertion (another subject) with the IDP's signature, the signed original in its Advice."""
    authn, mds = f.idp_assertions(w)
    evil = copy.deepcopy(authn)
    evil.find(f"{q(SAML_NS, 'Subject')}/{q(SAML_NS, 'NameID')}").text = pid_for(f.IDP, "someone-else")
    original = copy.deepcopy(authn)
    original.remove(original.find(f"{{{xmlsecurity.DS}}}Signature"))
    advice = etree.Element(q(SAML_NS, "Advice"))
    advice.append(original)
    evil.find(q(SAML_NS, "Conditions")).addnext(advice)
    query = f.attribute_query(w, encrypted=f.encrypted_for_ms(w, [evil, mds]), name_id=pid_for(f.IDP, "someone-else"))
    expect_requester(w, query, "duplicate-id")


# --- replay and freshness -----------------------------------------------------------------------------------


def test_replayed_query_id_is_refused(w):
    query = f.attribute_query(w)
    assert_matched(w, query)
    replay = f.attribute_query(w, query_id=query.get("ID"))  # a fresh, validly signed query with the same ID
    expect_requester(w, replay, "replayed-query")
    assert_matched(w, query)  # the very same bytes again: the hub's retry, answered as the first time


def test_query_for_another_endpoint_is_refused(w):
    query = f.attribute_query(w, destination=w.ms.account_creation_url)
    expect_fault(w, f.envelope(query), "wrong-destination")


def test_query_with_a_stale_issue_instant_is_refused(w):
    query = f.attribute_query(w, now=now_utc() - timedelta(minutes=10))
    expect_fault(w, f.envelope(query), "issue-instant-stale")


def test_query_issued_in_the_future_is_refused(w):
    query = f.attribute_query(w, now=now_utc() + timedelta(minutes=5))
    expect_fault(w, f.envelope(query), "issue-instant-in-future")


# --- weak encryption: refused before any key is unwrapped, with one generic error -------------------------------

WEAK_ENCRYPTION = {
    "aes256-cbc": (forge.AES256_CBC, xmlsecurity.RSA_OAEP_11, "content-encryption-not-allowed"),
    "3des-cbc": (forge.TRIPLEDES_CBC, xmlsecurity.RSA_OAEP_11, "content-encryption-not-allowed"),
    "rsa-1_5": (xmlsecurity.AES256_GCM, forge.RSA_1_5, "key-transport-not-allowed"),
}


class _KeySpy:
    """Wraps the MS's real private key and records whether any private-key operation was attempted."""

    def __init__(self, key) -> None:
        self.key, self.used = key, False

    def decrypt(self, *args, **kwargs):
        self.used = True
        return self.key.decrypt(*args, **kwargs)


@pytest.mark.parametrize("name", WEAK_ENCRYPTION)
def test_weakly_encrypted_assertion_is_refused_before_decryption(w, name):
    content, transport, detail = WEAK_ENCRYPTION[name]
    cert = w.ms.encryption_certificate.certificate
    authn, mds = f.idp_assertions(w)
    weak = forge.encrypt_for(authn, cert, content_algorithm=content, key_transport=transport)

    # Locally, with the MS's real key behind a spy: refused on the algorithm, the key never touched.
    spy = _KeySpy(w.decryption("test-rp-ms").private_key)
    with pytest.raises(xmlsecurity.DecryptionError) as refused:
        xmlsecurity.decrypt(weak.find(f"{{{xmlsecurity.XENC}}}EncryptedData"), [DecryptionCredential(spy, cert)])
    assert refused.value.detail.startswith(detail) and not spy.used

    # The real endpoint: a generic answer, identical for every weak algorithm (no oracle).
    query = f.attribute_query(w, encrypted=[weak, *f.encrypted_for_ms(w, [mds])])
    expect_fault(w, f.envelope(query), "decryption-failed")


# --- hostile XML -----------------------------------------------------------------------------------------


class _Listener(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        type(self).hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<!ENTITY exfil 'leaked'>")

    def log_message(self, *args):
        pass


@pytest.fixture
def listener():
    _Listener.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _Listener.hits
    server.shutdown()
    thread.join(5)


def _with_name_id_text(query: etree._Element, text: bytes) -> bytes:
    marker = "XXE-MARKER-" + new_id()
    query.find(f"{q(SAML_NS, 'Subject')}/{q(SAML_NS, 'NameID')}").text = marker
    return f.envelope(query).replace(marker.encode(), text)


def test_doctype_with_external_entities_is_refused_and_nothing_is_fetched(w, listener):
    url, hits = listener
    doctype = (
        f'<!DOCTYPE soap11:Envelope [<!ENTITY xxe SYSTEM "{url}/xxe"><!ENTITY % remote SYSTEM "{url}/dtd">%remote;]>'
    ).encode()
    body = doctype + _with_name_id_text(f.attribute_query(w), b"&xxe;")
    expect_fault(w, body, "doctype")
    assert hits == []


def test_external_dtd_only_is_refused_and_not_fetched(w, listener):
    url, hits = listener
    body = f'<!DOCTYPE soap11:Envelope SYSTEM "{url}/external.dtd">'.encode() + f.envelope(f.attribute_query(w))
    expect_fault(w, body, "doctype")
    assert hits == []


def test_billion_laughs_is_refused(w):
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    doctype = ("<!DOCTYPE soap11:Envelope [" + "".join(entities) + "]>").encode()
    expect_fault(w, doctype + _with_name_id_text(f.attribute_query(w), b"&lol9;"), "doctype")


@pytest.fixture
def fifo(tmp_path):
    """A named pipe standing for a local file an entity names: (path, set once anyone opens it to read)."""
    path = tmp_path / "entity.fifo"
    os.mkfifo(path)
    opened, stop = threading.Event(), threading.Event()

    def watch():
        while not stop.is_set():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)  # succeeds only while a reader has it open
            except OSError:
                time.sleep(0.01)
                continue
            opened.set()
            os.write(fd, b"<!ENTITY leaked 'x'>")
            os.close(fd)
            return

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    yield path, opened
    stop.set()
    thread.join(5)


def _utf7(text: str) -> bytes:
    """Every character UTF-7 encoded: no `<` or `!` byte remains for a byte-level check to see."""
    return b"+" + base64.b64encode(text.encode("utf-16-be")).rstrip(b"=") + b"-"


def test_doctype_with_a_local_file_entity_is_refused_and_the_file_not_read(w, fifo):
    path, opened = fifo
    doctype = f'<!DOCTYPE soap11:Envelope [<!ENTITY % p SYSTEM "file://{path}">%p;]>'.encode()
    expect_fault(w, doctype + f.envelope(f.attribute_query(w)), "doctype")
    assert not opened.wait(0.5)


def test_doctype_hidden_by_a_utf7_declaration_is_refused_and_the_file_not_read(w, fifo):
    """Found by this suite: `<!DOCTYPE` in UTF-7 passed the byte-level check and libxml2 opened the file
    an external parameter entity named (`file:///dev/zero` hung a worker) before the tree check refused."""
    path, opened = fifo
    doctype = _utf7(f'<!DOCTYPE soap11:Envelope [<!ENTITY % p SYSTEM "file://{path}">%p;]>')
    body = b'<?xml version="1.0" encoding="UTF-7"?>' + doctype + f.envelope(f.attribute_query(w))
    expect_fault(w, body, "bad-encoding")
    assert not opened.wait(0.5)


def test_oversized_body_is_refused(w):
    query = f.attribute_query(w)
    padding = b"<!--" + b"x" * (xmlsecurity.MAX_MESSAGE_BYTES + 1024) + b"-->"
    body = f.envelope(query).replace(b"<soap11:Body>", b"<soap11:Body>" + padding, 1)
    expect_fault(w, body, "too-large", status=413)


def test_oversized_chunked_body_is_refused(w):
    body = b"<soap11:Envelope>" + b" " * (xmlsecurity.MAX_MESSAGE_BYTES + 1024)

    def chunks():
        for i in range(0, len(body), 64 * 1024):
            yield body[i : i + 64 * 1024]

    expect_fault(w, chunks(), "too-large", status=413)  # no Content-Length: the limit applies while reading


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"this is not XML", "not-well-formed"),
        (b'{"AttributeQuery": "json"}', "not-well-formed"),
        (b"<soap11:Envelope", "not-well-formed"),
        (b"", "not-well-formed"),
        (b"\x00\x01\x02binary", "bad-encoding"),
    ],
)
def test_a_body_that_is_not_xml_is_refused(w, body, reason):
    expect_fault(w, body, reason)
