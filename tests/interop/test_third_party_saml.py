"""Proof with software nobody here wrote: python3-saml and pysaml2 services, and a pysaml2 identity provider,
through the real hub, matching service and local matcher.

One federation for the module, started as in production by the launcher, from a copy of the demo config
with four departments' `standard` services (python3-saml and pysaml2, each with and without the demo's
matching service) and an identity provider written with pysaml2 (tests/interop/apps). Each app runs in a
thread of this process on its own port on `localhost`, while the hub is on `127.0.0.1`: every POST between
them is cross-site. The apps read the hub from its signed federation metadata, pinning only the
metadata-signing certificate, and read the hub's Responses with their library's own API.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from flask import Flask, Response
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from saml2 import BINDING_HTTP_REDIRECT
from saml2.config import SPConfig
from saml2.sigver import SignatureError, get_xmlsec_binary

from federation.compliance.hub_role import HubRole, load_hub_role
from federation.compliance.idp_check import (
    ANSWERS,
    BROKEN_REQUESTS,
    AnswerScenario,
    AnswerSource,
    Collected,
    HubRequest,
    check_idp,
)
from federation.compliance.report import Row, Verdict, skipped
from federation.compliance.service_check import check_service
from federation.config import load_federation_config
from federation.credentials import load_certificate, load_signing_credential
from federation.launcher import Federation
from federation.loa import LevelOfAssurance
from federation.metadata import MetadataError, MetadataSource
from federation.saml import decode_post
from federation.saml.standard import pairwise_id
from tests.e2e.journey import IDP_ENTITY, IDP_TWO, at_idp_headless, choose, hub_response_page, idp_pid
from tests.interop import forged_metadata
from tests.interop.apps import pysaml2_idp, pysaml2_party, pysaml2_sp, python3_saml_sp
from tests.interop.apps.pysaml2_party import Party
from tests.interop.third_party_federation import (
    HUB_ENTITY_ID,
    MATCHING_SERVICE_ENTITY_ID,
    Department,
    ThirdPartyIdp,
    new_department,
    new_idp,
    serving_all,
)
from tests.support.browser_client import BrowserClient, Page
from tests.support.dev_pki import issue_keys
from tests.support.federation_under_test import demo_config_with, running_federation
from tests.support.self_signed import write_self_signed
from tests.support.serving import serving

pytestmark = [pytest.mark.e2e, pytest.mark.interop]  # pysaml2 runs the xmlsec1 command-line tool

LEVEL_2 = LevelOfAssurance.LEVEL_2.uri
# alice at Stub IDP Two (stub_idps/data/users.yaml), every value verified; she matches demo record D-1001
ALICE = {
    "first_name": ["Alice"],
    "middle_names": ["Jane"],
    "surname": ["Evans"],
    "date_of_birth": ["1985-03-14"],
    "gender": ["FEMALE"],
    "address_lines": ["12 Orchard Road", "Bristol"],
    "postcode": ["BS7 8QT"],
    "uprn": ["000000100001"],
}
# the same citizen at the pysaml2 identity provider, which holds no middle name and no UPRN for her
PYSAML2_IDP_CITIZEN = pysaml2_idp.Citizen(
    pid="pysaml2-idp-7f3c9a", first_name="Alice", surname="Evans", date_of_birth="1985-03-14",
    gender="FEMALE", address_lines=("12 Orchard Road", "Bristol"), postcode="BS7 8QT",
)  # fmt: skip


@dataclass(frozen=True)
class ThirdParties:
    """The running federation, its config with the third parties in it, and the parties themselves."""

    federation: Federation
    config_path: Path
    keys_dir: Path
    departments: dict[str, Department]
    idp: ThirdPartyIdp

    @property
    def metadata_url(self) -> str:
        return self.federation.urls["HUB_URL"] + "/SAML2/metadata/federation"


def party(registered: Department | ThirdPartyIdp, metadata_url: str, pinned: Sequence[Path]) -> Party:
    """A pysaml2 party's entity and keys, trusting the metadata signed with a pinned certificate."""
    signing, encryption = registered.signing, registered.encryption
    return Party(
        registered.entity_id, signing.key, signing.cert, encryption.key, encryption.cert, metadata_url, tuple(pinned)
    )


def department_app(department: Department, metadata_url: str, pinned: Path) -> Flask:
    """The department's app, as its library's documented API builds it, from the hub's signed metadata."""
    if department.library == "python3-saml":
        service = python3_saml_sp.Service(
            entity_id=department.entity_id,
            base_url=department.url,
            certificate_pem=department.encryption.cert.read_text(),
            private_key_pem=department.encryption.key.read_text(),
        )
        hub = python3_saml_sp.hub_from_metadata(metadata_url, [pinned.read_text()], HUB_ENTITY_ID)
        return python3_saml_sp.create_app(service, hub)
    service = pysaml2_sp.Service(party(department, metadata_url, [pinned]), department.url)
    return pysaml2_sp.create_app(service, HUB_ENTITY_ID)


@pytest.fixture(scope="module")
def third_parties(keys_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThirdParties]:
    var_dir = tmp_path_factory.mktemp("third-party-saml")
    own_keys = var_dir / "their-keys"  # not the keys directory: no process of ours holds these keys
    departments = {
        d.name: d
        for d in (
            new_department(keys_dir, own_keys, library, matching=matching)
            for library in ("python3-saml", "pysaml2")
            for matching in (False, True)
        )
    }
    idp = new_idp(keys_dir, own_keys)
    config_path = demo_config_with(
        var_dir / "federation-with-third-parties.yaml",
        relying_parties="".join(d.config_entry() for d in departments.values()),
        identity_providers=idp.config_entry(),
    )
    with running_federation(var_dir, keys_dir, FEDERATION_CONFIG=str(config_path)) as federation:
        parties = ThirdParties(federation, config_path, keys_dir, departments, idp)
        pinned = keys_dir / "metadata-signing.crt"
        apps = {d.port: department_app(d, parties.metadata_url, pinned) for d in departments.values()}
        apps[idp.port] = pysaml2_idp.create_app(
            pysaml2_idp.IdpSettings(
                party(idp, parties.metadata_url, [pinned]),
                sso_url=idp.sso_url,
                hub_entity_id=HUB_ENTITY_ID,
                users={"alice": PYSAML2_IDP_CITIZEN},
            )
        )
        with serving_all(apps):
            yield parties


# --- the journey, as a browser takes it ---------------------------------------------------------------------


def start(browser: BrowserClient, department: Department, binding: str) -> Page:
    """From the service's /sign-in to the hub's first page, checking the AuthnRequest travelled as asked."""
    page = browser.get(f"{department.url}/sign-in?binding={binding}")
    if binding == "post":
        page = browser.submit(page, page.form())  # the service's page posts its AuthnRequest, cross-site
        assert any(e.method == "POST" and e.url.endswith("/SAML2/SSO") for e in browser.exchanges)
    else:
        assert any(
            e.method == "GET" and "/SAML2/SSO?SAMLRequest=" in e.url and "&Signature=" in e.url
            for e in browser.exchanges
        )
    assert page.status == 200, (page.url, page.status, page.text[:300])
    return page


def at_pysaml2_idp(browser: BrowserClient, page: Page, idp: ThirdPartyIdp, username: str) -> Page:
    """The hub's page posts its AuthnRequest to the pysaml2 IDP; the citizen signs in; its Response is posted."""
    page = choose(browser, page, idp.display_name)
    page = browser.auto_submit(page)  # the hub's AuthnRequest, cross-site to the IDP
    assert page.status == 200 and page.url.split("?lang=")[0] == idp.sso_url, (page.url, page.status, page.text[:300])
    page = browser.submit(page, page.form(), {"username": username})
    return browser.submit(page, page.form())  # pysaml2's page posts the Response to the hub, cross-site


def back_to(browser: BrowserClient, page: Page, department: Department) -> dict:
    """Through the hub's remaining pages to the service's ACS, then the service's answer to this browser."""
    page = hub_response_page(browser, page)  # the citizen agrees to what the service will receive
    while page.form(auto=True).get("action") != f"{department.url}/acs":
        page = browser.auto_submit(page)
    page = browser.auto_submit(page)  # the hub's Response, cross-site; the service redirects to /signed-in
    assert page.status == 200 and page.url == f"{department.url}/signed-in", (page.url, page.status, page.text[:500])
    return json.loads(page.text)


def sign_in(browser: BrowserClient, department: Department, binding: str) -> dict:
    page = choose(browser, start(browser, department, binding), IDP_TWO)
    return back_to(browser, at_idp_headless(browser, page, "alice"), department)


def expected_id(idp_entity_id: str, pid: str, department: Department) -> str:
    """docs/saml-profiles.md: pairwise per service, or the matching service's hashed PID."""
    return pairwise_id(idp_entity_id, MATCHING_SERVICE_ENTITY_ID if department.matching else department.entity_id, pid)


def released(department: Department, citizen: dict[str, list[str]]) -> dict[str, list[str]]:
    """What the service should read: its attributes the citizen has, each with its `_verified` companion."""
    expected = {}
    for name in department.attributes:
        if name in citizen:
            expected |= {name: citizen[name], f"{name}_verified": ["true"]}
    return expected | ({"matching_outcome": ["match"]} if department.matching else {})


# --- the services ----------------------------------------------------------------------------------------------

SERVICES = [
    f"{library}-{journey}" for library in ("python3-saml", "pysaml2") for journey in ("non-matching", "matching")
]


@pytest.mark.parametrize("binding", ["redirect", "post"])
@pytest.mark.parametrize("service", SERVICES)
def test_a_third_party_service_signs_alice_in(third_parties: ThirdParties, service: str, binding: str) -> None:
    department = third_parties.departments[service]
    answer = sign_in(BrowserClient(), department, binding)
    assert answer["id"] == expected_id(IDP_ENTITY["stub-idp-two"], idp_pid("stub-idp-two", "alice"), department)
    assert answer["level"] == [LEVEL_2]
    assert answer["attributes"] == released(department, ALICE)


# --- the pysaml2 identity provider -----------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["python3-saml-non-matching", "pysaml2-matching"])
def test_a_citizen_signs_in_through_the_pysaml2_identity_provider(third_parties: ThirdParties, service: str) -> None:
    department, idp = third_parties.departments[service], third_parties.idp
    browser = BrowserClient()
    page = at_pysaml2_idp(browser, start(browser, department, "redirect"), idp, "alice")
    answer = back_to(browser, page, department)
    assert answer["id"] == expected_id(idp.entity_id, PYSAML2_IDP_CITIZEN.pid, department)
    assert answer["level"] == [LEVEL_2]
    citizen = {k: v for k, v in ALICE.items() if k not in ("middle_names", "uprn")}
    assert answer["attributes"] == released(department, citizen)


# --- the hub's signed federation metadata, as each library loads it -------------------------------------------

FORGERIES = ("changed-after-signing", "signed-by-another-federation-key", "signature-removed", "signed-content-wrapped")


@dataclass(frozen=True)
class MetadataCopies:
    """The hub's metadata and forged copies of it, each served at a URL of its own."""

    urls: dict[str, str]
    attacker: x509.Certificate
    next_signing: Path  # the certificate of the next metadata-signing key, for a rotation


@pytest.fixture(scope="module")
def metadata_copies(
    third_parties: ThirdParties, keys_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MetadataCopies]:
    directory = tmp_path_factory.mktemp("metadata-copies")
    genuine = requests.get(third_parties.metadata_url, timeout=10).content
    _, attacker_cert = write_self_signed(directory, "attacker")
    attacker = load_certificate(attacker_cert)
    hub_key = load_signing_credential(keys_dir / "hub-signing.key", keys_dir / "hub-signing.crt")
    next_key, next_cert = issue_keys(keys_dir, directory, "metadata-signing-next", ca="metadata-ca", usage="signing")
    chain = [load_certificate(keys_dir / "metadata-ca.crt")]
    documents = {
        "genuine": genuine,
        "changed-after-signing": forged_metadata.changed(genuine, HUB_ENTITY_ID),
        "signed-by-another-federation-key": forged_metadata.resigned(
            forged_metadata.changed(genuine, HUB_ENTITY_ID), hub_key, chain, hub_entity_id=HUB_ENTITY_ID
        ),
        "signature-removed": forged_metadata.unsigned(genuine, HUB_ENTITY_ID),
        "signed-content-wrapped": forged_metadata.wrapped(genuine, HUB_ENTITY_ID, attacker),
        # what the hub serves once the operator has switched to the next metadata-signing key
        "signed-with-the-next-key": forged_metadata.resigned(
            genuine, load_signing_credential(next_key, next_cert), chain, hub_entity_id=HUB_ENTITY_ID
        ),
    }
    app = Flask("metadata-copies")

    @app.get("/<name>")
    def document(name: str) -> Response:
        return Response(documents[name], mimetype="application/samlmetadata+xml")

    with serving(app) as url:
        yield MetadataCopies({name: f"{url}/{name}" for name in documents}, attacker, next_cert)


def python3_saml_loads(url: str, pinned: Sequence[Path]) -> str:
    """The python3-saml service's loader; the hub's SSO URL it read."""
    hub = python3_saml_sp.hub_from_metadata(url, [path.read_text() for path in pinned], HUB_ENTITY_ID)
    return hub["idp"]["singleSignOnService"]["url"]


def pysaml2_loads(department: Department, url: str, pinned: Sequence[Path]) -> str:
    """The pysaml2 service's loader; the hub's SSO URL it read."""
    config = pysaml2_sp.sp_config(pysaml2_sp.Service(party(department, url, pinned), department.url))
    return config.metadata.single_sign_on_service(HUB_ENTITY_ID, BINDING_HTTP_REDIRECT)[0]["location"]


def loads(library: str, third_parties: ThirdParties, url: str, pinned: Sequence[Path]) -> str:
    if library == "python3-saml":
        return python3_saml_loads(url, pinned)
    return pysaml2_loads(third_parties.departments["pysaml2-non-matching"], url, pinned)


@pytest.mark.parametrize("library", ["python3-saml", "pysaml2"])
def test_each_library_loads_the_genuine_metadata_pinning_the_metadata_signing_certificate(
    third_parties: ThirdParties, metadata_copies: MetadataCopies, keys_dir: Path, library: str
) -> None:
    """The same copy, served the same way as the forgeries below: their refusals are not the server's doing."""
    hub_sso_url = third_parties.federation.urls["HUB_URL"] + "/SAML2/SSO"
    assert (
        loads(library, third_parties, metadata_copies.urls["genuine"], [keys_dir / "metadata-signing.crt"])
        == hub_sso_url
    )


@pytest.mark.parametrize("forgery", FORGERIES)
@pytest.mark.parametrize("library", ["python3-saml", "pysaml2"])
def test_each_library_refuses_forged_metadata(
    third_parties: ThirdParties, metadata_copies: MetadataCopies, keys_dir: Path, library: str, forgery: str
) -> None:
    refused = (python3_saml_sp.MetadataRefused, pysaml2_party.MetadataRefused, SignatureError)
    with pytest.raises(refused) as raised:
        loads(library, third_parties, metadata_copies.urls[forgery], [keys_dir / "metadata-signing.crt"])
    if forgery == "signed-content-wrapped":  # the signature verifies: only the services' own check refuses it
        assert str(raised.value).startswith("the signature does not cover the whole document")
    if library == "pysaml2" and forgery == "signature-removed":  # pysaml2 loads it: the service refuses it
        assert str(raised.value).startswith("unsigned metadata from ")


def test_python3_saml_alone_takes_the_hub_from_wrapped_metadata(
    metadata_copies: MetadataCopies, keys_dir: Path
) -> None:
    """Why the python3-saml service checks what the signature covers: `validate_metadata_sign` says the
    wrapped document is signed, and `IdPMetadataParser` then reads the forged hub, the attacker's key
    included (docs/saml-profiles.md)."""
    xml = OneLogin_Saml2_IdPMetadataParser.get_metadata(metadata_copies.urls["signed-content-wrapped"])
    pinned = (keys_dir / "metadata-signing.crt").read_text()
    assert OneLogin_Saml2_Utils.validate_metadata_sign(xml, cert=pinned, raise_exceptions=True)
    hub = OneLogin_Saml2_IdPMetadataParser.parse(xml, entity_id=HUB_ENTITY_ID)["idp"]
    assert hub["singleSignOnService"]["url"] == forged_metadata.ATTACKER_SSO_URL
    assert hub["x509cert"] == base64.b64encode(metadata_copies.attacker.public_bytes(Encoding.DER)).decode()


@pytest.mark.parametrize("forgery", ["signature-removed", "signed-content-wrapped"])
def test_pysaml2_alone_takes_the_hub_from_unsigned_or_wrapped_metadata(
    metadata_copies: MetadataCopies, keys_dir: Path, forgery: str
) -> None:
    """Why the pysaml2 parties check that the document is signed and what the signature covers: pysaml2's
    `remote` metadata with the `cert` pinned loads both (IdentityPython/pysaml2#1037, docs/saml-profiles.md)."""
    config = SPConfig()
    config.load(
        {
            "entityid": "https://a-department.test",
            "xmlsec_binary": get_xmlsec_binary(["/usr/bin"]),
            "metadata": {
                "remote": [{"url": metadata_copies.urls[forgery], "cert": str(keys_dir / "metadata-signing.crt")}]
            },
        }
    )
    sso = config.metadata.single_sign_on_service(HUB_ENTITY_ID, BINDING_HTTP_REDIRECT)
    assert [endpoint["location"] for endpoint in sso] == [forged_metadata.ATTACKER_SSO_URL]


@pytest.mark.parametrize("library", ["python3-saml", "pysaml2"])
def test_a_rotation_of_the_metadata_signing_key(
    third_parties: ThirdParties, metadata_copies: MetadataCopies, keys_dir: Path, library: str
) -> None:
    """docs/saml-profiles.md: a department pins the current and the next certificate during the overlap,
    so it reads the metadata before and after the operator's switch; then it drops the current one."""
    current, upcoming = keys_dir / "metadata-signing.crt", metadata_copies.next_signing
    before, after = metadata_copies.urls["genuine"], metadata_copies.urls["signed-with-the-next-key"]
    hub_sso_url = third_parties.federation.urls["HUB_URL"] + "/SAML2/SSO"
    refused = (python3_saml_sp.MetadataRefused, SignatureError)
    with pytest.raises(refused):  # announced, not yet pinned: a department that has not added it yet
        loads(library, third_parties, after, [current])
    for url in (before, after):  # the overlap: both pinned
        assert loads(library, third_parties, url, [current, upcoming]) == hub_sso_url
    assert loads(library, third_parties, after, [upcoming]) == hub_sso_url  # the current one dropped
    with pytest.raises(refused):
        loads(library, third_parties, before, [upcoming])


def test_the_federations_own_parties_need_no_new_pin_for_a_rotation(
    third_parties: ThirdParties, metadata_copies: MetadataCopies
) -> None:
    """The hub's client library, the stub IDPs and matching services trust metadata through the metadata CA,
    so the next key's document reads as the current one did, and every forgery above is refused."""
    config = load_federation_config(
        third_parties.config_path, keys_dir=third_parties.keys_dir, variables=third_parties.federation.env
    )

    def read(name: str) -> MetadataSource:
        """Our parties' reader, fetching the named copy."""
        copy = metadata_copies.urls[name]
        return MetadataSource.for_config(config, fetch=lambda _, timeout: requests.get(copy, timeout=timeout).content)

    for name in ("genuine", "signed-with-the-next-key"):
        assert read(name).current.hub.sso_url == third_parties.federation.urls["HUB_URL"] + "/SAML2/SSO"
    for name in FORGERIES:
        with pytest.raises(MetadataError, match="no valid federation metadata"):
            read(name).current


# --- the compliance tool, against software written without it ---------------------------------------------------


def hub_role(third_parties: ThirdParties) -> HubRole:
    """The operator's view: this federation's config and URLs, and the hub's keys."""
    federation = third_parties.federation
    return load_hub_role(
        {**federation.urls, "FEDERATION_CONFIG": str(third_parties.config_path)}, keys_dir=third_parties.keys_dir
    )


@pytest.mark.parametrize("service", SERVICES)
def test_check_service_passes_each_third_party_service(third_parties: ThirdParties, service: str) -> None:
    """Without a matching service from the service's home page (a GET "Sign in" form, then the Redirect
    binding); with one from the sign-in that posts its AuthnRequest."""
    department = third_parties.departments[service]
    start = f"{department.url}/sign-in?binding=post" if department.matching else None
    role = hub_role(third_parties)
    report = check_service(role, role.relying_party(department.name), start_url=start)
    assert [row for row in report.rows if row.verdict is not Verdict.PASS] == []
    rows = {row.scenario: row for row in report.rows}
    assert rows["success"].happened == "accepted (HTTP 303 to /signed-in, then HTTP 200)"
    for refused in ("bad-signature", "wrong-audience", "wrong-destination", "expired", "wrong-in-response-to"):
        assert rows[refused].happened == "refused (HTTP 403)", rows[refused]
    assert rows["replayed"].expected == "refused: the accepted success Response again"
    assert rows["replayed"].happened == "refused (HTTP 403)"
    assert ("no-match" in rows) is department.matching and len(rows) == 11 + department.matching


@dataclass
class SignInAtThePysaml2Idp(AnswerSource):
    """The pysaml2 IDP has no test hook: the tool's request is posted to its SSO URL and a test user signs
    in, as a tester would in a browser (docs/idp-profile.md, saved Responses). It answers success only."""

    sso_url: str
    username: str = "alice"
    description: str = "the pysaml2 IDP's sign-in page"

    def collect(self, scenario: AnswerScenario, new_request: Callable[[], HubRequest]) -> Collected | Row:
        if scenario.name != "success":
            return skipped(scenario.name, scenario.status, "the pysaml2 test IDP answers success only")
        request, browser = new_request(), BrowserClient()
        page = browser.post(self.sso_url, request.form)
        page = browser.submit(page, page.form(), {"username": self.username})
        fields = {field.get("name"): field.get("value") for field in page.form().xpath(".//input[@name]")}
        assert fields["RelayState"] == request.relay_state
        return Collected(request.id, decode_post(fields["SAMLResponse"]), datetime.now(UTC))


def test_check_idp_passes_the_pysaml2_identity_provider(third_parties: ThirdParties) -> None:
    """The hub's correct request accepted, every broken one refused with a 4xx (what pysaml2 checks, and the
    replay the app checks), and the success read by the hub's own code."""
    role = hub_role(third_parties)
    idp = role.identity_provider(third_parties.idp.name)
    report = check_idp(role, idp, SignInAtThePysaml2Idp(idp.sso_url))
    rows = {row.scenario: row for row in report.rows}
    assert report.ok, [row for row in report.rows if row.verdict is Verdict.FAIL]
    assert [name for name, row in rows.items() if row.verdict is Verdict.PASS] == [
        "request-valid",
        *(s.name for s in BROKEN_REQUESTS),
        "request-replayed",
        "success",
    ]
    assert rows["success"].happened == "accepted by the hub's checks: success at LEVEL_2"
    assert all(rows[s.name].verdict is Verdict.SKIP for s in ANSWERS if s.name != "success")


def test_the_federation_logged_no_personal_data(third_parties: ThirdParties) -> None:
    """Last in the module, after every journey above: no value of the citizen's dataset and no identity
    provider's PID in the federation's logs and audit events (audit events hold hashed PIDs only)."""
    personal = {value for values in ALICE.values() for value in values if len(value) >= 4}
    personal |= {PYSAML2_IDP_CITIZEN.pid, idp_pid("stub-idp-two", "alice")}
    log_dir = third_parties.federation.log_dir
    audit = log_dir.parent / "audit.jsonl"
    assert audit.stat().st_size > 0
    found = [
        (path.name, value)
        for path in (audit, *sorted(log_dir.glob("*.log")))
        for value in personal
        if value in path.read_text(errors="replace")
    ]
    assert found == []
