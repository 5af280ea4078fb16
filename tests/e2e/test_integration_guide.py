"""The integration guide's three example services, as written in docs/examples, through the real hub.

A copy of the demo federation registers the two SAML ones as `standard` services of their own (their entity
IDs, their ACS on their own ports, `key_transport: rsa-oaep`) and the OpenID Connect one as a client (its
redirect URI on its own port, the example client's JWK Set); the federation runs as real processes and each example app
in a thread of this process on a free port, on `localhost` while the hub is on `127.0.0.1`: the hub's
POST to the app is cross-site, as in life. Nothing of the examples is replaced: the test gives each app
its settings, as a department would, with the hub's details read from the signed federation metadata.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from federation.config import FederationConfig, load_federation_config
from federation.jose import load_signing_key
from federation.launcher import Federation, free_port
from federation.loa import LevelOfAssurance
from federation.metadata import HubMetadata, MetadataSource
from federation.saml.standard import pairwise_id
from hub_client import HubClient
from tests.e2e.journey import (
    IDP_ENTITY,
    IDP_TWO,
    agree_to_release,
    at_idp_headless,
    choose,
    hub_response_page,
    idp_pid,
)
from tests.support.browser_client import BrowserClient, Page
from tests.support.examples import load_example
from tests.support.federation_under_test import demo_config_with, running_federation
from tests.support.serving import serving

pytestmark = pytest.mark.e2e

ATTRIBUTES = ("first_name", "surname", "date_of_birth")


@dataclass(frozen=True)
class Department:
    """One example service: its name and entity ID in the federation, its keys, and where it listens."""

    name: str
    entity_id: str
    port: int
    signing_certificate: str  # python3-saml signs with the key it decrypts with

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def config_entry(self) -> str:
        return f"""
  - name: {self.name}
    entity_id: {self.entity_id}
    display_name: {{en: {self.name}, cy: {self.name}}}
    saml_profile: standard
    key_transport: rsa-oaep
    attributes: [{", ".join(ATTRIBUTES)}]
    assertion_consumer_services:
      - {{index: 0, url: "{self.url}/acs", is_default: true}}
    levels_of_assurance: [LEVEL_1, LEVEL_2]
    service_home_url: {self.url}/
    other_ways: {{en: Apply by post., cy: Gwnewch gais drwy'r post.}}
    signing_certificates: [{self.signing_certificate}]
    encryption_certificate: test-rp-encryption.crt
"""


PYTHON3_SAML = Department(
    "python3-saml-department", "https://python3-saml.department.test", free_port(), "test-rp-encryption.crt"
)
HUB_CLIENT = Department(
    "hub-client-department", "https://hub-client.department.test", free_port(), "test-rp-signing.crt"
)
OIDC_PORT = free_port()
OIDC_CLIENT = f"""  - name: oidc-department
    client_id: oidc-department
    display_name: {{en: An OIDC department, cy: Adran OIDC}}
    redirect_uris: ["http://localhost:{OIDC_PORT}/callback"]
    jwks: test-rp-oidc-client.jwks.json
    sector_identifier: https://oidc.department.test
    vectors_of_trust: [Cl.Cm.P2, Cl.Cm]
    claims: [given_name, family_name, birthdate]
    return_codes: true
    service_home_url: http://localhost:{OIDC_PORT}/
    other_ways: {{en: Apply by post., cy: Gwnewch gais drwy'r post.}}
"""


@pytest.fixture(scope="module")
def guide_federation(keys_dir, tmp_path_factory) -> Iterator[tuple[Federation, FederationConfig]]:
    """The demo federation with the two example services added, running; and its config as they read it."""
    var_dir = tmp_path_factory.mktemp("integration-guide")
    config_path = demo_config_with(
        var_dir / "federation-with-departments.yaml",
        relying_parties=PYTHON3_SAML.config_entry() + HUB_CLIENT.config_entry(),
        oidc_clients=OIDC_CLIENT,
    )
    with running_federation(var_dir, keys_dir, FEDERATION_CONFIG=str(config_path)) as running:
        yield running, load_federation_config(config_path, keys_dir=keys_dir, variables=running.env)


@pytest.fixture(scope="module")
def metadata(guide_federation) -> Iterator[MetadataSource]:
    """The federation metadata fetched from the running hub and verified, as a department reads it."""
    source = MetadataSource.for_config(guide_federation[1])
    yield source
    source.stop()


@pytest.fixture(scope="module")
def python3_saml_service(guide_federation, metadata, keys_dir) -> Iterator[ModuleType]:
    example = load_example("python3_saml_app")
    hub: HubMetadata = metadata.current.hub
    example.app.secret_key = secrets.token_bytes(32)
    example.app.config["SAML"] = load_example("python3_saml_settings").saml_settings(
        entity_id=PYTHON3_SAML.entity_id,
        acs_url=f"{PYTHON3_SAML.url}/acs",
        certificate_pem=(keys_dir / "test-rp-encryption.crt").read_text(),
        private_key_pem=(keys_dir / "test-rp-encryption.key").read_text(),
        hub_entity_id=hub.entity_id,
        hub_sso_url=hub.sso_url,
        hub_certificate_pem=hub.signing_certificates[0].public_bytes(Encoding.PEM).decode(),
    )
    with serving(example.app, PYTHON3_SAML.port):
        yield example


@pytest.fixture(scope="module")
def hub_client_service(guide_federation, metadata, keys_dir) -> Iterator[ModuleType]:
    example = load_example("hub_client_app")
    example.app.secret_key = secrets.token_bytes(32)
    config = guide_federation[1]
    example.app.config["HUB"] = HubClient.for_service(
        config, HUB_CLIENT.name, keys_dir, keys_name="test-rp", metadata_source=metadata
    )
    with serving(example.app, HUB_CLIENT.port):
        yield example


@pytest.fixture(scope="module")
def oidc_service(guide_federation, keys_dir) -> Iterator[ModuleType]:
    example = load_example("oidc_app")
    example.app.secret_key = secrets.token_bytes(32)
    example.app.config.update(
        HUB_URL=guide_federation[0].urls["HUB_URL"],
        CLIENT_ID="oidc-department",
        CLIENT_KEY=load_signing_key(keys_dir / "test-rp-oidc-client.key").jwk,
    )
    example.register(example.app)
    with serving(example.app, OIDC_PORT):
        yield example


@pytest.fixture
def department(request) -> Department:
    """Each example service in turn, running."""
    request.getfixturevalue(request.param)
    return PYTHON3_SAML if request.param == "python3_saml_service" else HUB_CLIENT


BOTH = pytest.mark.parametrize("department", ["python3_saml_service", "hub_client_service"], indirect=True)


# --- the journey, as a browser takes it ---------------------------------------------------------------------


def to_the_service(browser: BrowserClient, department: Department, outcome: str = "success") -> Page:
    """From the service's /sign-in (redirected to the hub) to the hub's page that posts its Response back."""
    page = browser.get(department.url + "/sign-in")  # the Redirect binding: a GET to the hub's SSO URL
    assert any(
        exchange.method == "GET" and "/SAML2/SSO?SAMLRequest=" in exchange.url and "&Signature=" in exchange.url
        for exchange in browser.exchanges
    )
    page = choose(browser, page, IDP_TWO)
    page = at_idp_headless(browser, page, "alice", outcome=outcome)
    if outcome != "success":
        page = browser.submit(page, page.form(button="Return to"))
    else:
        page = hub_response_page(browser, page)  # the citizen agrees to what the service receives
    while page.form(auto=True).get("action") != f"{department.url}/acs":
        page = browser.auto_submit(page)
    return page


def answer_of(page: Page) -> dict:
    assert page.status == 200, (page.url, page.status, page.text[:500])
    return json.loads(page.text)


def alice_at(department: Department) -> str:
    return pairwise_id(IDP_ENTITY["stub-idp-two"], department.entity_id, idp_pid("stub-idp-two", "alice"))


# --- what the examples do --------------------------------------------------------------------------------------


def test_python3_saml_signs_alice_in(python3_saml_service):
    browser = BrowserClient()
    answer = answer_of(browser.auto_submit(to_the_service(browser, PYTHON3_SAML)))
    assert answer.pop("id") == alice_at(PYTHON3_SAML)
    assert answer.pop("level") == [LevelOfAssurance.LEVEL_2.uri]
    assert answer == {
        "first_name": ["Alice"],
        "first_name_verified": ["true"],
        "surname": ["Evans"],
        "surname_verified": ["true"],
        "date_of_birth": ["1985-03-14"],
        "date_of_birth_verified": ["true"],
    }


def test_the_client_library_signs_alice_in(hub_client_service):
    browser = BrowserClient()
    answer = answer_of(browser.auto_submit(to_the_service(browser, HUB_CLIENT)))
    assert answer == {
        "scenario": "identity_verified",
        "id": alice_at(HUB_CLIENT),
        "level": 2,
        "attributes": {
            "first_name": [["Alice"], True],
            "surname": [["Evans"], True],
            "date_of_birth": [["1985-03-14"], True],
        },
    }


def test_a_failure_signs_nobody_in(python3_saml_service, hub_client_service):
    browser = BrowserClient()
    page = browser.auto_submit(to_the_service(browser, PYTHON3_SAML, outcome="authn-failed"))
    assert page.status == 403  # python3-saml: a Responder status is not a valid Response
    page = browser.auto_submit(to_the_service(browser, HUB_CLIENT, outcome="authn-failed"))
    assert answer_of(page) == {"scenario": "authentication_failed", "id": None, "level": None, "attributes": {}}


@BOTH
def test_an_answer_applies_only_in_the_browser_that_asked_and_only_once(department):
    citizen, other = BrowserClient(), BrowserClient()
    posting = to_the_service(citizen, department)
    # the citizen's Response carried to another browser: verified and kept, but not for that browser
    assert other.auto_submit(posting).status == 403
    assert answer_of(citizen.get(department.url + "/signed-in"))["id"] == alice_at(department)
    assert citizen.get(department.url + "/signed-in").status == 403  # taken once
    assert citizen.auto_submit(posting).status == 403  # the same Response again: answered already


@pytest.mark.parametrize(("answered", "posted_to"), [(PYTHON3_SAML, HUB_CLIENT), (HUB_CLIENT, PYTHON3_SAML)])
def test_a_response_for_another_service_is_refused(python3_saml_service, hub_client_service, answered, posted_to):
    """A genuine hub Response to one service's sign-in, posted to the other, answers none of its requests."""
    browser = BrowserClient()
    posting = to_the_service(browser, answered)
    form = posting.form(auto=True)
    form.set("action", f"{posted_to.url}/acs")
    assert browser.submit(posting, form).status == 403


def test_the_oidc_example_signs_alice_in_with_verified_identity(oidc_service):
    browser = BrowserClient()
    page = browser.get(f"http://localhost:{OIDC_PORT}/sign-in")  # authlib's redirect to the hub's /authorize
    page = at_idp_headless(browser, choose(browser, page, IDP_TWO), "alice")
    page = agree_to_release(browser, page)  # the hub's return step: 303 to the example's callback
    answer = answer_of(page)
    idp = IDP_ENTITY["stub-idp-two"]
    assert answer == {
        "sub": pairwise_id(idp, "https://oidc.department.test", idp_pid("stub-idp-two", "alice")),
        "vot": "Cl.Cm.P2",
        "claims": {"given_name": "Alice", "family_name": "Evans", "birthdate": "1985-03-14"},
    }


def test_the_oidc_example_is_told_why_a_sign_in_failed(oidc_service):
    browser = BrowserClient()
    page = browser.get(f"http://localhost:{OIDC_PORT}/sign-in")
    page = at_idp_headless(browser, choose(browser, page, IDP_TWO), "alice", outcome="fraud-DF01")
    page = browser.submit(page, page.form(button="Return to"))
    assert page.status == 403
    assert json.loads(page.text) == {"error": "access_denied", "return_code": "fraud_suspected"}
