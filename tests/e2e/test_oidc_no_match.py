"""A matching OpenID Connect client whose matching service finds no record: the identity is proved, so the
client is answered with it (after the citizen agrees), and its matching claim says "no-match" with no
hashed PID. (A SAML service is told Responder/no-match, as the Verify profile says.)"""

from __future__ import annotations

import json

import pytest
from jwskate import Jwk
from requests_oauth2client import OAuth2Client, PrivateKeyJwt

from tests.e2e.journey import IDP_TWO, at_idp_headless, choose
from tests.e2e.oidc_support import CLIENT_KEY, IDENTITY_CLAIMS, hub_answer, to_hub_start
from tests.support.browser_client import BrowserClient
from tests.support.federation_under_test import demo_config_with, running_federation

pytestmark = pytest.mark.e2e
CLIENT = "test-rp-oidc-no-creation"
MATCHING_CLAIM = "https://vocab.federation.test/v1/matching"
ENTRY = f"""
  - name: {CLIENT}
    client_id: {CLIENT}
    display_name: {{en: A matching client that creates no accounts, cy: Cleient paru nad yw'n creu cyfrifon}}
    redirect_uris:
      - ${{RP_URL}}/oidc/callback
    jwks: test-rp-oidc-client.jwks.json
    sector_identifier: https://test-rp.federation.test
    vectors_of_trust: [Cl.Cm.P2]
    claims: [given_name, family_name, birthdate]
    return_codes: true
    matching_service_entity_id: https://test-rp-ms.federation.test
    service_home_url: ${{RP_URL}}/oidc/
    other_ways: {{en: Apply by post., cy: Gwnewch gais drwy'r post.}}
"""


@pytest.fixture(scope="module")
def federation(keys_dir, tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("oidc-no-match")
    config = demo_config_with(var_dir / "federation.yaml", oidc_clients=ENTRY)
    with running_federation(var_dir, keys_dir, FEDERATION_CONFIG=str(config)) as running:
        yield running


def test_no_match_is_told_in_the_claims_with_the_proved_identity(federation, keys_dir):
    hub = federation.urls["HUB_URL"]
    private = Jwk.from_pem((keys_dir / CLIENT_KEY).read_bytes()).with_usage_parameters("RS256")
    client = OAuth2Client.from_discovery_endpoint(
        f"{hub}/.well-known/openid-configuration",
        issuer=hub,
        auth=PrivateKeyJwt(CLIENT, private.with_kid_thumbprint(), alg="RS256"),
        redirect_uri=federation.urls["RP_URL"] + "/oidc/callback",
        code_challenge_method="S256",
        testing=True,
    )
    request = client.authorization_request(scope="openid", claims=IDENTITY_CLAIMS)
    browser = BrowserClient()
    try:
        page = to_hub_start(browser, str(request.uri))
        page = at_idp_headless(browser, choose(browser, page, IDP_TWO), "kofi")  # no record of kofi's
        items = " ".join(page.doc.xpath("//ul[@id='released-items']//text()"))
        assert "could not find your records" in page.text and "date of birth" in items
        token = client.authorization_code(request.validate_callback(hub_answer(browser, page)))
    finally:
        browser.http.close()
    info = client.userinfo(token)
    assert info[MATCHING_CLAIM] == {"outcome": "no-match"}, json.dumps(info)[:500]
    assert info["verified_claims"]["claims"]["given_name"]
