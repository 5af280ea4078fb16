"""The fuzz targets: one function per inbound parser, taking the fuzzer's bytes.

The first byte of an input picks a mode; the rest is the payload. Raw modes hand the payload to the parser
as it would arrive on the wire. Re-signing modes parse the payload, sign it with the sender's real key and
then hand it over, so that the code after the signature check (which a random mutation would never pass
otherwise) is fuzzed too: a valid signature must never lead to anything but data or a refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from lxml import etree

from federation import xmlsecurity
from federation.config import FederationConfig, load_federation_config
from federation.credentials import (
    DecryptionCredential,
    SigningCredential,
    load_certificate,
    load_entity_credentials,
    load_signing_credential,
)
from federation.demo import DEMO_CONFIG
from federation.metadata import MetadataError, parse_federation_metadata
from federation.saml import (
    SamlValidationError,
    Status,
    build_response,
    decode_post,
    encode_post,
    encode_redirect,
    parse_assertion,
    parse_attribute_query,
    parse_authn_request,
    parse_redirect_authn_request,
    parse_response,
    reencrypt_assertion,
    soap,
)
from federation.saml import constants as c

# The documented refusals: anything else a parser raises is a crash.
REFUSALS = (SamlValidationError, xmlsecurity.XmlSecurityError, MetadataError)

IDP = "stub-idp-two"
RP = "test-rp"
HUB_REQUEST_ID = "_fuzz-hub-request"  # the hub's AuthnRequest ID the seed Response answers
RELAY_STATE = "fuzz-relay-state"


class Skip(Exception):
    """The harness could not prepare this input (e.g. nothing to re-sign): not a finding."""


@dataclass(frozen=True)
class Context:
    """The federation a target parses against: config, real keys, and one fixed `now` for the whole run."""

    config: FederationConfig
    keys_dir: Path
    now: datetime
    idp_signing: SigningCredential
    rp_signing: SigningCredential
    hub_signing: SigningCredential
    metadata_signing: SigningCredential
    metadata_chain: tuple
    hub_decryption: tuple[DecryptionCredential, ...]
    ms_decryption: tuple[DecryptionCredential, ...]

    @classmethod
    def load(cls, keys_dir: Path, now: datetime) -> Context:
        config = load_federation_config(DEMO_CONFIG, keys_dir=keys_dir, variables={})
        return cls(
            config=config,
            keys_dir=keys_dir,
            now=now,
            idp_signing=load_entity_credentials(keys_dir, IDP).signing,
            rp_signing=load_entity_credentials(keys_dir, RP).signing,
            hub_signing=load_entity_credentials(keys_dir, "hub").signing,
            metadata_signing=load_signing_credential(
                keys_dir / "metadata-signing.key", keys_dir / "metadata-signing.crt"
            ),
            metadata_chain=(load_certificate(keys_dir / "metadata-ca.crt"),),
            hub_decryption=(load_entity_credentials(keys_dir, "hub").encryption,),
            ms_decryption=(load_entity_credentials(keys_dir, "test-rp-ms").encryption,),
        )

    def certificates(self, issuer: str):
        return [cert.certificate for cert in self.config.entity_certificates(issuer)]

    @property
    def ms(self):
        return self.config.matching_services[0]

    @property
    def idp_entity_id(self) -> str:
        return next(i.entity_id for i in self.config.identity_providers if i.name == IDP)


def split(data: bytes, modes: int) -> tuple[int, bytes]:
    return (data[0] % modes, data[1:]) if data else (0, b"")


def resigned(payload: bytes, credential: SigningCredential) -> etree._Element:
    """The payload as a tree, its own signature replaced by a valid one from `credential`."""
    try:
        element = xmlsecurity.parse_xml(payload)
        for old in element.findall(f"{{{xmlsecurity.DS}}}Signature"):
            element.remove(old)
        # through bytes and back: what a receiver parses is a document, not the signer's in-memory tree
        return xmlsecurity.parse_xml(xmlsecurity.to_bytes(xmlsecurity.sign(element, credential)))
    except Exception:  # noqa: BLE001 - any failure here is the harness's, not a finding
        raise Skip from None


# --- the targets --------------------------------------------------------------------------------------------


def authn_request_post(ctx: Context) -> Callable[[bytes], None]:
    """RP -> hub AuthnRequest, HTTP-POST binding: SAMLRequest field -> decode_post -> parse_authn_request."""
    hub = ctx.config.hub

    def parse(xml: bytes | etree._Element) -> None:
        parse_authn_request(
            xml, certificates_for_issuer=ctx.certificates, expected_destination=hub.sso_url, now=ctx.now
        )

    def target(data: bytes) -> None:
        mode, payload = split(data, 3)
        if mode == 0:  # the XML, as a browser would post it
            parse(decode_post(encode_post(payload)))
        elif mode == 1:  # the raw form field value
            parse(decode_post(payload.decode("latin-1")))
        else:  # a validly signed request with fuzzed content
            parse(decode_post(encode_post(xmlsecurity.to_bytes(resigned(payload, ctx.rp_signing)))))

    return target


def authn_request_redirect(ctx: Context) -> Callable[[bytes], None]:
    """RP -> hub AuthnRequest, HTTP-Redirect binding: the raw query string -> parse_redirect_authn_request."""
    hub = ctx.config.hub

    def parse(query_string: str) -> None:
        parse_redirect_authn_request(
            query_string, certificates_for_issuer=ctx.certificates, expected_destination=hub.sso_url, now=ctx.now
        )

    def target(data: bytes) -> None:
        mode, payload = split(data, 2)
        if mode == 0:  # the query string as received
            parse(payload.decode("latin-1"))
        else:  # fuzzed XML, deflated and signed over the query string with the RP's real key
            url = encode_redirect(hub.sso_url, payload, credential=ctx.rp_signing, relay_state=RELAY_STATE)
            parse(url.split("?", 1)[1])

    return target


def idp_response(ctx: Context) -> Callable[[bytes], None]:
    """IDP -> hub Response: SAMLResponse field -> decode_post -> parse_response, with the hub's decryption key."""
    hub = ctx.config.hub

    def parse(xml: bytes) -> None:
        parse_response(
            xml,
            certificates_for_issuer=ctx.certificates,
            expected_destination=hub.response_url,
            expected_in_response_to=HUB_REQUEST_ID,
            expected_audience=hub.entity_id,
            decryption_credentials=ctx.hub_decryption,
            now=ctx.now,
        )

    def carrying(assertion: bytes) -> bytes:
        """A valid, IDP-signed Response carrying `assertion` (bytes) encrypted for the hub."""
        encrypted = reencrypt_assertion(assertion, hub.encryption_certificates[0].certificate)
        response = build_response(
            issuer=ctx.idp_entity_id,
            in_response_to=HUB_REQUEST_ID,
            status=Status(c.STATUS_SUCCESS),
            credential=ctx.idp_signing,
            now=ctx.now,
            destination=hub.response_url,
            assertions=[encrypted],
        )
        return xmlsecurity.to_bytes(response)

    def target(data: bytes) -> None:
        mode, payload = split(data, 5)
        if mode == 0:  # the Response XML, as posted
            parse(decode_post(encode_post(payload)))
        elif mode == 1:  # the raw form field value
            parse(decode_post(payload.decode("latin-1")))
        elif mode == 2:  # fuzzed Response re-signed by the IDP (its encrypted assertions as fuzzed)
            parse(xmlsecurity.to_bytes(resigned(payload, ctx.idp_signing)))
        elif mode == 3:  # fuzzed assertion plaintext, encrypted for the hub inside a valid Response
            parse(carrying(payload))
        else:  # fuzzed assertion re-signed by the IDP, encrypted, inside a valid Response: parse_assertion
            parse(carrying(xmlsecurity.to_bytes(resigned(payload, ctx.idp_signing))))

    return target


def attribute_query(ctx: Context) -> Callable[[bytes], None]:
    """hub -> MS SOAP AttributeQuery: soap.unwrap + parse_attribute_query, then each carried IDP assertion."""
    hub = ctx.config.hub

    def parse(body: bytes) -> None:
        query = parse_attribute_query(
            body,
            certificates_for_issuer=lambda issuer: ctx.certificates(issuer) if issuer == hub.entity_id else [],
            expected_destination=ctx.ms.attribute_query_url,
            decryption_credentials=ctx.ms_decryption,
            now=ctx.now,
        )
        for assertion in query.assertions:  # as the matching service reads them
            parse_assertion(
                assertion.element,
                certificates_for_issuer=ctx.certificates,
                expected_audience=hub.entity_id,
                expected_recipient=hub.response_url,
                expected_in_response_to=None,
                now=ctx.now,
            )

    def target(data: bytes) -> None:
        mode, payload = split(data, 2)
        if mode == 0:  # the SOAP envelope as received
            parse(payload)
        else:  # a fuzzed AttributeQuery re-signed by the hub, in a SOAP envelope
            parse(soap.wrap(resigned(payload, ctx.hub_signing)))

    return target


def federation_metadata(ctx: Context) -> Callable[[bytes], None]:
    """Signed federation metadata, as every party reads it: parse_federation_metadata."""
    metadata = ctx.config.metadata

    def parse(data: bytes) -> None:
        parse_federation_metadata(
            data,
            trust_anchor=metadata.trust_anchor.certificate,
            metadata_issuer=metadata.signing_certificate.certificate.issuer,
            hub_entity_id=ctx.config.hub.entity_id,
            now=ctx.now,
        )

    def target(data: bytes) -> None:
        mode, payload = split(data, 2)
        if mode == 0:  # the document as fetched
            parse(payload)
        else:  # fuzzed content re-signed with the metadata key and its chain
            try:
                element = xmlsecurity.parse_xml(payload, max_bytes=4 * 1024 * 1024)
                for old in element.findall(f"{{{xmlsecurity.DS}}}Signature"):
                    element.remove(old)
                xmlsecurity.sign(element, ctx.metadata_signing, chain=ctx.metadata_chain)
                signed = xmlsecurity.to_bytes(element)
            except Exception:  # noqa: BLE001 - the harness's failure, not a finding
                raise Skip from None
            parse(signed)

    return target


TARGETS: dict[str, Callable[[Context], Callable[[bytes], None]]] = {
    "authn-request-post": authn_request_post,
    "authn-request-redirect": authn_request_redirect,
    "idp-response": idp_response,
    "attribute-query": attribute_query,
    "federation-metadata": federation_metadata,
}
