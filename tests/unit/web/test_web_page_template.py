"""base.html writes out the GOV.UK page template's <head> links, <header> and <footer> (ours are never empty,
so the template's test for emptiness, which renders each twice, is skipped): they must be the very markup the
page template gives with the same components. Whitespace between and around tags is not compared."""

from __future__ import annotations

import re

import pytest
from flask import render_template
from jinja2 import DictLoader

from tests.unit.web.conftest import SAMPLES
from tests.unit.web.test_web_fragments import paged_app  # noqa: F401 (the fixture: an app with service pages)

# The same page through the GOV.UK page template's own header and footer, as base.html rendered it before.
REFERENCE = """{% extends "govuk_frontend_jinja/template.html" %}
{% from "govuk_frontend_jinja/components/header/macro.html" import govukHeader %}
{% from "govuk_frontend_jinja/components/service-navigation/macro.html" import govukServiceNavigation %}
{% from "govuk_frontend_jinja/components/phase-banner/macro.html" import govukPhaseBanner %}
{% from "govuk_frontend_jinja/components/footer/macro.html" import govukFooter %}
{% set htmlLang = current_language() %}
{% set assetPath = url_for('federation_web.govuk_static', filename='assets') %}
{% set here_path = request.path %}
{% block head %}<link rel="stylesheet" href="{{ url_for('federation_web.govuk_static', filename='govuk-frontend.min.css') }}">{% endblock %}
{% block govukHeader %}{{ govukHeader({'homepageUrl': 'https://www.gov.uk/'}) }}{% endblock %}
{% block govukServiceNavigation %}{{ govukServiceNavigation({'serviceName': federation_service_name(),
  'serviceUrl': federation_service_url, 'ariaLabel': _('layout.service_information')}) }}{% endblock %}
{% block headerEnd %}
  {%- set phaseHtml -%}
    {{ _('pages.phase_banner_before') }} <a class="govuk-link" href="{{ url_for('service_pages.feedback', **{'from': here_path}) }}">{{ _('pages.phase_banner_link') }}</a> {{ _('pages.phase_banner_after') }}
  {%- endset %}
  {{ govukPhaseBanner({'tag': {'text': _('layout.phase.' ~ federation_phase)}, 'html': phaseHtml}) }}
{% endblock %}
{% block govukFooter %}
  {%- set licenceHtml -%}
    {{ _('layout.footer.licence_before') }} <a class="govuk-footer__link" href="https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/" rel="license">{{ _('layout.footer.licence_link') }}</a>{{ _('layout.footer.licence_after') }}
  {%- endset %}
  {%- set footerLinks = [] %}
  {%- for page in service_pages %}
    {%- set ignored = footerLinks.append({'href': url_for('service_pages.' ~ ('help_page' if page == 'help' else page), **{'from': here_path}), 'text': _('pages.footer.' ~ page)}) %}
  {%- endfor %}
  {{ govukFooter({'contentLicence': {'html': licenceHtml}, 'copyright': {'text': _('layout.footer.copyright')},
    'meta': {'visuallyHiddenTitle': _('layout.footer.support_links'), 'items': footerLinks}}) }}
{% endblock %}"""  # noqa: E501 (template lines as base.html had them)


def _normalised(html: str) -> str:
    html = re.sub(r"\s+", " ", html)
    return re.sub(r"\s*(<[^>]+>)\s*", r"\1", html).strip()


def _part(page: str, start: str, end: str) -> str:
    first = page.index(start)
    return page[first : page.index(end, first) + len(end)]


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_head_header_and_footer_are_the_page_templates_own(paged_app, lang):  # noqa: F811
    paged_app.jinja_env.loader.loaders.insert(0, DictLoader({"reference.html": REFERENCE}))
    with paged_app.test_request_context(f"/page/start.html?lang={lang}"):
        paged_app.preprocess_request()
        page = _normalised(render_template("start.html", **SAMPLES["start.html"]))
        reference = _normalised(render_template("reference.html"))
    for start, end in (('<meta name="theme-color"', "</head>"), ("<header", "</header>"), ("<footer", "</footer>")):
        assert _part(page, start, end) == _part(reference, start, end)
