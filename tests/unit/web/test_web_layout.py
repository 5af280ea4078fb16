"""federation/base.html is GOV.UK's page template written out as one template (extending it cost three levels
of blocks on every page), and each page gives `_` its language once. Every page must still be byte for byte
what the former layout gave: the page template extended with our blocks, the session-timing notice included,
and the language looked up for every message (the global `_`). Each app's pages are rendered both ways, in
English and Welsh, with and without the session-timing notice, with a service name that needs escaping."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask, render_template
from jinja2 import DictLoader

from federation.config import DEMO_OPERATOR
from federation.web import register_web
from federation.web.service_pages import LANGUAGE_COOKIE, FeedbackLog, ServicePages
from hub.app import HUB_MESSAGES
from relying_party_example.app import _messages as service_messages
from stub_idps.app import load_messages as stub_idp_messages
from tests.unit.web.conftest import IDPS, OTHER_WAYS, REPO, RP_NAME, SAMPLES

# federation/base.html before it was written out (its comment left off), as it extended the page template
FORMER_BASE = """{% extends "govuk_frontend_jinja/template.html" %}
{% from "govuk_frontend_jinja/components/skip-link/macro.html" import govukSkipLink %}
{% from "govuk_frontend_jinja/components/header/macro.html" import govukHeader %}
{% from "govuk_frontend_jinja/components/service-navigation/macro.html" import govukServiceNavigation %}
{% from "govuk_frontend_jinja/components/phase-banner/macro.html" import govukPhaseBanner %}
{% from "govuk_frontend_jinja/components/footer/macro.html" import govukFooter %}

{% set htmlLang = current_language() %}
{% set serviceName = federation_service_name() %}
{% set serviceUrl = federation_service_url %}

{% block pageTitle -%}
  {%- if page_has_error %}{{ _('common.error_prefix') }}: {% endif -%}
  {%- block title %}{% endblock %} – {{ serviceName }} – GOV.UK
{%- endblock %}

{% block head %}
  {%- cached "head", request.script_root %}
  <link rel="stylesheet" href="{{ url_for('federation_web.govuk_static', filename='govuk-frontend.min.css') }}">
  {%- endcached %}
{% endblock %}

{% block headIcons %}
  {%- cached "head-icons", request.script_root %}
  {%- set assetPath = url_for('federation_web.govuk_static', filename='assets') %}
  <link rel="icon" sizes="48x48" href="{{ assetPath }}/images/favicon.ico">
  <link rel="icon" sizes="any" href="{{ assetPath }}/images/favicon.svg" type="image/svg+xml">
  <link rel="mask-icon" href="{{ assetPath }}/images/govuk-icon-mask.svg" color="#1d70b8">
  <link rel="apple-touch-icon" href="{{ assetPath }}/images/govuk-icon-180.png">
  <link rel="manifest" href="{{ assetPath }}/manifest.json">
  {%- endcached %}
{% endblock %}

{#- The chrome below is rendered once per key and cached (federation/web/fragments.py): each `cached`
    block names every value its body reads. Nothing per citizen, session or message goes inside one. -#}
{% block skipLink %}
  {%- cached "skip-link", htmlLang %}
  {{ govukSkipLink({'href': '#main-content', 'text': _('layout.skip_link')}) }}
  {%- endcached %}
{% endblock %}

{#- where "go back to where you were" leads from the service pages: this page, or this step's GET -#}
{% set here_path = language_toggle_path or (request.path if request.method == 'GET' else federation_service_url) %}

{#- The page template's <header>, written out: ours is never empty, so the template's test for an empty one
    (rendering its content twice) is not needed, and the whole header is one cached block. -#}
{% block header %}
  {%- cached "header", htmlLang, serviceName, serviceUrl, here_path, request.script_root %}
  <header class="govuk-template__header">
    {{ govukHeader({'homepageUrl': 'https://www.gov.uk/'}) }}
    {{ govukServiceNavigation({
      'serviceName': serviceName,
      'serviceUrl': serviceUrl,
      'ariaLabel': _('layout.service_information')
    }) }}
    {%- if service_pages is defined %}
    {%- set phaseHtml -%}
      {{ _('pages.phase_banner_before') }} <a class="govuk-link" href="{{ url_for('service_pages.feedback', **{'from': here_path}) }}">{{ _('pages.phase_banner_link') }}</a> {{ _('pages.phase_banner_after') }}
    {%- endset %}
    {{ govukPhaseBanner({'tag': {'text': _('layout.phase.' ~ federation_phase)}, 'html': phaseHtml}) }}
    {%- else %}
    {{ govukPhaseBanner({
      'tag': {'text': _('layout.phase.' ~ federation_phase)},
      'text': _('layout.phase_text')
    }) }}
    {%- endif %}
  </header>
  {%- endcached %}
{% endblock %}

{% block beforeContent %}
  {%- set otherLang = other_language() %}
  <nav class="govuk-!-margin-top-3 govuk-!-text-align-right" aria-label="{{ _('layout.language_nav') }}">
    <p class="govuk-body-s govuk-!-margin-bottom-0">
      <a class="govuk-link" id="language-toggle" href="{{ lang_switch_url(otherLang, language_toggle_path) }}" lang="{{ otherLang }}" hreflang="{{ otherLang }}">{{ _('layout.language_name.' ~ otherLang) }}</a>
    </p>
  </nav>
  {% block backLink %}{% endblock %}
  {% if session_timing is defined and session_timing %}{% include "federation/session_timing.html" %}{% endif %}
{% endblock %}

{#- The page template's <footer>, written out for the same reason as the header. -#}
{% block footer %}
  {%- cached "footer", htmlLang, here_path, request.script_root %}
  {%- set licenceHtml -%}
    {{ _('layout.footer.licence_before') }} <a class="govuk-footer__link" href="https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/" rel="license">{{ _('layout.footer.licence_link') }}</a>{{ _('layout.footer.licence_after') }}
  {%- endset %}
  {%- set footerLinks = [] %}
  {%- if service_pages is defined %}
    {%- for page in service_pages %}
      {%- set ignored = footerLinks.append({'href': url_for('service_pages.' ~ ('help_page' if page == 'help' else page), **{'from': here_path}), 'text': _('pages.footer.' ~ page)}) %}
    {%- endfor %}
  {%- endif %}
  {%- set footerParams = {'contentLicence': {'html': licenceHtml}, 'copyright': {'text': _('layout.footer.copyright')}} %}
  {%- if footerLinks %}
    {%- set ignored = footerParams.update({'meta': {'visuallyHiddenTitle': _('layout.footer.support_links'), 'items': footerLinks}}) %}
  {%- endif %}
  <footer class="govuk-template__footer">
    {{ govukFooter(footerParams) }}
  </footer>
  {%- endcached %}
{% endblock %}

{% block bodyEnd %}
  {%- cached "body-end", request.script_root %}
  <script type="module" src="{{ url_for('federation_web.federation_static', filename='federation-web.js') }}"></script>
  {%- endcached %}
  {%- if session_timing is defined and session_timing %}
  <script type="module" src="{{ url_for('federation_web.federation_static', filename='federation-session.js') }}"></script>
  {%- endif %}
{% endblock %}"""  # noqa: E501 (template lines as base.html had them)

# federation/session_timing.html, which the former base.html included (its comment left off)
FORMER_SESSION_TIMING = """{%- set timing = session_timing %}
<div class="govuk-notification-banner" role="region" aria-labelledby="session-timing-title" id="session-timing"
     data-expires-at="{{ timing.expires_at }}" data-warn-seconds="{{ timing.warn_seconds }}"
     {%- if not timing.warn_now %} hidden{% endif %}>
  <div class="govuk-notification-banner__header">
    <h2 class="govuk-notification-banner__title" id="session-timing-title">{{ _('session_timing.title') }}</h2>
  </div>
  <div class="govuk-notification-banner__content" aria-live="polite">
    <p class="govuk-notification-banner__heading">{{ _('session_timing.ends_at', time=timing.ends_at) }}</p>
    {% if timing.can_extend %}
    <form method="post" action="{{ timing.extend_action }}" novalidate>
      {{ csrf_field() }}
      <input type="hidden" name="return_to" value="{{ timing.return_to }}">
      <button type="submit" class="govuk-button govuk-!-margin-bottom-0" data-module="govuk-button" id="more-time">{{ _('session_timing.more_time') }}</button>
    </form>
    {% else %}
    <p class="govuk-body">{{ _('session_timing.no_more_time') }}</p>
    {% endif %}
  </div>
</div>"""  # noqa: E501

ODD_NAME = {"en": 'Prove <your> "identity" & more', "cy": "Profi <pwy> 'ydych' & chi"}
NOTICE = {
    "expires_at": "2026-01-01T10:05:00+00:00",
    "ends_at": "10:05",
    "warn_now": False,
    "warn_seconds": 900,
    "can_extend": True,
    "extend_action": "/journey/extend",
    "return_to": "/start?a=1&b=<2>",
}
TIMINGS = {
    "no notice": {},
    "notice": {"session_timing": NOTICE},
    "notice, no more time": {"session_timing": {**NOTICE, "warn_now": True, "can_extend": False}},
}
SERVICE = SimpleNamespace(display_name=RP_NAME, uses_matching=True, other_ways=OTHER_WAYS)
SIGNED_IN = {
    "rp": SERVICE,
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
STUB_IDP = SimpleNamespace(name="stub-idp-one", config=SimpleNamespace(display_name={"en": "Stub IDP One"}))
CONSENT = {
    "idp": STUB_IDP,
    "details": {"name": "A <B>", "date_of_birth": "1990-01-01", "address": ["1 Street", "Town"]},
    "level": "Level 2",
    "requested": None,
    "below_request": False,
}


def _app(name: str, templates: str, messages: dict, **register: object) -> Flask:
    app = Flask(name, template_folder=str(REPO / templates))
    app.config["TESTING"] = True
    register_web(app, form_action_origins=["https://elsewhere.example.test/"], messages=messages, **register)
    app.jinja_env.globals["csrf_token"] = lambda: 'token-<&">'
    for endpoint in ("login", "register", "consent"):  # the stub IDPs' pages link to these
        app.add_url_rule(f"/<idp_name>/{endpoint}", endpoint, lambda idp_name: "")
    return app


def _pages(kind: str) -> ServicePages:
    feedback = FeedbackLog(Path(tempfile.mkdtemp()) / "feedback.jsonl", app=kind)
    return ServicePages(operator=DEMO_OPERATOR, cookies=(LANGUAGE_COOKIE,), feedback=feedback, kind=kind)


APPS: dict[str, Callable[[], Flask]] = {
    "hub": lambda: _app("hub", "hub/templates", HUB_MESSAGES, service_name=ODD_NAME, pages=_pages("hub")),
    "hub without service pages": lambda: _app("bare", "hub/templates", HUB_MESSAGES, service_name=ODD_NAME),
    "service": lambda: _app(
        "service",
        "relying_party_example/templates",
        service_messages(),
        service_name=ODD_NAME,
        service_url="/service/",
        pages=_pages("service"),
    ),
    "stub IDP": lambda: _app(
        "idp",
        "stub_idps/templates",
        stub_idp_messages(),
        service_name=lambda lang: f"Stub <IDP> & {lang}",
        phase="development",
        pages=_pages("idp"),
    ),
}
SERVICE_PAGE = {"operator": DEMO_OPERATOR, "app_kind": "hub", "cookies": (LANGUAGE_COOKIE,)}
# name -> (app, template, context, method)
PAGES = {
    **{f"hub {name}": ("hub", name, SAMPLES[name], "GET") for name in SAMPLES if name.endswith(".html")},
    "hub start, error": ("hub", "start.html", {**SAMPLES["start.html"], "error": True}, "GET"),
    "hub choose, returning": (
        "hub",
        "choose_company.html",
        {**SAMPLES["choose_company.html"], "returning": True, "unlikely": [(IDPS[0], ("uk_passport",))]},
        "GET",
    ),
    "hub release, POST": (
        "hub",
        "release.html",
        {"action": "/journey/return-to-service", "rp_name": RP_NAME, "items": ("name", "date_of_birth")},
        "POST",
    ),
    "hub redirect, POST": ("hub", "redirect_to_idp.html", SAMPLES["redirect_to_idp.html"], "POST"),
    "hub response, POST": ("hub", "response_to_rp.html", SAMPLES["response_to_rp.html"], "POST"),
    "hub cookies page": (
        "hub",
        "federation/pages/cookies.html",
        {**SERVICE_PAGE, "page": "cookies", "return_to": "/start"},
        "GET",
    ),
    "hub help page": ("hub", "federation/pages/help.html", {**SERVICE_PAGE, "page": "help"}, "GET"),
    "bare start": ("hub without service pages", "start.html", SAMPLES["start.html"], "GET"),
    "bare error, POST": ("hub without service pages", "error.html", SAMPLES["error.html"], "POST"),
    "service start": (
        "service",
        "relying_party/service.html",
        {"rp": SERVICE, "start_action": "/start", "result_url": "/signed-in"},
        "GET",
    ),
    "service signed in": ("service", "relying_party/result.html", SIGNED_IN, "GET"),
    "service post to hub": ("service", "federation/saml_post.html", SAMPLES["federation/saml_post.html"], "POST"),
    "service problem": (
        "service",
        "relying_party/problem.html",
        {"problem": "form_expired", "rp": SERVICE, "home_url": "/", "error_id": "e-1"},
        "GET",
    ),
    "stub IDP error": (
        "stub IDP",
        "stub_idps/error.html",
        {"problem": "unknown_request", "reason": "<why>", "hub_home_url": "/"},
        "GET",
    ),
    "stub IDP consent": ("stub IDP", "stub_idps/consent.html", CONSENT, "GET"),
    "stub IDP response to hub": (
        "stub IDP",
        "federation/saml_post.html",
        {"action": "https://hub.example.test/r", "saml_response": "PHg+", "relay_state": "r&1"},
        "POST",
    ),
}


def _former(app: Flask) -> Flask:
    """The same app with the former layout, the per-message `_`, and its chrome rendered every time."""
    app.jinja_env.loader.loaders.insert(
        0, DictLoader({"federation/base.html": FORMER_BASE, "federation/session_timing.html": FORMER_SESSION_TIMING})
    )
    processors = app.template_context_processors[None]
    processors[:] = [func for func in processors if func.__name__ != "language_context"]
    app.jinja_env.fragment_cache.enabled = False
    return app


@pytest.fixture(scope="module")
def apps() -> dict[str, tuple[Flask, Flask]]:
    return {name: (make(), _former(make())) for name, make in APPS.items()}


def _render(app: Flask, template: str, context: dict, method: str, lang: str) -> str:
    with app.test_request_context(f"/journey/step?lang={lang}&x=<1>", method=method):
        app.preprocess_request()
        return render_template(template, **context)


@pytest.mark.parametrize("timing", sorted(TIMINGS))
@pytest.mark.parametrize("lang", ["en", "cy"])
@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_page_is_byte_for_byte_what_the_former_layout_gave(apps, page, lang, timing):
    app_name, template, context, method = PAGES[page]
    new, former = apps[app_name]
    context = {**context, **TIMINGS[timing]}
    expected = _render(former, template, context, method, lang)
    assert f'<html lang="{lang}"' in expected and "</html>" in expected  # a whole page
    for _ in range(2):  # rendering the chrome, then from the cache
        assert _render(new, template, context, method, lang) == expected


def test_the_notice_and_the_escaped_service_name_are_on_the_page(apps):
    new, _ = apps["hub"]
    page = _render(new, "start.html", {**SAMPLES["start.html"], **TIMINGS["notice"]}, "GET", "en")
    assert 'id="session-timing"' in page and 'value="token-&lt;&amp;&#34;&gt;"' in page
    assert "Prove &lt;your&gt; &#34;identity&#34; &amp; more" in page


def test_the_layout_extends_and_includes_nothing(apps):
    new, _ = apps["hub"]
    source = new.jinja_env.loader.get_source(new.jinja_env, "federation/base.html")[0]
    assert "{% extends" not in source and "{% include" not in source
