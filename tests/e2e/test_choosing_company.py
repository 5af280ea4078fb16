"""Help choosing a company: a first-time citizen says what they have, and the list says which companies are
likely to work for them and what each asks for; a returning citizen is asked nothing and can find help if
they have forgotten which company they used."""

from __future__ import annotations

import pytest

from tests.e2e.journey import start_at_service

pytestmark = pytest.mark.e2e


def _to_questions(browser, federation):
    page = start_at_service(browser, federation)
    page = browser.submit(page, page.form(), {"verified_before": "no"})
    assert page.url.endswith("/what-you-need"), page.url
    page = browser.get(page.link("Continue"))
    assert page.url.endswith("/about-you"), page.url
    return page


def _names(page, list_id: str) -> list[str]:
    return [" ".join(h.text_content().split()) for h in page.doc.xpath(f"//ul[@id='{list_id}']/li/*[1]")]


def test_the_answers_sort_the_companies_and_say_what_each_lacks(federation, browser):
    page = _to_questions(browser, federation)
    assert page.heading == "About you"
    # a driving licence and a mobile: Three (registration offers Two and Three) asks for a passport or an
    # identity card, and a smartphone
    page = browser.submit(
        page, page.form(), {"documents": ["uk_photocard_licence"], "phones": ["mobile"], "uk_address": "yes"}
    )
    assert "choose-a-certified-company" in page.url, (page.url, page.heading)
    assert _names(page, "companies") == ["Stub IDP Two"]
    assert _names(page, "other-companies") == ["Stub IDP Three"]
    warning = page.doc.xpath("//ul[@id='other-companies']//p[contains(@class, 'govuk-inset-text')]")
    text = " ".join(warning[0].text_content().split())
    assert "document" in text and "phone" in text, text
    assert "A test company that checks your identity with its app." in page.text
    # every company can still be chosen
    assert len(page.doc.xpath("//main//form//input[@name='entity_id']")) == 2


def test_unanswered_questions_rule_no_company_out(federation, browser):
    page = _to_questions(browser, federation)
    page = browser.submit(page, page.form())
    assert not page.doc.xpath("//ul[@id='other-companies']")
    assert len(_names(page, "companies")) == 2


def test_nothing_fits_still_lets_the_citizen_choose(federation, browser):
    page = _to_questions(browser, federation)
    page = browser.submit(page, page.form(), {"documents": ["none"], "phones": ["none"], "uk_address": "no"})
    assert page.doc.xpath("//p[@id='none-likely']")
    assert len(_names(page, "other-companies")) == 2


def test_answers_outside_the_vocabulary_are_ignored(federation, browser):
    page = _to_questions(browser, federation)
    page = browser.submit(page, page.form(), {"documents": ["<b>alert(1)</b>", "uk_passport"], "phones": "x" * 5000})
    assert page.status == 200 and "choose-a-certified-company" in page.url
    assert "alert(1)" not in page.text


def test_a_returning_citizen_is_not_asked_and_can_find_help(federation, browser):
    page = start_at_service(browser, federation)
    page = browser.submit(page, page.form(), {"verified_before": "yes"})
    assert "choose-a-certified-company" in page.url
    assert not page.doc.xpath("//ul[@id='other-companies']")
    help_page = browser.get(page.link("Forgotten which company you used?"))
    assert help_page.status == 200 and help_page.doc.xpath("//*[@id='forgotten-company']"), help_page.url


def test_welsh_questions_and_list(federation, browser):
    page = _to_questions(browser, federation)
    page = browser.get(page.url + "?lang=cy")
    assert page.heading == "Amdanoch chi", page.heading
    page = browser.submit(page, page.form(), {"phones": ["landline"], "uk_address": "yes"})
    assert "Cwmnïau eraill" in page.text
    assert "Other companies" not in page.text
