"""The example service's `standard` service at /standard/: the same pages and client library, one
hub-signed assertion, and a signed-in page with the released attributes and their verified flags."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import pytest
from rp_support import IDP_PID, follow_redirects, hub_response, idp_assertions, standard_response, start_sign_in

from federation.saml import parse_authn_request
from federation.saml.standard import pairwise_id

STANDARD = "/standard"


def sign_in_standard(client, fed) -> str:
    sign_in = start_sign_in(client, STANDARD)
    saml = standard_response(fed, fed.standard_rp, sign_in.request_id)
    response = client.post(f"{STANDARD}/SAML2/SSO/POST", data={"SAMLResponse": saml, "RelayState": sign_in.relay_state})
    page = follow_redirects(client, response)
    assert page.status_code == 200, page.get_data(as_text=True)
    return page.get_data(as_text=True)


def shown(page: str, element_id: str) -> str:
    found = re.search(rf'id="{re.escape(element_id)}"[^>]*>(.*?)</', page, re.S)
    assert found, f"no #{element_id} on the page"
    return " ".join(found[1].split())


def test_the_start_page_and_request_are_the_standard_service_s(client, fed):
    page = client.get(f"{STANDARD}/").get_data(as_text=True)
    assert "Test service (standard SAML)" in page and f'action="{STANDARD}/start"' in page
    sign_in = start_sign_in(client, STANDARD)
    rp = fed.standard_rp
    request = parse_authn_request(
        sign_in.authn_request,
        certificates_for_issuer=lambda issuer: [fed.rp.signing.certificate] if issuer == rp.entity_id else [],
        expected_destination=fed.config.hub.sso_url,
        now=datetime.now(UTC),
    )
    assert request.issuer == rp.entity_id and sign_in.action == fed.config.hub.sso_url + "?lang=en"


def test_signed_in_page_shows_identifier_level_and_attributes_with_their_flags(client, fed, caplog):
    caplog.set_level(logging.INFO)
    page = sign_in_standard(client, fed)
    assert 'id="outcome-identity_verified"' in page
    assert shown(page, "identifier") == pairwise_id(fed.idp_two_entity_id, fed.standard_rp.entity_id, IDP_PID)
    assert shown(page, "level") == "Level 2"
    assert shown(page, "attribute-first_name") == "Alice"
    assert shown(page, "attribute-first_name-verified") == "Not verified"
    assert 'data-verified="false"' in page and 'data-verified="true"' in page
    assert shown(page, "attribute-surname") == "Evans"
    assert shown(page, "attribute-surname-verified") == "Verified"
    assert shown(page, "attribute-date_of_birth") == "1985-03-14"
    assert "12 Orchard Road<br>Bristol" in page
    assert shown(page, "attribute-postcode") == "BS7 8QT"
    labels = ["First name", "Surname", "Date of birth", "Address", "Postcode"]
    assert [label for label in labels if label in page] == labels
    assert "Evans" not in caplog.text and "scenario=IDENTITY_VERIFIED" in caplog.text  # no personal data logged


def test_signed_in_page_in_welsh(client, fed):
    sign_in_standard(client, fed)
    page = client.get(f"{STANDARD}/signed-in?lang=cy").get_data(as_text=True)
    assert "Manylion gan y cwmni ardystiedig" in page and "Dyddiad geni" in page
    assert shown(page, "attribute-first_name-verified") == "Heb ei wirio"
    assert shown(page, "attribute-surname-verified") == "Wedi&#39;i wirio"


def test_verify_services_show_no_attributes(client, fed):
    sign_in = start_sign_in(client, "/non-matching")
    saml = hub_response(fed, fed.non_matching_rp, in_response_to=sign_in.request_id, assertions=idp_assertions(fed))
    response = client.post(
        "/non-matching/SAML2/SSO/POST", data={"SAMLResponse": saml, "RelayState": sign_in.relay_state}
    )
    page = follow_redirects(client, response).get_data(as_text=True)
    assert 'id="identifier"' in page and 'id="attributes"' not in page


@pytest.mark.parametrize("other", ["/", "/non-matching/"])
def test_a_standard_answer_is_refused_at_a_verify_service(client, fed, other, caplog):
    """Each service reads only its own profile: a standard Response posted to a verify service's ACS fails."""
    prefix = other.rstrip("/")
    sign_in = start_sign_in(client, prefix)
    saml = standard_response(fed, fed.standard_rp, sign_in.request_id)
    response = client.post(f"{prefix}/SAML2/SSO/POST", data={"SAMLResponse": saml, "RelayState": sign_in.relay_state})
    assert response.status_code == 400 and 'id="problem-bad_response"' in response.get_data(as_text=True)
    assert "reason=wrong-destination" in caplog.text
