"""The hub's journey pages render in English and Welsh, accessibly, with no JavaScript needed."""

from __future__ import annotations

import re

import pytest
from flask import Flask, render_template
from markupsafe import escape

from federation.web import problems, register_web
from federation.web.i18n import default_catalogue

CATALOGUE = default_catalogue()
TEMPLATES = [
    "about_you.html",
    "choose_company.html",
    "cycle3.html",
    "error.html",
    "federation/saml_post.html",
    "redirect_to_idp.html",
    "response_to_rp.html",
    "start.html",
    "what_you_need.html",
]

# A key whose text identifies each page (its h1), with the parameters the page fills in.
PAGE_HEADINGS = {
    "start.html": ("start.heading", {}),
    "what_you_need.html": ("what_you_need.heading", {}),
    "about_you.html": ("about_you.heading", {}),
    "choose_company.html": ("choose_company.heading_new", {}),
    "redirect_to_idp.html": ("redirect_to_idp.heading", {"idp": {"en": "Stub IDP One", "cy": "IDP Un"}}),
    "response_to_rp.html": (
        "response_to_rp.heading",
        {"rp": {"en": "Apply for a test licence", "cy": "Gwneud cais am drwydded prawf"}},
    ),
    "cycle3.html": ("cycle3.heading", {}),
    "error.html": ("error.authn_failed.heading", {"idp": {"en": "Stub IDP One", "cy": "IDP Un"}}),
    "federation/saml_post.html": ("saml_post.heading", {"destination": "GOV.UK Verify hub"}),
}
# The SAML HTTP-POST pages the citizen only passes through (a browser with JavaScript submits them on
# load): the light layout, with no phase banner, service navigation or footer (federation/light.html).
PASS_THROUGH = {"federation/saml_post.html", "redirect_to_idp.html", "response_to_rp.html"}


def get_page(client, template: str, lang: str, **params: str):
    query = "&".join([f"lang={lang}", *(f"{key}={value}" for key, value in params.items())])
    response = client.get(f"/page/{template}?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def heading_levels(page) -> list[int]:
    return [int(element.tag[1]) for element in page.elements if re.fullmatch(r"h[1-6]", element.tag)]


@pytest.mark.parametrize("lang", ["en", "cy"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_page_renders_in_both_languages(client, parse_html, template, lang):
    html = get_page(client, template, lang)
    page = parse_html(html)
    key, params = PAGE_HEADINGS[template]

    assert page.find("html")[0].attrs["lang"] == lang
    h1s = page.find("h1")
    assert len(h1s) == 1
    assert h1s[0].text.strip() == CATALOGUE.text(lang, key, **params)
    if lang == "cy":
        assert CATALOGUE.text("en", key, **params) not in html
        assert "Neidio i&#39;r prif gynnwys" in html  # skip link in Welsh
    # headings never skip a level (h1 then h2...)
    levels = heading_levels(page)
    assert levels[0] == 1
    assert all(later <= earlier + 1 for earlier, later in zip(levels, levels[1:], strict=False))
    # landmarks and the language toggle
    assert page.find("main", id="main-content")
    toggle = page.find("a", id="language-toggle")[0]
    other = "en" if lang == "cy" else "cy"
    assert toggle.attrs["hreflang"] == other and toggle.attrs["lang"] == other
    assert toggle.attrs["href"].endswith(f"?lang={other}")
    phase_banner = page.find("strong", **{"class": "govuk-tag govuk-phase-banner__content__tag"})
    assert bool(phase_banner) is (template not in PASS_THROUGH)
    assert page.find("a", href="#main-content", **{"class": "govuk-skip-link"})


@pytest.mark.parametrize("lang", ["en", "cy"])
@pytest.mark.parametrize("template", sorted(PASS_THROUGH))
def test_pass_through_pages_are_light_but_still_gov_uk_and_work_without_javascript(client, parse_html, template, lang):
    html = get_page(client, template, lang)
    page = parse_html(html)
    assert [link.attrs["href"] for link in page.find("link", rel="stylesheet")] == [
        "/static/govuk/govuk-frontend.min.css"
    ]
    assert page.find("a", href="https://www.gov.uk/")
    assert not page.find("footer") and "<svg" not in html
    assert "govuk-frontend.min.js" not in html  # nothing to initialise: the page only sends the form on
    # the form the browser submits on load, with a visible Continue button for a browser without JavaScript
    form = page.find("form")[0]
    assert "data-federation-auto-submit" in form.attrs and form.attrs["method"] == "post"
    button = page.find("button", id="saml-continue")[0]
    assert button.attrs["type"] == "submit" and button.text.strip() == CATALOGUE.text(lang, "common.continue")
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "no inline script at all"
    assert len(html.encode()) < 5000


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_visible_input_has_a_label_and_no_inline_code(client, parse_html, template):
    html = get_page(client, template, "en", error="1")
    page = parse_html(html)
    label_targets = {label.attrs.get("for") for label in page.find("label")}
    for field in page.find("input"):
        if field.attrs.get("type") == "hidden":
            continue
        assert field.attrs.get("id") in label_targets, field.attrs
    # nothing the CSP would block or that needs JavaScript: no inline handlers or style attributes
    assert not re.search(r"\son[a-z]+=", html)
    assert " style=" not in html
    for form in page.find("form"):
        assert form.attrs["method"] == "post"


def test_language_choice_is_remembered_in_a_cookie(client):
    html = get_page(client, "start.html", "cy")
    assert 'lang="cy"' in html
    cookie = client.get_cookie("lang")
    assert cookie is not None and cookie.value == "cy" and cookie.http_only
    again = client.get("/page/start.html").get_data(as_text=True)
    assert '<html lang="cy"' in again
    assert str(escape(CATALOGUE.text("cy", "start.heading"))) in again
    back = client.get("/page/start.html?lang=en").get_data(as_text=True)
    assert '<html lang="en"' in back
    assert client.get_cookie("lang").value == "en"


def test_unknown_language_falls_back_to_english_without_a_cookie(client):
    response = client.get("/page/start.html?lang=fr")
    assert '<html lang="en"' in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers


def test_language_toggle_drops_other_query_parameters(client, parse_html):
    page = parse_html(client.get("/page/start.html?SAMLRequest=abc").get_data(as_text=True))
    assert page.find("a", id="language-toggle")[0].attrs["href"] == "/page/start.html?lang=cy"


def test_language_toggle_on_a_posted_page_stays_on_the_step_or_goes_to_the_given_path(client, parse_html):
    # a form answered with an error: the same step's GET, in the other language (not the service's home)
    page = parse_html(client.post("/page/start.html").get_data(as_text=True))
    assert page.find("a", id="language-toggle")[0].attrs["href"] == "/page/start.html?lang=cy"
    page = parse_html(client.post("/page/redirect_to_idp.html").get_data(as_text=True))
    assert page.find("a", id="language-toggle")[0].attrs["href"] == "/choose-a-company?lang=cy"


def test_language_toggle_on_a_page_answering_a_post_only_endpoint_goes_to_the_service_url(parse_html):
    app = Flask(__name__)
    register_web(app, service_name="Test", service_url="/home/")

    @app.post("/only-post")
    def only_post():
        return render_template("federation/saml_post.html", action="https://x.test/", saml_response="eA==")

    page = parse_html(app.test_client().post("/only-post").get_data(as_text=True))
    assert page.find("a", id="language-toggle")[0].attrs["href"] == "/home/?lang=cy"


def test_start_page_error_uses_the_error_summary_pattern(client, parse_html):
    html = get_page(client, "start.html", "cy", error="1")
    page = parse_html(html)
    assert page.find("title")[0].text.strip().startswith("Gwall: ")
    summary = page.find("div", **{"data-module": "govuk-error-summary"})
    assert summary and CATALOGUE.text("cy", "common.error_summary_title") in summary[0].text
    link = [a for a in page.find("a") if a.attrs.get("href") == "#verified_before"]
    assert link and link[0].text.strip() == CATALOGUE.text("cy", "start.error")
    radios = page.find("input", type="radio")
    assert [radio.attrs["value"] for radio in radios] == ["yes", "no"]
    assert radios[0].attrs["id"] == "verified_before"
    legend = page.find("legend")[0]
    assert page.find("h1")[0].text.strip() in legend.text
    # the RP's other ways, in Welsh, as paragraphs
    assert "Neu gwnewch gais drwy&#39;r post." in html
    assert CATALOGUE.text("cy", "other_ways.heading_for_rp", rp="Gwneud cais am drwydded prawf") in html


def test_start_page_without_error_has_no_error_summary(client):
    html = get_page(client, "start.html", "en")
    assert "govuk-error-summary" not in html
    assert "<title>Error" not in html


def test_samples_cover_every_template(samples):
    assert sorted(samples) == TEMPLATES


def test_choose_company_keeps_the_given_order_and_posts_each_entity_id(client, parse_html, samples):
    idps = samples["choose_company.html"]["idps"]
    html = get_page(client, "choose_company.html", "cy")
    page = parse_html(html)
    names = [h2.text.strip() for h2 in page.find("h2", **{"class": "govuk-heading-m govuk-!-margin-bottom-2"})]
    assert names == ["IDP Bonyn Dau", "IDP Un"]
    posted = [field.attrs["value"] for field in page.find("input", name="entity_id")]
    assert posted == [idp["entity_id"] for idp in idps]
    assert "&#34;quoted&#34;" in html  # attribute values are escaped
    buttons = [button.text.strip() for button in page.find("button")]
    assert buttons == ["Dewis IDP Bonyn Dau", "Dewis IDP Un"]
    for form in page.find("form"):
        assert form.attrs["action"] == "/choose-a-company"


def test_choose_company_for_returning_citizen_and_empty_list(client):
    returning = get_page(client, "choose_company.html", "en", returning="1")
    assert CATALOGUE.text("en", "choose_company.heading_returning") in returning


def test_choose_company_with_no_eligible_idp_explains_instead_of_a_dead_end(app, samples):
    with app.test_request_context("/"):
        app.preprocess_request()
        from flask import render_template

        html = render_template("choose_company.html", **{**samples["choose_company.html"], "idps": []})
    assert CATALOGUE.text("en", "choose_company.none") in html
    assert "<form" not in html
    assert "Call the licence helpline" in html


def test_cycle3_page_shows_config_label_hint_and_error(client, parse_html):
    html = get_page(client, "cycle3.html", "cy", error="format", value='"><b>QQ</b>')
    page = parse_html(html)
    assert page.find("title")[0].text.strip().startswith("Gwall: ")
    label = page.find("label", **{"for": "cycle3_value"})[0]
    assert label.text.strip() == "Rhif Yswiriant Gwladol"
    assert "Mae ar eich slip cyflog. Er enghraifft, QQ 12 34 56 C." in html
    summary_links = [a for a in page.find("a") if a.attrs.get("href") == "#cycle3_value"]
    assert summary_links[0].text.strip() == "Rhowch rif Yswiriant Gwladol dilys"
    field = page.find("input", id="cycle3_value")[0]
    assert field.attrs["value"] == '"><b>QQ</b>'
    assert "<b>QQ</b>" not in html
    assert field.attrs["aria-describedby"].split() == ["cycle3_value-hint", "cycle3_value-error"]
    forms = page.find("form")
    assert [form.attrs["action"] for form in forms] == ["/further-information", "/further-information/cancel"]
    assert CATALOGUE.text("cy", "cycle3.cancel") in [button.text.strip() for button in page.find("button")]


def test_cycle3_page_says_which_mistake_was_made(client, parse_html):
    missing = parse_html(get_page(client, "cycle3.html", "en", error="missing", value=""))
    links = [a.text.strip() for a in missing.find("a") if a.attrs.get("href") == "#cycle3_value"]
    assert links == ["Enter your National Insurance number"]
    wrong = parse_html(get_page(client, "cycle3.html", "en", error="format", value="QQ"))
    links = [a.text.strip() for a in wrong.find("a") if a.attrs.get("href") == "#cycle3_value"]
    assert links == ["Enter a valid National Insurance number"]


@pytest.mark.parametrize("problem", [p for p in problems.PROBLEMS if p != problems.GENERIC])
@pytest.mark.parametrize("lang", ["en", "cy"])
def test_error_page_explains_each_problem_and_what_to_do_next(client, parse_html, samples, problem, lang):
    html = get_page(client, "error.html", lang, problem=problem)
    page = parse_html(html)
    params = {"rp": samples["error.html"]["rp_name"], "idp": samples["error.html"]["idp_name"]}
    assert page.find("h1")[0].text.strip() == CATALOGUE.text(lang, f"error.{problem}.heading", **params)
    body = CATALOGUE.paragraphs(lang, f"error.{problem}.body", **params)
    assert body
    paragraphs = [p.text.strip() for p in page.find("p", **{"class": "govuk-body"})]
    for paragraph in body:
        assert paragraph in paragraphs
    next_step = page.find("a", href="/choose-a-company")
    assert next_step and next_step[0].text.strip() == CATALOGUE.text(lang, f"error.{problem}.action")
    assert page.find("a", href="https://rp.example.test/")
    assert page.find("h2", id="other-ways")
    assert problems.problem_status(problem) in (200, 400, 404, 429, 502, 503)


def test_error_page_specific_statuses():
    assert problems.problem_status(problems.SERVICE_UNAVAILABLE) == 503
    assert problems.problem_status(problems.BAD_REQUEST) == 400
    assert problems.problem_status("no-such-problem") == 500


def test_unknown_problem_shows_the_generic_page(client, parse_html):
    page = parse_html(get_page(client, "error.html", "en", problem="{{7*7}}"))
    assert page.find("h1")[0].text.strip() == CATALOGUE.text("en", "error.generic.heading")


def test_error_page_without_names_uses_neutral_words(app):
    with app.test_request_context("/?lang=cy"):
        app.preprocess_request()
        from flask import render_template

        html = render_template("error.html", problem="session_timeout")
    assert CATALOGUE.text("cy", "error.session_timeout.heading") in html
    assert CATALOGUE.text("cy", "common.the_service") in html
    assert "{rp}" not in html
    assert "other-ways" not in html


def test_csrf_field_renders_only_when_the_app_provides_a_token(make_web_app, parse_html, samples):
    app = make_web_app()
    client = app.test_client()
    page = parse_html(get_page(client, "start.html", "en"))
    assert not page.find("input", name="csrf_token")
    app.jinja_env.globals["csrf_token"] = lambda: 'tok"en<'
    html = get_page(client, "choose_company.html", "en")
    page = parse_html(html)
    tokens = page.find("input", name="csrf_token")
    assert len(tokens) == len(samples["choose_company.html"]["idps"])
    assert all(token.attrs == {"type": "hidden", "name": "csrf_token", "value": 'tok"en<'} for token in tokens)
    assert 'value="tok&#34;en&lt;"' in html


def test_welsh_catalogue_translates_every_english_message():
    assert CATALOGUE.missing_translations() == {"cy": ()}
    same_in_both = {key for key, text in CATALOGUE.messages["en"].items() if CATALOGUE.messages["cy"][key] == text}
    assert same_in_both <= {"layout.language_name.en", "layout.language_name.cy", "layout.phase.beta"}


def test_welsh_catalogue_keeps_the_same_placeholders():
    for key, text in CATALOGUE.messages["en"].items():
        english = set(re.findall(r"\{\w+\}", " ".join(text) if isinstance(text, tuple) else text))
        welsh_text = CATALOGUE.messages["cy"][key]
        welsh = set(re.findall(r"\{\w+\}", " ".join(welsh_text) if isinstance(welsh_text, tuple) else welsh_text))
        assert english == welsh, key
