"""The message catalogue and language choice."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import render_template_string

from federation.web import i18n, translate


@dataclass(frozen=True)
class Text:
    en: str
    cy: str | None = None


@pytest.mark.parametrize(
    ("value", "lang", "expected"),
    [
        ("plain", "cy", "plain"),
        ({"en": "Hello", "cy": "Helo"}, "cy", "Helo"),
        ({"en": "Hello"}, "cy", "Hello"),
        (Text("Hello", "Helo"), "cy", "Helo"),
        (Text("Hello"), "cy", "Hello"),
        (lambda lang: f"text-{lang}", "cy", "text-cy"),
        (None, "en", ""),
    ],
)
def test_localize_accepts_what_the_config_layer_gives(value, lang, expected):
    assert i18n.localize(value, lang) == expected


def test_catalogue_substitutes_named_placeholders_and_falls_back():
    catalogue = i18n.Catalogue(
        {"en": {"a": "Go to {rp} {missing}", "b": ("one {x}", "two")}, "cy": {"a": "Ewch i {rp}"}}
    )
    assert catalogue.text("cy", "a", rp={"en": "Service", "cy": "Gwasanaeth"}) == "Ewch i Gwasanaeth"
    assert catalogue.text("en", "a", rp="Service") == "Go to Service {missing}"
    assert catalogue.paragraphs("cy", "b", x="1") == ("one 1", "two")  # falls back to English
    assert catalogue.text("en", "no.such.key") == "no.such.key"
    assert catalogue.paragraphs("en", "no.such.key") == ()
    assert catalogue.missing_translations() == {"cy": ("b",)}


def test_placeholders_do_not_evaluate_expressions():
    catalogue = i18n.Catalogue({"en": {"a": "{rp.__class__} {0}"}})
    assert catalogue.text("en", "a", rp="x") == "{rp.__class__} {0}"


def test_a_translator_bound_to_a_language_gives_the_catalogues_text_for_every_message():
    catalogue = i18n.default_catalogue().merged(
        {"en": {"demo": {"a": "Go to {rp} {missing}", "b": ["one {x}", "two"]}}, "cy": {"demo.a": "Ewch i {rp}"}}
    )
    keys = [*catalogue.messages["en"], "no.such.key"]
    params = {"rp": {"en": "Service", "cy": "Gwasanaeth"}, "x": "<1>", "idp": "Company", "time": "10:05"}
    for lang in i18n.SUPPORTED_LANGUAGES:
        bound = i18n.bound_translator(catalogue, lang)
        for key in keys:
            assert bound(key) == catalogue.text(lang, key), key
            assert bound(key, **params) == catalogue.text(lang, key, **params), key
    assert i18n.bound_translator(catalogue, "cy")("demo.b", x="1") == "one 1 two"  # falls back to English


def test_a_page_is_given_its_language_once_and_an_imported_macro_still_follows_it(make_web_app):
    app = make_web_app(messages={"en": {"demo": {"hello": "Hello {name}"}}, "cy": {"demo": {"hello": "Helo {name}"}}})
    with app.test_request_context("/?lang=cy"):
        app.preprocess_request()
        page = render_template_string(
            '{% from "federation/macros.html" import otherWays %}'
            '{{ _("demo.hello", name="<b>") }}|{{ federation_lang }}|{{ federation_other_lang }}|'
            "{{ _p('demo.hello', name='x') | join }}|{{ otherWays({'en': 'A', 'cy': 'B'}) }}"
        )
    assert page.startswith("Helo &lt;b&gt;|cy|en|Helo x|")
    assert "Ffyrdd eraill o brofi pwy ydych chi</h2>" in page  # the macro's own `_` looks the language up
    assert '<p class="govuk-body">B</p>' in page


def test_app_messages_merge_over_the_shared_catalogue():
    merged = i18n.default_catalogue().merged({"en": {"idp": {"title": "Sign in"}}, "cy": {"idp.title": "Mewngofnodi"}})
    assert merged.text("cy", "idp.title") == "Mewngofnodi"
    assert merged.text("en", "idp.title") == "Sign in"
    assert merged.text("cy", "common.continue") == "Parhau"
    with pytest.raises(ValueError):
        i18n.default_catalogue().merged({"fr": {"a": "b"}})


@pytest.mark.parametrize(
    ("query", "cookie", "expected"),
    [
        (None, None, "en"),
        ("cy", None, "cy"),
        (None, "cy", "cy"),
        ("en", "cy", "en"),
        ("xx", "cy", "cy"),
        ("xx", "zz", "en"),
    ],
)
def test_choose_language(query, cookie, expected):
    assert i18n.choose_language(query, cookie) == expected


def test_split_paragraphs():
    assert i18n.split_paragraphs({"en": "One\r\n\r\nTwo\n  \nThree"}, "en") == ("One", "Two", "Three")
    assert i18n.split_paragraphs(None, "en") == ()


def test_translate_and_template_helpers_follow_the_request_language(make_web_app):
    app = make_web_app(messages={"en": {"demo": {"hello": "Hello {name}"}}, "cy": {"demo": {"hello": "Helo {name}"}}})
    with app.test_request_context("/?lang=cy"):
        app.preprocess_request()
        assert translate("demo.hello", name="Cymru") == "Helo Cymru"
        rendered = render_template_string(
            "{{ _('demo.hello', name=who) }}|{{ current_language() }}|"
            "{{ name | localize }}|{{ federation_service_name() }}",
            who="<b>",
            name={"en": "Name", "cy": "Enw"},
        )
    assert rendered == "Helo &lt;b&gt;|cy|Enw|Profi pwy ydych chi"


def test_a_key_yaml_reads_as_a_boolean_is_refused_not_shown_raw(tmp_path):
    """`yes:` unquoted is the boolean True to YAML: the page would show `start.True` or the raw key."""
    import yaml

    from federation.web.i18n import _flatten

    with pytest.raises(ValueError, match="quote it"):
        _flatten(yaml.safe_load("start:\n  yes: Yes\n  no: No\n"))
    assert _flatten(yaml.safe_load('start:\n  "yes": "Yes"\n  "no": "No"\n')) == {"start.yes": "Yes", "start.no": "No"}


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_the_start_page_answers_are_words_in_both_languages(lang):
    from federation.web.i18n import default_catalogue

    catalogue = default_catalogue()
    for key in ("start.yes", "start.no"):
        assert catalogue.text(lang, key) != key
