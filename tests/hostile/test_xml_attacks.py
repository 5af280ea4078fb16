"""Hostile federation metadata: the example service keeps signing citizens in with its last good copy.

The real example relying party (its app factory, its `MetadataSource` with the real HTTP fetch) reads the
hub's metadata from a real HTTP server started here, which serves first the genuine signed metadata, then a
tampered document. Every tampered document would, if accepted, send citizens to an attacker's SSO URL.
After each refused refresh the service must still post AuthnRequests to the genuine hub, and the log must
name the specific reason.
"""

from __future__ import annotations

import base64
import copy
import http.server
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import lxml.html
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from federation import xmlsecurity
from federation.config import load_federation_config
from federation.credentials import SigningCredential, load_certificate, load_signing_credential
from federation.demo import DEMO_CONFIG
from federation.metadata import MD, MetadataError, MetadataSource, build_federation_metadata
from federation.runtime import Runtime
from keys import pki
from relying_party_example.app import create_app
from tests.hostile import forge

pytestmark = pytest.mark.hostile

ATTACKER_SSO = "https://attacker.example/SAML2/SSO"
NS = {"md": MD, "ds": xmlsecurity.DS}
REFUSED = "federation metadata refresh refused ({})"


@dataclass
class MetadataServer:
    """A real HTTP server playing the hub's metadata endpoint; `body`/`status` say what it serves next."""

    base_url: str = ""
    body: bytes = b""
    status: int = 200
    hits: list[str] = field(default_factory=list)


@pytest.fixture
def server():
    state = MetadataServer()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            state.hits.append(self.path)
            body = state.body if self.path.endswith("/SAML2/metadata/federation") else b"<!ENTITY leaked 'x'>"
            self.send_response(state.status)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base_url = f"http://127.0.0.1:{httpd.server_port}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    thread.join(5)


@pytest.fixture
def config(keys_dir, server):
    return load_federation_config(DEMO_CONFIG, keys_dir=keys_dir, variables={"HUB_URL": server.base_url})


@pytest.fixture
def metadata_key(keys_dir) -> SigningCredential:
    return load_signing_credential(keys_dir / "metadata-signing.key", keys_dir / "metadata-signing.crt")


@pytest.fixture
def genuine(config, metadata_key, keys_dir) -> bytes:
    return build_federation_metadata(config, metadata_key, chain=[load_certificate(keys_dir / "metadata-ca.crt")])


@pytest.fixture
def rp(config, keys_dir, tmp_path):
    """The example service, its metadata fetched over real HTTP from `server`."""
    runtime = Runtime(config=config, keys_dir=keys_dir, var_dir=tmp_path, environ={"RP_SECRET_KEY": "x" * 32})
    app = create_app(runtime)
    source: MetadataSource = app.extensions["relying_party_example"]["metadata"]
    yield app, source
    source.stop()


def sign_in_destination(app) -> tuple[int, str | None]:
    """Start a sign-in at the service; (HTTP status, where the browser is sent with the AuthnRequest, without
    the language parameter the service adds for the hub's pages)."""
    client = app.test_client()
    home = client.get("/")
    assert home.status_code == 200
    token = lxml.html.fromstring(home.text).xpath("//input[@name='csrf_token']/@value")[0]
    page = client.post("/start", data={"csrf_token": token})
    forms = lxml.html.fromstring(page.text).xpath("//form[@data-federation-auto-submit]")
    return page.status_code, forms[0].get("action").split("?lang=")[0] if forms else None


# --- tampering helpers ---------------------------------------------------------------------------------------


def tree(data: bytes) -> etree._Element:
    return xmlsecurity.parse_xml(data, max_bytes=8 * 1024 * 1024)


def serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def with_attacker_sso(genuine: bytes, config) -> etree._Element:
    """The genuine document with the hub's SSO URL pointing at the attacker (signature now stale)."""
    root = tree(genuine)
    for sso in root.findall(
        f"md:EntityDescriptor[@entityID='{config.hub.entity_id}']/md:IDPSSODescriptor/md:SingleSignOnService", NS
    ):
        sso.set("Location", ATTACKER_SSO)
    return root


def signed_by(root: etree._Element, credential: SigningCredential, chain=()) -> bytes:
    for sig in root.findall("ds:Signature", NS):
        root.remove(sig)
    xmlsecurity.sign(root, credential, chain=list(chain))
    return serialise(root)


def _doctype_with_entity(genuine: bytes, config) -> bytes:
    text = serialise(with_attacker_sso(genuine, config)).replace(ATTACKER_SSO.encode(), b"&sso;")
    declaration, rest = text.split(b"?>", 1)
    return declaration + b"?>" + f'<!DOCTYPE md:EntitiesDescriptor [<!ENTITY sso "{ATTACKER_SSO}">]>'.encode() + rest


def _external_entity(genuine: bytes, config, url: str) -> bytes:
    text = serialise(with_attacker_sso(genuine, config)).replace(ATTACKER_SSO.encode(), b"&sso;")
    declaration, rest = text.split(b"?>", 1)
    doctype = f'<!DOCTYPE md:EntitiesDescriptor [<!ENTITY sso SYSTEM "{url}/xxe"><!ENTITY % p SYSTEM "{url}/dtd">%p;]>'
    return declaration + b"?>" + doctype.encode() + rest


def _billion_laughs(genuine: bytes) -> bytes:
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    declaration, rest = genuine.split(b"?>", 1)
    rest = rest.replace(b'Name="', b'Name="&a9;', 1)
    return declaration + b"?>" + f"<!DOCTYPE md:EntitiesDescriptor [{entities}]>".encode() + rest


def _utf7(genuine: bytes) -> bytes:
    doctype = '<!DOCTYPE md:EntitiesDescriptor [<!ENTITY sso "x">]>'
    encoded = b"+" + base64.b64encode(doctype.encode("utf-16-be")).rstrip(b"=") + b"-"
    return b'<?xml version="1.0" encoding="UTF-7"?>' + encoded + genuine.split(b"?>", 1)[1]


def _idp_key(genuine: bytes, config, keys_dir) -> bytes:
    idp = load_signing_credential(keys_dir / "stub-idp-two-signing.key", keys_dir / "stub-idp-two-signing.crt")
    return signed_by(with_attacker_sso(genuine, config), idp, [load_certificate(keys_dir / "idp-ca.crt")])


def _hub_key(genuine: bytes, config, keys_dir) -> bytes:
    hub = load_signing_credential(keys_dir / "hub-signing.key", keys_dir / "hub-signing.crt")
    return signed_by(with_attacker_sso(genuine, config), hub, [load_certificate(keys_dir / "hub-ca.crt")])


def _lookalike_ca(genuine: bytes, config, keys_dir) -> bytes:
    """An attacker CA whose name is the metadata CA's: right issuer name, wrong key."""
    real_ca = load_certificate(keys_dir / "metadata-ca.crt")
    common_name = real_ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    ca_key, ca_pem = pki.make_self_signed(common_name, is_ca=True)
    lookalike = x509.load_pem_x509_certificate(ca_pem)
    assert lookalike.subject == real_ca.subject
    leaf = forge.credential_from_pem(*pki.issue(ca_key, ca_pem, "metadata signing"))
    return signed_by(with_attacker_sso(genuine, config), leaf, [lookalike])


def _self_signed(genuine: bytes, config) -> bytes:
    return signed_by(
        with_attacker_sso(genuine, config), forge.attacker_credential("self-signed", common_name="metadata")
    )


def _entity_added_after_signing(genuine: bytes, config) -> bytes:
    root = tree(genuine)
    evil = copy.deepcopy(root.find(f"md:EntityDescriptor[@entityID='{config.hub.entity_id}']", NS))
    for sso in evil.findall("md:IDPSSODescriptor/md:SingleSignOnService", NS):
        sso.set("Location", ATTACKER_SSO)
    root.insert(1, evil)  # first after the signature: a reader taking the first hub entity gets the evil one
    return serialise(root)


def _wrapped_root(genuine: bytes, config) -> bytes:
    """XSW: an evil EntitiesDescriptor with the genuine signature, the genuine document nested inside it."""
    original = tree(genuine)
    evil = with_attacker_sso(genuine, config)
    nested = copy.deepcopy(original)
    nested.remove(nested.find("ds:Signature", NS))
    extensions = etree.SubElement(evil, f"{{{MD}}}Extensions")
    extensions.append(nested)
    evil.insert(1, extensions)
    return serialise(evil)


def _malformed_keyinfo_certificate(genuine: bytes) -> bytes:
    """Found by the fuzzer: KeyInfo lies outside what an enveloped signature covers, so anyone can change
    it. A certificate whose names are not valid UTF-8 loads (lazily) and raised ValueError on first use,
    which escaped `MetadataSource.refresh` (and ended its background refresh thread)."""
    root = tree(genuine)
    node = root.findall("ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)[1]  # the intermediate
    der = base64.b64decode("".join(node.text.split()))
    node.text = base64.b64encode(der.replace(b"Federation", b"F\xffderation")).decode()
    return serialise(root)


def _valid_until_extended(genuine: bytes) -> bytes:
    root = tree(genuine)
    root.set("validUntil", "2099-01-01T00:00:00Z")
    return serialise(root)


def _expired(config, metadata_key, keys_dir) -> bytes:
    long_ago = datetime.now(UTC) - config.metadata.valid_for - timedelta(hours=1)
    return build_federation_metadata(
        config, metadata_key, chain=[load_certificate(keys_dir / "metadata-ca.crt")], now=long_ago
    )


def _not_metadata(genuine: bytes, config, metadata_key, keys_dir) -> bytes:
    """A correctly signed document, but an EntityDescriptor rather than the federation's EntitiesDescriptor."""
    entity = copy.deepcopy(with_attacker_sso(genuine, config).find("md:EntityDescriptor", NS))
    entity.set("ID", "_entity")
    return signed_by(entity, metadata_key, [load_certificate(keys_dir / "metadata-ca.crt")])


# --- the tests -----------------------------------------------------------------------------------------------


def test_control_the_service_follows_genuine_metadata(rp, server, genuine, config, keys_dir, metadata_key):
    app, source = rp
    server.body = genuine
    assert source.wait_until_ready(10)  # the background load (started with the app) retries
    assert sign_in_destination(app) == (200, config.hub.sso_url)
    # The attacker's SSO URL in a document correctly signed with the metadata key is followed: so the
    # refusals below are about the tampering, not about the URL.
    chain = [load_certificate(keys_dir / "metadata-ca.crt")]
    server.body = signed_by(with_attacker_sso(genuine, config), metadata_key, chain)
    assert source.refresh() is True
    assert sign_in_destination(app) == (200, ATTACKER_SSO)


TAMPERED = {
    "doctype-internal-entity": ("doctype", lambda g, c, k, m, u: _doctype_with_entity(g, c)),
    "doctype-external-entities": ("doctype", lambda g, c, k, m, u: _external_entity(g, c, u)),
    "billion-laughs": ("doctype", lambda g, c, k, m, u: _billion_laughs(g)),
    "utf7-hidden-doctype": ("bad-encoding", lambda g, c, k, m, u: _utf7(g)),
    "signed-by-an-idp-key": ("wrong-issuer", lambda g, c, k, m, u: _idp_key(g, c, k)),
    "signed-by-the-hub-key": ("wrong-issuer", lambda g, c, k, m, u: _hub_key(g, c, k)),
    "signed-by-a-lookalike-metadata-ca": ("untrusted-chain", lambda g, c, k, m, u: _lookalike_ca(g, c, k)),
    "signed-by-a-self-signed-key": ("chain-missing", lambda g, c, k, m, u: _self_signed(g, c)),
    "entity-descriptor-added-after-signing": (
        "signature-invalid",
        lambda g, c, k, m, u: _entity_added_after_signing(g, c),
    ),
    "signed-document-wrapped-in-an-evil-one": ("duplicate-id", lambda g, c, k, m, u: _wrapped_root(g, c)),
    "malformed-certificate-in-keyinfo": ("keyinfo-malformed", lambda g, c, k, m, u: _malformed_keyinfo_certificate(g)),
    "valid-until-extended-after-signing": ("signature-invalid", lambda g, c, k, m, u: _valid_until_extended(g)),
    "expired-valid-until": ("expired", lambda g, c, k, m, u: _expired(c, m, k)),
    "signed-entity-descriptor-not-the-federation": ("not-metadata", lambda g, c, k, m, u: _not_metadata(g, c, m, k)),
    "not-xml": ("not-well-formed", lambda g, c, k, m, u: b"<html><body>502 Bad Gateway"),
    "too-large": ("too-large", lambda g, c, k, m, u: g + b" " * (4 * 1024 * 1024)),
}


@pytest.mark.parametrize("attack", TAMPERED)
def test_tampered_metadata_is_refused_and_the_last_good_copy_kept(
    attack, rp, server, genuine, config, keys_dir, metadata_key, caplog
):
    app, source = rp
    server.body = genuine
    assert source.wait_until_ready(10)  # the background load (started with the app) retries
    assert sign_in_destination(app) == (200, config.hub.sso_url)
    good = source.current

    reason, make = TAMPERED[attack]
    server.body = make(genuine, config, keys_dir, metadata_key, server.base_url)
    server.hits.clear()
    with caplog.at_level(logging.ERROR, logger="federation.metadata"):
        assert source.refresh() is False
    assert REFUSED.format(reason) in caplog.text
    assert server.hits == ["/SAML2/metadata/federation"]  # no entity, DTD or anything else was fetched

    assert source.current is good
    assert sign_in_destination(app) == (200, config.hub.sso_url)


def test_metadata_endpoint_failing_keeps_the_last_good_copy(rp, server, genuine, config, caplog):
    app, source = rp
    server.body = genuine
    assert source.wait_until_ready(10)  # the background load (started with the app) retries
    assert sign_in_destination(app) == (200, config.hub.sso_url)
    server.status, server.body = 500, b"oops"
    with caplog.at_level(logging.ERROR, logger="federation.metadata"):
        assert source.refresh() is False
    assert "federation metadata refresh failed: HTTPError" in caplog.text
    assert sign_in_destination(app) == (200, config.hub.sso_url)


def test_without_any_good_copy_the_service_says_it_is_unavailable(rp, server, genuine, config, keys_dir):
    app, source = rp
    server.body = _idp_key(genuine, config, keys_dir)
    status, destination = sign_in_destination(app)
    assert (status, destination) == (503, None)
    with pytest.raises(MetadataError) as unavailable:
        source.current
    assert unavailable.value.reason == "unavailable"
    server.body = genuine  # and it recovers when the hub serves good metadata again
    assert source.wait_until_ready(10)  # the background load (started with the app) retries
    assert sign_in_destination(app) == (200, config.hub.sso_url)
