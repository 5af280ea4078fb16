"""The start page's yes/no question is written out in start.html instead of calling govukRadios (the macro
was half the page's render time): it must be the very markup the GOV.UK macro gives for the same question,
in both languages, with and without the error. Whitespace between and around tags is not compared."""

from __future__ import annotations

import re

import pytest
from flask import render_template, render_template_string

from tests.unit.web.conftest import SAMPLES, make_app

# start.html's question as it was, through the GOV.UK macro
REFERENCE = """{% from "govuk_frontend_jinja/components/radios/macro.html" import govukRadios %}
{{ govukRadios({
  'name': 'verified_before',
  'idPrefix': 'verified_before',
  'fieldset': {
    'legend': {'text': _('start.heading'), 'isPageHeading': true, 'classes': 'govuk-fieldset__legend--l'}
  },
  'hint': {'text': _('start.intro', rp=rp_name or _('common.the_service'))},
  'errorMessage': {'text': _('start.error'), 'visuallyHiddenText': _('common.error_prefix')} if error else none,
  'items': [
    {'value': 'yes', 'text': _('start.yes'), 'hint': {'text': _('start.yes_hint')}},
    {'value': 'no', 'text': _('start.no')}
  ]
}) }}"""


def _normalised(html: str) -> str:
    html = re.sub(r"\s+", " ", html)
    return re.sub(r"\s*(<[^>]+>)\s*", r"\1", html).strip()


def _question(page: str) -> str:
    start = page.index('<div class="govuk-form-group')
    return page[start : page.index("</fieldset>", start) + len("</fieldset></div>")]


@pytest.mark.parametrize("lang", ["en", "cy"])
@pytest.mark.parametrize("error", [False, True])
@pytest.mark.parametrize("rp_name", [SAMPLES["start.html"]["rp_name"], None])
def test_the_written_out_question_is_the_govuk_macros_markup(lang, error, rp_name):
    app = make_app()
    context = {**SAMPLES["start.html"], "error": error, "rp_name": rp_name}
    with app.test_request_context(f"/start?lang={lang}"):
        app.preprocess_request()
        page = _normalised(render_template("start.html", **context))
        reference = _normalised(render_template_string(REFERENCE, **context))
    assert _question(page) == reference
    assert ("govuk-form-group--error" in reference) is error
