"""The shared web layer of the four Flask apps: GOV.UK Design System pages in English and Welsh.

One call, :func:`register_web`, gives an app the Jinja loader (govuk-frontend-jinja macros, our base
layout, the app's own templates), the GOV.UK Frontend assets under ``/static/govuk/``, language choice,
a CSRF hook and the security headers. Everything works without JavaScript; with it, SAML auto-post forms
submit themselves and GOV.UK Frontend components are initialised from an external module (no inline JS
of ours, so the CSP needs no 'unsafe-inline').
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Flask, Request, Response, current_app, g, has_request_context, request, send_from_directory
from flask.signals import template_rendered
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader, Undefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map

from federation import op_counts
from federation.web import i18n
from federation.web.environment import FederationEnvironment
from federation.web.fragments import FragmentCacheExtension
from federation.web.security_headers import apply_security_headers, csp_for_origins, script_hashes
from federation.web.service_pages import ServicePages, register_service_pages

__all__ = [
    "PHASES",
    "current_language",
    "register_web",
    "saml_post_fields",
    "static_folder",
    "translate",
]

PHASES = ("alpha", "beta", "development")
CSRF_FIELD_NAME = "csrf_token"
ASSET_MAX_AGE = 3600
BLUEPRINT_NAME = "federation_web"

_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_DIR = _PACKAGE_DIR.parents[1]

# str, {"en": ..., "cy": ...}, an object with en/cy attributes, or a callable taking the language code
LocalizedLike = object
Origins = Iterable[str] | Callable[[], Iterable[str]]


def static_folder() -> Path:
    """Where ``make assets`` puts GOV.UK Frontend (shared by all four apps)."""
    return _REPO_DIR / "hub" / "static" / "govuk"


def package_static_folder() -> Path:
    """Our own small static files (``federation-web.js``)."""
    return _PACKAGE_DIR / "static"


def current_language() -> str:
    if has_request_context():
        return g.get("federation_lang", i18n.DEFAULT_LANGUAGE)
    return i18n.DEFAULT_LANGUAGE


def translate(key: str, **params: object) -> str:
    """Message in the current request's language (for views that flash or log citizen-facing text)."""
    catalogue: i18n.Catalogue = current_app.extensions[BLUEPRINT_NAME]["catalogue"]
    return catalogue.text(current_language(), key, **params)


def _given(value: object) -> bool:
    return value is not None and not isinstance(value, Undefined) and value != ""


def saml_post_fields(
    *, saml_request: object = None, saml_response: object = None, relay_state: object = None
) -> tuple[tuple[str, str], ...]:
    """Hidden fields of an HTTP-POST binding form: exactly one SAML message, RelayState if any."""
    if _given(saml_request) == _given(saml_response):
        raise ValueError("a SAML POST form carries exactly one of SAMLRequest or SAMLResponse")
    name, value = ("SAMLRequest", saml_request) if _given(saml_request) else ("SAMLResponse", saml_response)
    if isinstance(value, bytes):
        value = value.decode("ascii")
    fields = [(name, str(value))]
    if _given(relay_state):
        fields.append(("RelayState", str(relay_state)))
    return tuple(fields)


_CSRF_INPUT = Markup(f'<input type="hidden" name="{CSRF_FIELD_NAME}" value="%s">')  # noqa: S704 (a constant)


@pass_context
def csrf_field(context: Context) -> Markup:
    """A hidden CSRF input if the app provides ``csrf_token`` (a Jinja global or context value)."""
    token = context.get("csrf_token")
    if callable(token):
        token = token()
    if not _given(token):
        return Markup("")
    return _CSRF_INPUT % (token,)  # `%` escapes the token as `Markup.format` did, at a third of its cost


def local_path(path: str) -> str:
    """`path` as a link that cannot leave this site.

    Browsers read a link starting `//` or `/\\` as another host's, and a request path can start so
    (`/%5Cattacker.example/` arrives as `/\\attacker.example/`): leading slashes and backslashes collapse
    to one slash, and the rest is percent-encoded, so the link is always a path on this site.
    """
    return quote("/" + path.lstrip("/\\"), safe="/-._~!$&'()*+,;=:@")


def _serves_get(path: str) -> bool:
    """Whether this app answers a GET at `path` (the step a form on that path belongs to)."""
    return _map_serves_get(current_app.url_map, path)


@functools.lru_cache(maxsize=1024)
def _map_serves_get(url_map: Map, path: str) -> bool:
    """`_serves_get`, remembered: an app's routes are fixed once it serves (bounded: a path is the sender's)."""
    try:
        url_map.bind("localhost").match(path, method="GET")
    except HTTPException:
        return False
    return True


@functools.lru_cache(maxsize=1024)
def _language_link(path: str, lang: str) -> str:
    """The language link to `path`, remembered (bounded: a path is the sender's)."""
    return f"{local_path(path)}?{urlencode({i18n.LANGUAGE_PARAM: lang})}"


def _lang_switch_url(lang: str, path: str | None = None) -> str:
    """Link that switches language and keeps the citizen on the same step. Other query parameters are
    dropped on purpose: a page reached with a SAML message in its query string must not replay it. A page
    answering a POST links to the same step's GET (the form again, in the other language) when there is
    one, else to the app's ``service_url``, unless the template passes ``path``."""
    if not i18n.is_supported(lang):
        raise ValueError(f"unsupported language {lang!r}")
    if path is None or isinstance(path, Undefined):
        if request.method in ("GET", "HEAD") or _serves_get(request.path):
            path = request.script_root + request.path
        else:
            path = current_app.extensions[BLUEPRINT_NAME]["service_url"]
    return _language_link(path, lang)


LANGUAGE_CONTEXT = "federation_lang"  # the page's language, in the context of every page render_template renders


def _language_context(catalogue: i18n.Catalogue) -> Callable[[], dict[str, object]]:
    """A context processor giving each page its language once: `_` and `_p` bound to it, and the language and
    the other one (for the language link). Without it every message looked the language up in the request
    (a context-local lookup, about seventy a page). Templates rendered without it (an imported macro gets
    the globals only) use the global `_` and `_p`, which look the language up per message: the same text."""
    contexts = {
        lang: {
            "_": i18n.bound_translator(catalogue, lang),
            "_p": functools.partial(catalogue.paragraphs, lang),
            LANGUAGE_CONTEXT: lang,
            "federation_other_lang": i18n.other_language(lang),
        }
        for lang in i18n.SUPPORTED_LANGUAGES
    }

    def language_context() -> dict[str, object]:
        return contexts[current_language()]

    return language_context


def _language_of(context: Context) -> str:
    """The language of the page being rendered: from its context, else (an imported macro) the request's."""
    # not `context.get`: a missing name raises inside it, and every imported macro's context misses this one
    return context.vars.get(LANGUAGE_CONTEXT) or context.parent.get(LANGUAGE_CONTEXT) or current_language()


@pass_context
def _localize_filter(context: Context, value: object) -> str:
    return i18n.localize(value, _language_of(context))


@pass_context
def _paragraphs_filter(context: Context, value: object) -> tuple[str, ...]:
    return i18n.split_paragraphs(value, _language_of(context))


def _language_asked(req: Request) -> tuple[str | None, str | None]:
    """`?lang=` and the language cookie of a request, as sent (None when absent).

    The query string and cookies are parsed only when they can hold the name (a percent-encoded query
    may spell it so): most requests have neither, and a miss in Werkzeug's MultiDict costs an exception."""
    environ = req.environ
    query = environ.get("QUERY_STRING", "")
    asked = req.args.get(i18n.LANGUAGE_PARAM) if i18n.LANGUAGE_PARAM in query or "%" in query else None
    cookies = environ.get("HTTP_COOKIE", "")
    remembered = req.cookies.get(i18n.LANGUAGE_COOKIE) if i18n.LANGUAGE_COOKIE in cookies else None
    return asked, remembered


def _sync_once(ensure_sync: Callable[[Callable[..., Any]], Callable[..., Any]]) -> Callable[..., Any]:
    """Flask's `ensure_sync`, remembered per function: Flask asks it of every view and hook on every request
    (about six `inspect` calls a request), and a function's answer never changes. Bounded, as a request's
    own `after_this_request` functions are new each time."""
    return functools.lru_cache(maxsize=1024)(ensure_sync)


def register_web(
    app: Flask,
    *,
    service_name: LocalizedLike,
    form_action_origins: Origins = (),
    service_url: str = "/",
    phase: str = "beta",
    messages: Mapping[str, Mapping[str, Any]] | None = None,
    assets_dir: Path | str | None = None,
    pages: ServicePages | None = None,
) -> None:
    """Configure a Flask app for GOV.UK-styled bilingual pages.

    ``service_name``: text shown in the header, a string, ``{"en": ..., "cy": ...}``, an object with
    ``en``/``cy`` attributes, or a callable taking the language code.
    ``form_action_origins``: URLs (or origins) this app's pages may POST forms to besides itself, e.g.
    the IDPs' SSO URLs and RP ACS URLs for the hub, the hub SSO URL for an RP or IDP; a callable is
    re-evaluated on every response (for metadata that refreshes).
    ``messages``: the app's own catalogue entries ``{"en": {...}, "cy": {...}}`` merged over ours.
    ``pages``: the cookies, privacy, accessibility, help and feedback pages, linked from every footer.
    """
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
    if "jinja_env" in app.__dict__:  # Flask builds it on first use, from `app.jinja_environment`
        raise RuntimeError("register_web must be called before the app's Jinja environment is first used")
    app.jinja_environment = FederationEnvironment
    app.ensure_sync = _sync_once(app.ensure_sync)  # type: ignore[method-assign]
    catalogue = i18n.default_catalogue().merged(messages)
    assets = Path(assets_dir) if assets_dir is not None else static_folder()

    app.jinja_env.add_extension(FragmentCacheExtension)
    app.jinja_env.loader = ChoiceLoader(
        [
            app.jinja_env.loader,
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            PackageLoader("federation.web", "templates"),
        ]
    )
    inline_hashes = script_hashes(app.jinja_env.get_template("federation/_inline_script_probe.html").render())
    csp_of = csp_for_origins(inline_hashes)

    def csp() -> str:
        return csp_of(form_action_origins() if callable(form_action_origins) else form_action_origins)

    static_csp = None if callable(form_action_origins) else csp()

    app.extensions[BLUEPRINT_NAME] = {
        "catalogue": catalogue,
        "service_url": service_url,
        "assets_dir": assets,
    }

    blueprint = Blueprint(BLUEPRINT_NAME, __name__)

    @blueprint.get("/static/govuk/<path:filename>")
    def govuk_static(filename: str) -> Response:
        return send_from_directory(assets, filename, max_age=ASSET_MAX_AGE)

    @blueprint.get("/static/federation/<path:filename>")
    def federation_static(filename: str) -> Response:
        return send_from_directory(package_static_folder(), filename, max_age=ASSET_MAX_AGE)

    @blueprint.before_app_request
    def choose_language() -> None:
        req = request._get_current_object()  # type: ignore[attr-defined]  # one context lookup, not one per use
        choice = _language_asked(req)
        request_globals = g._get_current_object()  # type: ignore[attr-defined]
        request_globals.federation_lang = i18n.choose_language(*choice)
        request_globals.federation_lang_asked = choice

    @blueprint.after_app_request
    def finish_response(response: Response) -> Response:
        req = request._get_current_object()  # type: ignore[attr-defined]
        asked, remembered = g.pop("federation_lang_asked", None) or _language_asked(req)
        secure = req.is_secure
        if i18n.is_supported(asked) and remembered != asked:
            response.set_cookie(
                i18n.LANGUAGE_COOKIE,
                asked,
                max_age=365 * 24 * 3600,
                secure=secure,
                httponly=True,
                samesite="Lax",
            )
        return apply_security_headers(response, static_csp or csp(), secure=secure)

    app.register_blueprint(blueprint)

    @pass_context
    def service_name_text(context: Context) -> str:
        return i18n.localize(service_name, _language_of(context))

    app.jinja_env.globals.update(
        _=i18n.translator(catalogue, current_language),
        _p=lambda key, **params: catalogue.paragraphs(current_language(), key, **params),
        has_message=catalogue.has,
        current_language=current_language,
        other_language=lambda: i18n.other_language(current_language()),
        lang_switch_url=_lang_switch_url,
        csrf_field=csrf_field,
        federation_service_name=service_name_text,
        federation_service_url=service_url,
        federation_phase=phase,
        saml_post_fields=saml_post_fields,
    )
    if pages is not None:
        register_service_pages(app, pages)
    if op_counts.ENABLED:  # a benchmark counts page renders; otherwise nothing is connected
        template_rendered.connect(op_counts.on_template_rendered, app)
    app.jinja_env.filters["localize"] = _localize_filter
    app.jinja_env.filters["paragraphs_of"] = _paragraphs_filter
    app.context_processor(_language_context(catalogue))
