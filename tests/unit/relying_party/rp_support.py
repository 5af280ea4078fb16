"""The hub's side of the RP tests: real keys, signed metadata, and hub Responses built the real way.

Nothing here stands in for the code under test: the matching service's assertion is built with
`build_assertion`, signed with test-rp-ms's key and encrypted for test-rp; the IDP's assertions are signed
with stub-idp-two's key; the Response is built with `build_response` and signed with the hub's key.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from federation import xmlsecurity
from federation.config import FederationConfig, RelyingParty
from federation.credentials import (
    EntityCredentials,
    SigningCredential,
    load_certificate,
    load_entity_credentials,
    load_signing_credential,
)
from federation.loa import LevelOfAssurance
from federation.metadata import build_federation_metadata
from federation.saml import (
    Address,
    Attribute,
    MatchingDataset,
    MdsValue,
    Status,
    build_assertion,
    build_response,
    decode_post,
    encode_post,
    encrypt_assertion,
    new_id,
)
from federation.saml import constants as c
from federation.saml.assertion import mds_attributes
from federation.saml.standard import build_standard_response

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")  # `make redis` starts one
HASHED_PID = "a3f1c2" * 10 + "beef"  # what the matching service would compute; opaque to the RP
IDP_PID = "stub-idp-two-pid-0001"
SUCCESS = Status(c.STATUS_SUCCESS)


@dataclass(frozen=True)
class Parties:
    config: FederationConfig
    hub: EntityCredentials
    matching_service: EntityCredentials
    rp: EntityCredentials
    idp_two: EntityCredentials
    idp_one: EntityCredentials
    metadata: bytes

    @property
    def matching_rp(self) -> RelyingParty:
        return next(rp for rp in self.config.relying_parties if rp.name == "test-rp")

    @property
    def non_matching_rp(self) -> RelyingParty:
        return next(rp for rp in self.config.relying_parties if rp.name == "test-rp-non-matching")

    @property
    def standard_rp(self) -> RelyingParty:
        return next(rp for rp in self.config.relying_parties if rp.name == "test-rp-standard")

    @property
    def idp_two_entity_id(self) -> str:
        return next(idp.entity_id for idp in self.config.identity_providers if idp.name == "stub-idp-two")

    @property
    def ms_entity_id(self) -> str:
        return self.matching_rp.matching_service_entity_id  # type: ignore[return-value]


def parties(keys_dir: Path, config: FederationConfig) -> Parties:
    metadata_key = load_signing_credential(keys_dir / "metadata-signing.key", keys_dir / "metadata-signing.crt")
    metadata = build_federation_metadata(config, metadata_key, chain=[load_certificate(keys_dir / "metadata-ca.crt")])
    return Parties(
        config=config,
        hub=load_entity_credentials(keys_dir, "hub"),
        matching_service=load_entity_credentials(keys_dir, "test-rp-ms"),
        rp=load_entity_credentials(keys_dir, "test-rp"),
        idp_two=load_entity_credentials(keys_dir, "stub-idp-two"),
        idp_one=load_entity_credentials(keys_dir, "stub-idp-one"),
        metadata=metadata,
    )


def now() -> datetime:
    return datetime.now(UTC)


def hub_response(
    p: Parties,
    rp: RelyingParty,
    *,
    in_response_to: str,
    status: Status = SUCCESS,
    assertions: Sequence = (),
    signer: SigningCredential | None = None,
    destination: str | None = None,
    issuer: str | None = None,
) -> str:
    """The hub's signed Response to `rp`, base64 as the browser POSTs it."""
    response = build_response(
        issuer=issuer or p.config.hub.entity_id,
        in_response_to=in_response_to,
        status=status,
        credential=signer or p.hub.signing,
        now=now(),
        destination=destination or rp.default_acs_url(),
        assertions=assertions,
    )
    return encode_post(xmlsecurity.to_bytes(response))


def matching_service_assertion(
    p: Parties,
    *,
    in_response_to: str,
    level: LevelOfAssurance = LevelOfAssurance.LEVEL_2,
    attributes: Sequence[Attribute] = (),
    audience: str | None = None,
    recipient: str | None = None,
    signer: SigningCredential | None = None,
    issuer: str | None = None,
):
    """The matching service's assertion for test-rp, signed by test-rp-ms and encrypted for test-rp."""
    rp = p.matching_rp
    assertion = build_assertion(
        issuer=issuer or p.ms_entity_id,
        name_id=HASHED_PID,
        audience=audience or rp.entity_id,
        recipient=recipient or rp.default_acs_url(),
        in_response_to=in_response_to,
        credential=signer or p.matching_service.signing,
        now=now(),
        level_of_assurance=level,
        attributes=attributes,
    )
    return encrypt_assertion(assertion, rp.encryption_certificate.certificate)


def account_creation_attributes() -> tuple[Attribute, ...]:
    return (
        Attribute("FIRST_NAME", (MdsValue("Alex"),)),
        Attribute("SURNAME", (MdsValue("Example"),)),
        Attribute("DATE_OF_BIRTH", (MdsValue(date(1980, 1, 2)),)),
    )


def idp_assertions(
    p: Parties,
    *,
    level: LevelOfAssurance = LevelOfAssurance.LEVEL_2,
    signer: SigningCredential | None = None,
    mds_signer: SigningCredential | None = None,
    audience: str | None = None,
    pid: str = IDP_PID,
) -> list:
    """stub-idp-two's two assertions (authn + matching dataset), as the hub relays them to test-rp."""
    hub_request_id = new_id()  # the hub's request to the IDP: the RP never sees it
    common = dict(
        issuer=p.idp_two_entity_id,
        name_id=pid,
        audience=audience or p.config.hub.entity_id,
        recipient=p.config.hub.response_url,
        in_response_to=hub_request_id,
        now=now(),
    )
    authn = build_assertion(
        **common,
        credential=signer or p.idp_two.signing,
        level_of_assurance=level,
        attributes=[Attribute(c.TXN_IPADDRESS, ("192.0.2.10",))],
    )
    dataset = MatchingDataset(
        first_names=(MdsValue("Alex", verified=True),),
        surnames=(MdsValue("Example", verified=True),),
        date_of_birth=MdsValue(date(1980, 1, 2), verified=True),
        current_address=Address(lines=("1 Test Street",), postcode="ZZ1 1ZZ", verified=True),
    )
    mds = build_assertion(
        **common, credential=mds_signer or signer or p.idp_two.signing, attributes=mds_attributes(dataset)
    )
    certificate = p.non_matching_rp.encryption_certificate.certificate
    return [encrypt_assertion(a, certificate) for a in (authn, mds)]


# The standard profile's citizen as an IDP asserts her: an unverified first name, a closed surname, then
# the current one.
STANDARD_MDS = MatchingDataset(
    first_names=(MdsValue("Alice", False),),
    surnames=(MdsValue("Jones", True, to_date=date(2010, 1, 1)), MdsValue("Evans", True)),
    date_of_birth=MdsValue(date(1985, 3, 14), True),
    current_address=Address(lines=("12 Orchard Road", "Bristol"), postcode="BS7 8QT", verified=True),
)


def standard_response(p: Parties, rp: RelyingParty, request_id: str, **overrides) -> str:
    """The hub's standard Response for `rp`, built as the hub's front end builds it."""
    arguments = dict(
        rp=rp,
        hub_entity_id=p.config.hub.entity_id,
        credential=p.hub.signing,
        idp_entity_id=p.idp_two_entity_id,
        pid=IDP_PID,
        level=LevelOfAssurance.LEVEL_2,
        authn_instant=now(),
        matching_dataset=STANDARD_MDS,
        in_response_to=request_id,
        acs_url=rp.default_acs_url(),
        now=now(),
    )
    arguments.update(overrides)
    return encode_post(xmlsecurity.to_bytes(build_standard_response(**arguments)))


# --- reading the RP's pages -------------------------------------------------------------------------------

_HIDDEN = re.compile(r'<input type="hidden" name="(?P<name>[^"]+)" value="(?P<value>[^"]*)">')
_FORM_ACTION = re.compile(r'<form method="post" action="(?P<action>[^"]+)" data-federation-auto-submit>')


def hidden_fields(page: str) -> dict[str, str]:
    return {m["name"]: html.unescape(m["value"]) for m in _HIDDEN.finditer(page)}


def auto_post_action(page: str) -> str:
    found = _FORM_ACTION.search(page)
    assert found, "not an auto-post page"
    return html.unescape(found["action"])


@dataclass(frozen=True)
class SignIn:
    request_id: str
    relay_state: str
    authn_request: bytes  # the AuthnRequest XML as the hub receives it
    action: str


def start_sign_in(client, prefix: str = "") -> SignIn:
    """Go through the service page and /start as a browser would; return what went to the hub."""
    page = client.get(f"{prefix}/").get_data(as_text=True)
    token = hidden_fields(page)["csrf_token"]
    response = client.post(f"{prefix}/start", data={"csrf_token": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    posted = response.get_data(as_text=True)
    fields = hidden_fields(posted)
    xml = decode_post(fields["SAMLRequest"])
    request_id = xmlsecurity.parse_xml(xml).get("ID")
    return SignIn(request_id, fields["RelayState"], xml, auto_post_action(posted))


def csrf_token_of(client, prefix: str = "") -> str:
    """The form token on the service page, as a browser would read it."""
    return hidden_fields(client.get(f"{prefix}/").get_data(as_text=True))["csrf_token"]


def follow_redirects(client, response, *, limit: int = 5):
    """Follow the service's 303s as a browser would (GET, same cookies); returns the last response."""
    for _ in range(limit):
        if response.status_code not in (302, 303):
            return response
        response = client.get(response.headers["Location"])
    raise AssertionError("too many redirects")


def sign_in_matched(client, p: Parties, prefix: str = "") -> str:
    """A whole successful sign-in at test-rp through the service's pages; returns the signed-in page."""
    sign_in = start_sign_in(client, prefix)
    assertion = matching_service_assertion(p, in_response_to=sign_in.request_id)
    saml = hub_response(p, p.matching_rp, in_response_to=sign_in.request_id, assertions=[assertion])
    response = client.post(f"{prefix}/SAML2/SSO/POST", data={"SAMLResponse": saml, "RelayState": sign_in.relay_state})
    page = follow_redirects(client, response)
    assert page.status_code == 200 and 'id="identifier"' in page.get_data(as_text=True), page.get_data(as_text=True)
    return page.get_data(as_text=True)
