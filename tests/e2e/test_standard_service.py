"""The example service's `standard` service through the real hub: one assertion the hub signs, read by
the client library, and a signed-in page with the identifier, the level and the released attributes."""

from __future__ import annotations

import pytest

from tests.e2e.journey import (
    IDP_TWO,
    at_idp_headless,
    choose,
    expected_pairwise_id,
    idp_pid,
    return_to_service,
    sign_in,
    start_at_service,
)
from tests.support.browser_client import Page

pytestmark = pytest.mark.e2e


def shown(page: Page, element_id: str) -> str:
    return " ".join(page.doc.get_element_by_id(element_id).text_content().split())


def lines(page: Page, element_id: str) -> list[str]:
    """Each value of a multi-valued attribute (the page puts a line break between them)."""
    return [text.strip() for text in page.doc.get_element_by_id(element_id).xpath("text()")]


def test_alice_signs_in_to_the_standard_service(federation, browser):
    page = sign_in(browser, federation, "alice", IDP_TWO, path="/standard/")
    assert page.url.endswith("/standard/signed-in") and "signed in" in page.heading.lower(), page.heading
    assert shown(page, "identifier") == expected_pairwise_id("stub-idp-two", "alice", "test-rp-standard")
    assert shown(page, "level") == "Level 2"
    released = {
        "first_name": ["Alice"],
        "surname": ["Evans"],
        "date_of_birth": ["1985-03-14"],
        "address_lines": ["12 Orchard Road", "Bristol"],
        "postcode": ["BS7 8QT"],
    }
    for name, values in released.items():
        assert lines(page, f"attribute-{name}") == values
        assert shown(page, f"attribute-{name}-verified") == "Verified"  # alice's IDP verified every one
    assert len(page.doc.get_element_by_id("attributes").xpath(".//dt")) == len(released)
    assert "Jane" not in page.text and "FEMALE" not in page.text  # middle name, gender: not asked for
    assert idp_pid("stub-idp-two", "alice") not in page.text


def test_each_service_without_a_matching_service_has_its_own_identifier(federation, browser):
    standard = sign_in(browser, federation, "alice", IDP_TWO, path="/standard/")
    verify = sign_in(browser, federation, "alice", IDP_TWO, path="/non-matching/")
    assert shown(verify, "identifier") == expected_pairwise_id("stub-idp-two", "alice", "test-rp-non-matching")
    assert shown(standard, "identifier") != shown(verify, "identifier")


def test_a_failed_sign_in_reaches_the_standard_service_as_a_status(federation, browser):
    page = start_at_service(browser, federation, "/standard/")
    page = choose(browser, page, IDP_TWO)
    page = at_idp_headless(browser, page, "alice", outcome="authn-failed")
    page = return_to_service(browser, page)
    assert page.url.endswith("/standard/signed-in") and "could not prove your identity" in page.heading
    assert page.doc.get_element_by_id("outcome-authentication_failed") is not None
