"""A matching service under a real HTTP server (its local matcher built in, or under another server behind the
bearer token), and the hub, IDP and RP around it built from real keys.

The inbound messages are made the way the real parties make them: the stub IDP's two assertions (signed
with stub-idp-two's key from the development PKI, encrypted for the MS), carried in an AttributeQuery that
the hub signs, in a SOAP envelope. The replies are read as the hub reads them, and the MS's assertion as
the RP reads it (decrypted with test-rp's key, signature checked with the MS certificate from config).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import yaml
from werkzeug.serving import make_server

from federation import xmlsecurity
from federation.config import FederationConfig, load_federation_config
from federation.credentials import EntityCredentials, load_certificate, load_entity_credentials, load_signing_credential
from federation.loa import LevelOfAssurance
from federation.metadata import build_federation_metadata
from federation.runtime import Runtime
from federation.saml import soap
from federation.saml.assertion import (
    Address,
    AssertionData,
    Attribute,
    MatchingDataset,
    MdsValue,
    build_assertion,
    mds_attributes,
    parse_assertion,
)
from federation.saml.attribute_query import build_attribute_query
from federation.saml.ids import new_id, now_utc
from federation.saml.response import (
    ResponseData,
    decrypt_assertion,
    encrypt_assertion,
    parse_response,
    reencrypt_assertion,
)
from matching_service import local_matcher_app
from matching_service.app import create_app

REPO = Path(__file__).resolve().parents[3]
USERS_YAML = REPO / "stub_idps" / "data" / "users.yaml"
DEMO_RECORDS = REPO / "matching_service" / "demo" / "records.csv"
IDP_NAME = "stub-idp-two"
LOCAL_MATCHING_TOKEN = "ms-saml-tests-local-matching-token-" + "k" * 16


def users() -> dict[str, dict[str, Any]]:
    return {u["username"]: u for u in yaml.safe_load(USERS_YAML.read_text(encoding="utf-8"))["users"]}


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _value(entry: dict[str, Any], convert=str) -> MdsValue:
    return MdsValue(convert(entry["value"]), entry["verified"], _date(entry.get("from")), _date(entry.get("to")))


def _address(entry: dict[str, Any]) -> Address:
    return Address(
        lines=tuple(entry["lines"]),
        postcode=entry.get("postcode"),
        uprn=entry.get("uprn"),
        verified=entry["verified"],
        from_date=_date(entry.get("from")),
        to_date=_date(entry.get("to")),
    )


def dataset_for(user: dict[str, Any]) -> MatchingDataset:
    """What a stub IDP asserts for a users.yaml test user."""
    mds = user["matching_dataset"]
    return MatchingDataset(
        first_names=(_value(mds["first_name"]),) if "first_name" in mds else (),
        middle_names=(_value(mds["middle_names"]),) if "middle_names" in mds else (),
        surnames=tuple(_value(s) for s in mds.get("surnames", [])),
        gender=_value(mds["gender"]) if "gender" in mds else None,
        date_of_birth=_value(mds["date_of_birth"], date.fromisoformat) if "date_of_birth" in mds else None,
        current_address=_address(mds["current_address"]) if "current_address" in mds else None,
        previous_addresses=tuple(_address(a) for a in mds.get("previous_addresses", [])),
    )


def pid_for(username: str, idp: str = IDP_NAME) -> str:
    """The stub IDPs' PID rule (users.yaml)."""
    return hashlib.sha256(f"{idp}:{username}".encode()).hexdigest()


@dataclass
class Harness:
    """The MS under test at `url`, and every other party's keys and endpoints."""

    url: str
    config: FederationConfig
    keys_dir: Path
    app: Any

    # --- parties ---------------------------------------------------------------------------------------

    def keys(self, name: str) -> EntityCredentials:
        return load_entity_credentials(self.keys_dir, name)

    @property
    def ms(self):
        return self.config.matching_services[0]

    @property
    def rp(self):
        return self.config.relying_party("https://test-rp.federation.test")

    def idp(self, name: str = IDP_NAME):
        return next(idp for idp in self.config.identity_providers if idp.name == name)

    # --- inbound messages ------------------------------------------------------------------------------

    def idp_assertions(
        self,
        user: dict[str, Any],
        *,
        idp: str = IDP_NAME,
        signing_credential=None,
        now: datetime | None = None,
        hub_request_id: str | None = "_hub-authn-request",
        level: LevelOfAssurance | None = None,
        audience: str | None = None,
        recipient: str | None = None,
    ) -> list[bytes]:
        """The IDP's authn and MDS assertions for the hub, as plaintext bytes (what the hub decrypted)."""
        now = now or now_utc()
        common = dict(
            issuer=self.idp(idp).entity_id,
            name_id=pid_for(user["username"], idp),
            audience=audience or self.config.hub.entity_id,
            recipient=recipient or self.config.hub.response_url,
            in_response_to=hub_request_id,
            credential=signing_credential or self.keys(idp).signing,
            now=now,
        )
        authn = build_assertion(
            level_of_assurance=level or LevelOfAssurance[user["level_of_assurance"]],
            attributes=(Attribute("TXN_IPaddress", ("192.0.2.1",)),),
            **common,
        )
        mds = build_assertion(attributes=mds_attributes(dataset_for(user)), **common)
        return [xmlsecurity.to_bytes(authn), xmlsecurity.to_bytes(mds)]

    def cycle3_assertion(self, user: dict[str, Any], value: str, *, query_id: str, destination: str, idp=IDP_NAME):
        assertion = build_assertion(
            issuer=self.config.hub.entity_id,
            name_id=pid_for(user["username"], idp),
            audience=self.ms.entity_id,
            recipient=destination,
            in_response_to=query_id,
            credential=self.keys("hub").signing,
            now=now_utc(),
            attributes=(Attribute(self.rp.cycle3_attribute.name, (value,)),),
        )
        return encrypt_assertion(assertion, self.ms.encryption_certificate.certificate)

    def query(
        self,
        user: dict[str, Any],
        *,
        account_creation: bool = False,
        plaintexts: Sequence[bytes] | None = None,
        hub_credential=None,
        query_id: str | None = None,
        cycle3: str | None = None,
        requested: Sequence[str] = (),
        name_id: str | None = None,
        idp: str = IDP_NAME,
    ):
        """(query ID, rp request ID, SOAP bytes) of a hub-signed AttributeQuery for this user."""
        now = now_utc()
        query_id = query_id or new_id()
        destination = self.ms.account_creation_url if account_creation else self.ms.attribute_query_url
        plaintexts = plaintexts or self.idp_assertions(user, idp=idp)
        encrypted = [encrypt_for(p, self.ms.encryption_certificate.certificate) for p in plaintexts]
        rp_request_id = new_id()
        query = build_attribute_query(
            issuer=self.config.hub.entity_id,
            destination=destination,
            name_id=name_id or pid_for(user["username"], idp),
            sp_name_qualifier=self.rp.entity_id,
            rp_acs_url=self.rp.default_acs_url(),
            rp_request_id=rp_request_id,
            not_on_or_after=now + timedelta(minutes=5),
            encrypted_assertions=encrypted,
            credential=hub_credential or self.keys("hub").signing,
            now=now,
            cycle3_assertion=(
                self.cycle3_assertion(user, cycle3, query_id=query_id, destination=destination, idp=idp)
                if cycle3
                else None
            ),
            requested_attributes=requested,
            query_id=query_id,
        )
        return query_id, rp_request_id, soap.wrap(query)

    # --- talking to the MS -----------------------------------------------------------------------------

    def post(self, path: str, body: bytes) -> requests.Response:
        return requests.post(self.url + path, data=body, headers={"Content-Type": soap.CONTENT_TYPE}, timeout=10)

    def ask(self, body: bytes, *, account_creation: bool = False) -> requests.Response:
        return self.post("/unknown-user-attribute-query" if account_creation else "/matching-service/POST", body)

    def read_reply(self, http: requests.Response, query_id: str) -> ResponseData:
        """The reply as the hub reads it: MS signature from config, InResponseTo = the query ID."""
        assert http.status_code == 200, http.text
        return parse_response(
            soap.unwrap(http.content),
            certificates_for_issuer=lambda issuer: [c.certificate for c in self.config.entity_certificates(issuer)],
            expected_destination=None,
            expected_in_response_to=query_id,
            expected_audience=self.config.hub.entity_id,
            now=now_utc(),
        )

    def rp_reads(self, reply: ResponseData, rp_request_id: str) -> AssertionData:
        """The MS assertion as the RP reads it: decrypted with test-rp's key, MS signature from config."""
        assert len(reply.encrypted_assertions) == 1
        decrypted = decrypt_assertion(
            xmlsecurity.parse_xml(reply.encrypted_assertions[0]), [self.keys("test-rp").encryption]
        )
        return parse_assertion(
            decrypted.element,
            certificates_for_issuer=lambda issuer: (
                [c.certificate for c in self.config.entity_certificates(issuer)] if issuer == self.ms.entity_id else []
            ),
            expected_audience=self.rp.entity_id,
            expected_recipient=self.rp.default_acs_url(),
            expected_in_response_to=rp_request_id,
            now=now_utc(),
            expect_authn_statement=True,
        )


def encrypt_for(plaintext: bytes, certificate):
    """The hub's relay: the IDP's assertion bytes, untouched, encrypted for the MS."""
    return reencrypt_assertion(plaintext, certificate)


def signed_federation_metadata(config: FederationConfig, keys_dir: Path) -> bytes:
    metadata_key = load_signing_credential(keys_dir / "metadata-signing.key", keys_dir / "metadata-signing.crt")
    return build_federation_metadata(config, metadata_key, chain=[load_certificate(keys_dir / "metadata-ca.crt")])


@contextmanager
def running_matching_service(
    keys_dir: Path,
    var_dir: Path,
    *,
    environ: dict[str, str] | None = None,
    config_transform: Callable[[FederationConfig], FederationConfig] | None = None,
    metadata_fetch: Callable[[str, float], bytes] | None = None,
    separate_local_matcher: bool = True,
) -> Iterator[Harness]:
    """The MS app under a real threaded server on a free port, its config pointing at that port. Its local
    matcher (over the demo records in `var_dir`) is the local matcher process's app under another server,
    both given the same token; or, without `separate_local_matcher`, the built-in one in process."""
    holder: dict[str, Any] = {}
    server = make_server("127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    servers = [server]
    if separate_local_matcher:
        matcher_server = make_server("127.0.0.1", 0, lambda env, start: holder["matcher"](env, start), threaded=True)
        servers.append(matcher_server)
        matcher_url = f"http://127.0.0.1:{matcher_server.server_port}/local-matching"
    else:
        matcher_url = "builtin:"
    variables = {"MS_URL": url, "LOCAL_MATCHING_URL": matcher_url}
    config = load_federation_config(
        REPO / "federation" / "demo" / "federation.yaml", keys_dir=keys_dir, variables=variables
    )
    metadata = signed_federation_metadata(config, keys_dir)
    if config_transform is not None:
        config = config_transform(config)

    def fetch(metadata_url: str, timeout: float) -> bytes:
        return metadata

    env = {
        "MATCHING_SERVICE_IMPORT_CSV": str(DEMO_RECORDS),
        "LOCAL_MATCHING_TOKEN": LOCAL_MATCHING_TOKEN,
        **variables,
        **(environ or {}),
    }
    runtime = Runtime(config=config, keys_dir=keys_dir, var_dir=var_dir, environ=env)
    if separate_local_matcher:
        holder["matcher"] = local_matcher_app.create_app(runtime)
    app = create_app(runtime, metadata_fetch=metadata_fetch or fetch)
    holder["app"] = app
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield Harness(url=url, config=config, keys_dir=keys_dir, app=app)
    finally:
        for s, thread in zip(servers, threads, strict=True):
            s.shutdown()
            thread.join(5)
