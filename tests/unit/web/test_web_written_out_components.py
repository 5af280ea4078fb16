"""The GOV.UK buttons, links styled as buttons, back links and the start page's error summary written out on the
hub's journey pages (a macro call per component cost more than the rest of the page's content) must be the very
markup the GOV.UK macros give for the same parameters, in both languages. Whitespace between and around tags is
not compared."""

from __future__ import annotations

import re

import pytest
from flask import render_template, render_template_string

from tests.unit.web.conftest import IDPS, SAMPLES, make_app

MACROS = """{% from "govuk_frontend_jinja/components/button/macro.html" import govukButton %}
{% from "govuk_frontend_jinja/components/error-summary/macro.html" import govukErrorSummary %}
{% from "govuk_frontend_jinja/components/back-link/macro.html" import govukBackLink %}
"""

# page -> the components it wrote with the macros before, in page order
REFERENCES = {
    "start.html": """
{% if error %}{{ govukErrorSummary({
  'titleText': _('common.error_summary_title'),
  'errorList': [{'text': _('start.error'), 'href': '#verified_before'}]
}) }}{% endif %}
{{ govukButton({'text': _('common.continue')}) }}""",
    "choose_company.html": """
{{ govukBackLink({'href': back_url, 'text': _('common.back')}) }}
{% for idp in idps %}
{{ govukButton({
  'text': _('choose_company.choose', idp=idp.display_name),
  'classes': 'govuk-!-margin-bottom-0',
  'preventDoubleClick': true
}) }}
{% endfor %}""",
    "what_you_need.html": """
{{ govukBackLink({'href': back_url, 'text': _('common.back')}) }}
{{ govukButton({'text': _('common.continue'), 'href': continue_url}) }}""",
    "error.html": """
{% set problem_key = problem if (problem is string and has_message('error.' ~ problem ~ '.heading')) else 'generic' %}
{% set rp = rp_name or _('common.the_service') %}
{% if retry_form %}
  {{ govukButton({'text': _('error.' ~ problem_key ~ '.action')}) }}
{% elif next_url %}
  {{ govukButton({'text': _('error.' ~ problem_key ~ '.action'), 'href': next_url}) }}
{% elif next_action %}
  {{ govukButton({'text': _('error.' ~ problem_key ~ '.action')}) }}
{% endif %}
{% if return_action and return_action != next_action %}
  {{ govukButton({'text': _('common.return_to_rp', rp=rp), 'classes': 'govuk-button--secondary'}) }}
{% endif %}""",
    "about_you.html": """
{{ govukBackLink({'href': back_url, 'text': _('common.back')}) }}
{{ govukButton({'text': _('common.continue')}) }}""",
    "cycle3.html": """
{% if back_url %}{{ govukBackLink({'href': back_url, 'text': _('common.back')}) }}{% endif %}
{{ govukButton({'text': _('common.continue'), 'preventDoubleClick': true}) }}
{% if cancel_action %}
  {{ govukButton({'text': _('cycle3.cancel'), 'classes': 'govuk-button--secondary'}) }}
{% endif %}""",
    "release.html": """
{{ govukButton({'text': _('release.agree'), 'name': 'release', 'value': 'agree', 'preventDoubleClick': true,
  'attributes': {'id': 'release-agree'}}) }}
{{ govukButton({'text': _('release.decline'), 'name': 'release', 'value': 'decline',
  'classes': 'govuk-button--secondary', 'attributes': {'id': 'release-decline'}}) }}""",
}
RELEASE = {"action": "/journey/return-to-service", "rp_name": SAMPLES["start.html"]["rp_name"], "items": ()}
# a name that needs escaping, to show the written-out text is escaped as the macro escapes it
ODD_IDP = {"entity_id": "https://odd.example.test", "display_name": {"en": "Odd <b> & Co", "cy": "Odd <b> & Co"}}
ERROR = SAMPLES["error.html"]
CONTEXTS = {
    "start.html": SAMPLES["start.html"],
    "start.html error": {**SAMPLES["start.html"], "error": True},
    "what_you_need.html": {**SAMPLES["what_you_need.html"], "continue_url": '/about-you?a=1&b="'},
    "error.html": {**ERROR, "next_url": '/choose?a=1&b="', "return_action": "/journey/return-to-service"},
    "error.html retry": {**ERROR, "retry_form": ("/SAML2/SSO", [("SAMLRequest", "x")]), "return_action": "/r"},
    "error.html next action": {**ERROR, "next_url": None, "next_action": "/r", "return_action": "/r"},
    "choose_company.html": {**SAMPLES["choose_company.html"], "idps": [*IDPS, ODD_IDP]},
    "release.html": RELEASE,
    "about_you.html": SAMPLES["about_you.html"],
    "cycle3.html": {**SAMPLES["cycle3.html"], "back_url": "/choose?a=1&b=2"},
}
COMPONENT = re.compile(
    r'<button\b.*?</button>|<a [^>]*(?:class="govuk-back-link"|role="button")[^>]*>.*?</a>'
    r'|<div class="govuk-error-summary".*?</ul>\s*</div>\s*</div>\s*</div>',
    re.DOTALL,
)


def _normalised(html: str) -> str:
    html = re.sub(r"\s+", " ", html)
    return re.sub(r"\s*(<[^>]+>)\s*", r"\1", html).replace(" >", ">").strip()


def _components(html: str) -> list[str]:
    return [_normalised(found) for found in COMPONENT.findall(html)]


@pytest.mark.parametrize("lang", ["en", "cy"])
@pytest.mark.parametrize("case", sorted(CONTEXTS))
def test_written_out_components_are_the_govuk_macros_markup(case, lang):
    app = make_app()
    template, context = case.split(" ")[0], CONTEXTS[case]
    with app.test_request_context(f"/page?lang={lang}"):
        app.preprocess_request()
        page = _components(render_template(template, **context))
        reference = _components(render_template_string(MACROS + REFERENCES[template], **context))
    assert reference  # the reference has components to compare
    assert page == reference
    if case == "start.html error":  # the summary is there, and compared
        assert sum("govuk-error-summary" in component for component in page) == 1
    if template == "choose_company.html":
        assert any("Odd &lt;b&gt; &amp; Co" in component for component in page)
