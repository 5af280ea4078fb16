"""An identity provider written with pysaml2's IdP API (`saml2.server.Server`), following docs/idp-profile.md.

pysaml2 does the SAML: it loads the hub's signed federation metadata (`remote`, the metadata-signing
certificate pinned, with the checks pysaml2_party.py adds), reads and verifies the hub's AuthnRequest
(`parse_authn_request`: the signature with the hub's key from metadata, Destination, IssueInstant), builds
the assertions (`setup_assertion`), signs (`pre_signature_part` + `SecurityContext.sign_statement`),
encrypts (`SecurityContext.encrypt_assertion` with a `pre_encryption_part` template) and posts
(`apply_binding`).

What pysaml2's one-call `create_authn_response` cannot do for this profile, and how this app does it with
pysaml2's lower-level API instead (no part of the message is built with lxml):

- **Two assertions.** `create_authn_response` puts exactly one assertion in a Response; the profile wants
  two (authentication, matching dataset). The app builds each with `setup_assertion`, signs and encrypts
  each, and puts both `EncryptedAssertion`s in a `samlp.Response` that it signs.
- **AES-GCM.** `create_authn_response(encrypt_assertion=True)` encrypts with `pre_encryption_part()`'s
  defaults, triple-DES CBC and a `des-192` session key, which the hub refuses (AES-GCM only); there is no
  setting to change them. The app calls `encrypt_assertion` with a template for AES-256-GCM and RSA-OAEP
  (MGF1P) and an `aes-256` session key.
- **Typed values.** An identity dict becomes `xs:string` values; the profile's `ida:` types, `ida:Verified`
  and the address's `ida:Line`/`ida:PostCode` children are written with `saml.AttributeValue`'s
  extension attributes and `saml2.ExtensionElement`s.

The citizen signs in with a user name only (a test IDP), and the app checks what the profile asks of an
IDP that pysaml2 leaves out: a request ID is accepted once (replay), and a request is at most five
minutes old (pysaml2 accepts one issued up to a day ago, `federation check-idp` found). RelayState comes
back unchanged.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import Flask, abort, request
from saml2 import BINDING_HTTP_POST, ExtensionElement, saml, samlp, xmlenc
from saml2.config import IdPConfig
from saml2.s_utils import sid, success_status_factory
from saml2.saml import NAMEID_FORMAT_ENTITY, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from saml2.sigver import pre_encryption_part, pre_signature_part
from saml2.time_util import instant

from tests.interop.apps.pysaml2_party import Party, load_config

IDA = "http://www.cabinetoffice.gov.uk/resource-library/ida/attributes"
UNSPECIFIED = "urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
AES256_GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
RSA_OAEP_MGF1P = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
LEVEL_2 = "urn:uk:gov:cabinet-office:tc:saml:authn-context:level2"
ASSERTION_LIFETIME = {"minutes": 90}  # the profile: the hub relays our assertions later in the journey
REQUEST_LIFETIME, CLOCK_SKEW = timedelta(minutes=5), timedelta(seconds=30)


@dataclass(frozen=True)
class Citizen:
    """One test user: our persistent identifier for them and the matching dataset we verified."""

    pid: str
    first_name: str
    surname: str
    date_of_birth: str
    gender: str
    address_lines: tuple[str, ...]
    postcode: str


@dataclass(frozen=True)
class IdpSettings:
    party: Party  # our entity and keys as registered in the federation config
    sso_url: str
    hub_entity_id: str
    users: dict[str, Citizen] = field(default_factory=dict)


def idp_server(settings: IdpSettings) -> Server:
    """pysaml2's IdP as its documentation configures one, strict where the profile asks; the federation
    metadata loaded and checked (pysaml2_party)."""
    config = load_config(
        IdPConfig,
        settings.party,
        accepted_time_diff=30,
        service={
            "idp": {
                "endpoints": {"single_sign_on_service": [(settings.sso_url, BINDING_HTTP_POST)]},
                "want_authn_requests_signed": True,
                "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                "signing_algorithm": RSA_SHA256,
                "digest_algorithm": SHA256,
                "policy": {"default": {"lifetime": ASSERTION_LIFETIME, "name_form": UNSPECIFIED}},
            }
        },
    )
    return Server(config=config)


# --- the attributes, with the profile's types -----------------------------------------------------------------


def _value(typ: str, text: str | None = None, children: list[ExtensionElement] | None = None, *, verified=True):
    """One value with the profile's `ida:` xsi:type; an MDS value says we verified it (`ida:Verified`).

    pysaml2's AttributeValue replaces extension attributes given to its constructor with the xsi:type it
    derives from the text, so they are set afterwards, the namespace declaration with them."""
    value = saml.AttributeValue(extension_elements=children)
    value.extension_attributes = {"xmlns:ida": IDA, **({"ida:Verified": "true"} if verified else {})}
    value.set_type(f"ida:{typ}")
    if text is not None:
        value.set_text(text)  # keeps the type set above
    return value


def _attribute(name: str, friendly_name: str, *values: saml.AttributeValue) -> saml.Attribute:
    return saml.Attribute(name=name, friendly_name=friendly_name, name_format=UNSPECIFIED, attribute_value=list(values))


def matching_dataset(citizen: Citizen) -> saml.AttributeStatement:
    address = [ExtensionElement("Line", namespace=IDA, text=line) for line in citizen.address_lines]
    address.append(ExtensionElement("PostCode", namespace=IDA, text=citizen.postcode))
    return saml.AttributeStatement(
        attribute=[
            _attribute("MDS_firstname", "Firstname", _value("PersonNameType", citizen.first_name)),
            _attribute("MDS_surname", "Surname", _value("PersonNameType", citizen.surname)),
            _attribute("MDS_gender", "Gender", _value("GenderType", citizen.gender)),
            _attribute("MDS_dateofbirth", "Date of Birth", _value("DateType", citizen.date_of_birth)),
            _attribute("MDS_currentaddress", "Current Address", _value("AddressType", children=address)),
        ]
    )


def ip_address(address: str) -> saml.AttributeStatement:
    value = _value("IPAddressType", address, verified=False)  # not a matching dataset value
    return saml.AttributeStatement(attribute=[_attribute("TXN_IPaddress", "IPAddress", value)])


# --- the Response ---------------------------------------------------------------------------------------------


def _signed(server: Server, element: saml.Assertion | samlp.Response) -> str:
    """`element` signed by us (enveloped, exclusive c14n, RSA-SHA256), as pysaml2's own responses are."""
    cert = server.sec.my_cert
    element.signature = pre_signature_part(element.id, cert, 1, sign_alg=RSA_SHA256, digest_alg=SHA256)
    return server.sec.sign_statement(str(element), element.c_namespace + ":" + element.c_tag, node_id=element.id)


def _encrypted(server: Server, signed_assertion: str, hub_certificate: str) -> saml.EncryptedAssertion:
    """A signed assertion encrypted for the hub: AES-256-GCM content, RSA-OAEP (MGF1P) key transport."""
    template = pre_encryption_part(msg_enc=AES256_GCM, key_enc=RSA_OAEP_MGF1P, encrypt_cert=hub_certificate)
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as cert_file:
        cert_file.write(f"-----BEGIN CERTIFICATE-----\n{hub_certificate}\n-----END CERTIFICATE-----\n")
        cert_file.flush()
        encrypted = server.sec.encrypt_assertion(
            signed_assertion, cert_file.name, template, key_type="aes-256", node_xpath="/*[local-name()='Assertion']"
        )
    return saml.EncryptedAssertion(encrypted_data=xmlenc.encrypted_data_from_string(encrypted))


def hub_response_url(server: Server, hub_entity_id: str) -> str:
    """Where we answer: the hub's assertion consumer service in the federation metadata, never the request."""
    return server.metadata.assertion_consumer_service(hub_entity_id, BINDING_HTTP_POST)[0]["location"]


def success_response(server: Server, hub_entity_id: str, request_id: str, citizen: Citizen, address: str) -> str:
    """The profile's success: a signed Response with two signed assertions encrypted for the hub."""
    destination = hub_response_url(server, hub_entity_id)
    hub_certificate = server.metadata.certs(hub_entity_id, "spsso", "encryption")[0][1]
    issuer = saml.Issuer(text=server.config.entityid, format=NAMEID_FORMAT_ENTITY)
    name_id = NameID(format=NAMEID_FORMAT_PERSISTENT, text=citizen.pid)
    policy = server.config.getattr("policy", "idp")

    def assertion(authn: dict | None, statement: saml.AttributeStatement) -> saml.EncryptedAssertion:
        built = server.setup_assertion(
            authn, hub_entity_id, request_id, destination, name_id, policy, issuer,
            None, {}, best_effort=True, sign_response=True,
        )  # fmt: skip
        built.attribute_statement = [statement]
        return _encrypted(server, _signed(server, built), hub_certificate)

    authn = {"class_ref": LEVEL_2, "authn_instant": int(datetime.now(UTC).timestamp())}
    response = samlp.Response(
        id=sid(),
        version="2.0",
        issue_instant=instant(),
        destination=destination,
        in_response_to=request_id,
        issuer=issuer,
        status=success_status_factory(),
        encrypted_assertion=[assertion(authn, ip_address(address)), assertion(None, matching_dataset(citizen))],
    )
    return _signed(server, response)


def fresh(message: samlp.AuthnRequest) -> bool:
    """The profile: at most five minutes old, 30 seconds of clock skew either way. pysaml2 itself accepts a
    request issued up to a day before or after now (`Request.issue_instant_ok`)."""
    issued, now = datetime.fromisoformat(message.issue_instant.replace("Z", "+00:00")), datetime.now(UTC)
    return now - REQUEST_LIFETIME - CLOCK_SKEW <= issued <= now + CLOCK_SKEW


def create_app(settings: IdpSettings) -> Flask:
    app = Flask(__name__)
    logging.getLogger("saml2").setLevel(logging.WARNING)  # it logs NameIDs at INFO, messages at DEBUG
    server = idp_server(settings)
    seen_requests: set[str] = set()  # the hub's request IDs we answered: each once
    pending: dict[str, tuple[str, str]] = {}  # our one-time key -> (the hub's request ID, its RelayState)

    @app.post("/SAML2/SSO")
    def sso():
        """The hub's AuthnRequest (HTTP-POST): verified by pysaml2, refused with a 400 when it is not good."""
        try:
            parsed = server.parse_authn_request(request.form["SAMLRequest"], BINDING_HTTP_POST)
        except Exception as exc:  # pysaml2 raises many types; every one means "refuse"
            app.logger.info("AuthnRequest refused: %s", type(exc).__name__)
            abort(400)
        message = parsed.message
        if message.issuer.text != settings.hub_entity_id or message.id in seen_requests or not fresh(message):
            abort(400)
        seen_requests.add(message.id)
        key = secrets.token_urlsafe(16)
        pending[key] = (message.id, request.form.get("RelayState", ""))
        return (
            "<!DOCTYPE html><title>Sign in</title><h1>Sign in to the pysaml2 identity provider</h1>"
            f'<form method="post" action="/login"><input type="hidden" name="key" value="{key}">'
            '<label>User name <input name="username"></label><button>Continue</button></form>'
        )

    @app.post("/login")
    def login():
        found, citizen = pending.pop(request.form.get("key", ""), None), settings.users.get(request.form["username"])
        if found is None or citizen is None:  # a sign-in we did not start, or nobody we know
            abort(403)
        request_id, relay_state = found
        xml = success_response(server, settings.hub_entity_id, request_id, citizen, request.remote_addr or "")
        destination = hub_response_url(server, settings.hub_entity_id)
        http = server.apply_binding(BINDING_HTTP_POST, xml, destination, relay_state, response=True)
        return http["data"]

    return app
