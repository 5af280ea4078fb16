"""Forging helpers for attacks on the matching service: valid messages from the real keys, then mutations.

A valid AttributeQuery here is what the hub sends: stub-idp-two's two assertions (signed with the IDP's
real key, Audience = hub, Recipient = the hub's response URL), re-encrypted for the matching service,
carried in an AttributeQuery signed with the hub's key, inside a SOAP envelope. Each attack starts from
that and changes one thing, re-signing with the real key where the attack needs a valid signature.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import requests
from lxml import etree

from federation import xmlsecurity
from federation.config import FederationConfig, load_federation_config
from federation.credentials import SigningCredential, load_entity_credentials
from federation.demo import DEMO_CONFIG
from federation.loa import LevelOfAssurance
from federation.saml import constants as c
from federation.saml import soap
from federation.saml.assertion import Attribute, build_assertion, mds_attributes
from federation.saml.attribute_query import build_attribute_query
from federation.saml.constants import SAML_NS, SAMLP_NS, q
from federation.saml.ids import new_id, now_utc
from federation.saml.response import ResponseData, parse_response, reencrypt_assertion
from stub_idps.users import StubUser, load_users, pid_for

IDP = "stub-idp-two"
RP_ENTITY_ID = "https://test-rp.federation.test"
MS_PATH = "/matching-service/POST"


@dataclass(frozen=True)
class MsWorld:
    """The federation's parties as the attacker (or a compromised hub) sees them: config and real keys."""

    config: FederationConfig
    keys_dir: Path
    ms_url: str
    log_path: Path

    @property
    def ms(self):
        return self.config.matching_service("https://test-rp-ms.federation.test")

    @property
    def rp(self):
        return self.config.relying_party(RP_ENTITY_ID)

    @property
    def endpoint(self) -> str:
        return self.ms.attribute_query_url

    @property
    def idp_entity_id(self) -> str:
        return next(i.entity_id for i in self.config.identity_providers if i.name == IDP)

    def signing(self, name: str) -> SigningCredential:
        return load_entity_credentials(self.keys_dir, name).signing

    def decryption(self, name: str):
        return load_entity_credentials(self.keys_dir, name).encryption


def world(federation, keys_dir: Path, var_dir: Path) -> MsWorld:
    config = load_federation_config(DEMO_CONFIG, keys_dir=keys_dir, variables=federation.urls)
    return MsWorld(config, keys_dir, federation.urls["MS_URL"], var_dir / "log" / "matching_service.log")


def user(username: str) -> StubUser:
    return next(u for u in load_users() if u.username == username)


# --- the IDP's assertions -----------------------------------------------------------------------------


def idp_assertions(
    w: MsWorld,
    username: str = "alice",
    *,
    credential: SigningCredential | None = None,
    name_id: str | None = None,
    now: datetime | None = None,
) -> list[etree._Element]:
    """stub-idp-two's signed authn and MDS assertions for the hub, as the stub IDP makes them."""
    who = user(username)
    common = dict(
        issuer=w.idp_entity_id,
        name_id=name_id or pid_for(IDP, username),
        audience=w.config.hub.entity_id,
        recipient=w.config.hub.response_url,
        in_response_to=new_id(),  # the hub's AuthnRequest ID
        credential=credential or w.signing(IDP),
        now=now or now_utc(),
    )
    authn = build_assertion(
        level_of_assurance=LevelOfAssurance.LEVEL_2,
        attributes=(Attribute(c.TXN_IPADDRESS, ("192.0.2.10",)),),
        **common,
    )
    mds = build_assertion(attributes=mds_attributes(who.matching_dataset), **common)
    return [authn, mds]


def encrypted_for_ms(w: MsWorld, assertions: Sequence[etree._Element | bytes]) -> list[etree._Element]:
    """The hub's relay: each assertion's bytes, untouched, encrypted for the matching service."""
    cert = w.ms.encryption_certificate.certificate
    return [reencrypt_assertion(a if isinstance(a, bytes) else xmlsecurity.to_bytes(a), cert) for a in assertions]


# --- the hub's query ----------------------------------------------------------------------------------


def attribute_query(
    w: MsWorld,
    username: str = "alice",
    *,
    encrypted: Sequence[etree._Element] | None = None,
    query_id: str | None = None,
    destination: str | None = None,
    credential: SigningCredential | None = None,
    issuer: str | None = None,
    now: datetime | None = None,
    name_id: str | None = None,
) -> etree._Element:
    """A signed AttributeQuery (hub key unless `credential`) carrying the IDP's assertions for `username`."""
    now = now or now_utc()
    rp = w.rp
    return build_attribute_query(
        issuer=issuer or w.config.hub.entity_id,
        destination=destination or w.endpoint,
        name_id=name_id or pid_for(IDP, username),
        sp_name_qualifier=rp.entity_id,
        rp_acs_url=rp.default_acs_url(),
        rp_request_id=new_id(),
        not_on_or_after=now_utc() + timedelta(minutes=5),
        encrypted_assertions=encrypted if encrypted is not None else encrypted_for_ms(w, idp_assertions(w, username)),
        credential=credential or w.signing("hub"),
        now=now,
        query_id=query_id,
    )


def resign(element: etree._Element, credential: SigningCredential) -> etree._Element:
    """Drop the element's own signature and sign it again (after a mutation the attack needs signed)."""
    for sig in element.findall(f"{{{xmlsecurity.DS}}}Signature"):
        element.remove(sig)
    return xmlsecurity.sign(element, credential)


def subject_confirmation_data(query: etree._Element) -> etree._Element:
    return query.find(
        f"{q(SAML_NS, 'Subject')}/{q(SAML_NS, 'SubjectConfirmation')}/{q(SAML_NS, 'SubjectConfirmationData')}"
    )


def envelope(*messages: etree._Element, header: etree._Element | None = None) -> bytes:
    """A SOAP 1.1 envelope; several messages or a header only for attacks (soap.wrap makes the real one)."""
    if len(messages) == 1 and header is None:
        return soap.wrap(messages[0])
    env = etree.Element(q(c.SOAP11_NS, "Envelope"), nsmap={"soap11": c.SOAP11_NS})
    if header is not None:
        env.append(header)
    body = etree.SubElement(env, q(c.SOAP11_NS, "Body"))
    for message in messages:
        body.append(copy.deepcopy(message))
    return xmlsecurity.to_bytes(env)


# --- talking to the MS and reading what it says -----------------------------------------------------------


def post(w: MsWorld, body: bytes, *, path: str = MS_PATH, headers: dict | None = None) -> requests.Response:
    return requests.post(
        w.ms_url + path, data=body, headers={"Content-Type": soap.CONTENT_TYPE, **(headers or {})}, timeout=15
    )


def fault_string(http: requests.Response) -> str:
    """The faultstring of a SOAP Client fault (the reply to a request the MS cannot answer in SAML)."""
    env = xmlsecurity.parse_xml(http.content)
    fault = env.find(f"{q(c.SOAP11_NS, 'Body')}/{q(c.SOAP11_NS, 'Fault')}")
    assert fault is not None, http.text[:500]
    assert fault.findtext("faultcode") == "soap11:Client", http.text[:500]
    return fault.findtext("faultstring")


def read_reply(w: MsWorld, http: requests.Response, query_id: str) -> ResponseData:
    """The signed SOAP reply as the hub reads it: MS signature from config, InResponseTo = our query."""
    assert http.status_code == 200, (http.status_code, http.text[:500])
    return parse_response(
        soap.unwrap(http.content),
        certificates_for_issuer=lambda issuer: [x.certificate for x in w.config.entity_certificates(issuer)],
        expected_destination=None,
        expected_in_response_to=query_id,
        expected_audience=w.config.hub.entity_id,
        now=now_utc(),
    )


def query_id_of(query: etree._Element) -> str:
    assert query.tag == q(SAMLP_NS, "AttributeQuery")
    return query.get("ID")


class LogTail:
    """The part of a service log written after this object was made (the service flushes it itself)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0

    def new_text(self) -> str:
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            return f.read().decode("utf-8", errors="replace")

    def wait_for(self, text: str, timeout: float = 3.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            new = self.new_text()
            if text in new:
                return new
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in the new part of {self.path.name}:\n{new[-3000:]}")
            time.sleep(0.05)
