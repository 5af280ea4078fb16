"""The example service's start and signed-in pages write out the GOV.UK components they show on every journey
(inset text, start button, panel, the sign-in's summary list, sign-out button) instead of calling the macros,
which were most of those pages' render time: each must be the very markup the GOV.UK macro gives for the
same arguments, in both languages. Whitespace between and around tags is not compared."""

from __future__ import annotations

import re

import pytest
from flask import render_template, render_template_string

IMPORTS = """{% from "govuk_frontend_jinja/components/button/macro.html" import govukButton %}
{% from "govuk_frontend_jinja/components/inset-text/macro.html" import govukInsetText %}
{% from "govuk_frontend_jinja/components/panel/macro.html" import govukPanel %}
{% from "govuk_frontend_jinja/components/summary-list/macro.html" import govukSummaryList %}"""

# each component as the templates called it before it was written out: (where it starts, how it ends, macro call)
SERVICE_PAGE = {
    "inset text": (
        '<div class="govuk-inset-text">',
        "</div>",
        """{% set signed_in_html %}{{ _('rp.service.signed_in') }} <a class="govuk-link" href="{{ result_url }}">
{{- _('rp.service.signed_in_link') }}</a>{% endset %}
{{ govukInsetText({'html': signed_in_html}) }}""",
    ),
    "start button": (
        '<button type="submit" data-prevent-double-click="true"',
        "</button>",
        """{{ govukButton({'text': _('rp.service.start'), 'isStartButton': true, 'preventDoubleClick': true,
  'attributes': {'id': 'start'}}) }}""",
    ),
}
RESULT_PAGE = {
    "panel": (
        '<div class="govuk-panel',
        "</div>",
        """{{ govukPanel({'titleText': _('rp.result.signed_in_heading')}) }}""",
    ),
    "summary list": (
        '<dl class="govuk-summary-list">',
        "</dl>",
        """{% set identifier_html %}<code class="govuk-!-text-break-word" id="identifier">
{{- identifier }}</code>{% endset %}
{% set level_html %}<span id="level">{{ _('rp.result.level_name.' ~ level) }}</span>{% endset %}
{{ govukSummaryList({'rows': [
  {'key': {'text': _('rp.result.identifier')}, 'value': {'html': identifier_html}},
  {'key': {'text': _('rp.result.level')}, 'value': {'html': level_html}}
]}) }}""",
    ),
    "sign-out button": (
        '<button type="submit" class="govuk-button govuk-button--secondary"',
        "</button>",
        """{{ govukButton({'text': _('rp.result.sign_out'), 'classes': 'govuk-button--secondary',
  'attributes': {'id': 'sign-out'}}) }}""",
    ),
}


def _normalised(html: str) -> str:
    html = re.sub(r"\s+", " ", html)
    return re.sub(r"\s*(<[^>]+>)\s*", r"\1", html).strip()


def _fragment(page: str, start: str, end: str) -> str:
    """From `start` to the first `end` after it that closes as many elements of that tag as it opened."""
    begin = page.index(start)
    tag = end.strip("</>")
    depth, position = 0, begin
    for match in re.finditer(rf"<(/?){tag}\b", page[begin:]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            position = begin + match.start()
            break
    return page[begin : position + len(end)]


def _check(app, lang: str, template: str, components: dict, context: dict) -> None:
    with app.test_request_context(f"/?lang={lang}"):
        app.preprocess_request()
        page = _normalised(render_template(template, **context))
        for name, (start, end, call) in components.items():
            reference = _normalised(render_template_string(IMPORTS + call, **context))
            assert reference.startswith(_normalised(start)), name
            assert _fragment(page, _normalised(start), end) == reference, name


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_the_service_pages_components_are_the_govuk_macros_markup(app, fed, lang):
    context = {"rp": fed.matching_rp, "start_action": "/start", "result_url": "/signed-in?a=1&b=<2>"}
    _check(app, lang, "relying_party/service.html", SERVICE_PAGE, context)


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_the_signed_in_pages_components_are_the_govuk_macros_markup(app, fed, lang):
    context = {
        "rp": fed.matching_rp,
        "scenario": "success_match",
        "return_code": None,
        "offer": None,
        "home_url": "/",
        "identifier": "<id & more>",
        "level": "LEVEL_2",
        "attributes": [],
        "start_action": "/start",
        "sign_out_action": "/sign-out",
    }
    _check(app, lang, "relying_party/result.html", RESULT_PAGE, context)
