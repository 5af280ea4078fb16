"""The cached page chrome renders exactly what the uncached chrome renders, and nothing per citizen is cached."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

import pytest
from flask import Flask, g, render_template
from markupsafe import Markup

from federation.config import DEMO_OPERATOR
from federation.web import register_web
from federation.web.fragments import FragmentCache
from federation.web.service_pages import LANGUAGE_COOKIE, FeedbackLog, ServicePages
from tests.unit.web.conftest import SAMPLES, make_app


@pytest.fixture(scope="module")
def paged_app() -> Flask:
    """The journey templates with the service pages in the footer, as the hub renders them."""
    pages = ServicePages(
        operator=DEMO_OPERATOR,
        cookies=(LANGUAGE_COOKIE,),
        feedback=FeedbackLog(Path(tempfile.mkdtemp()) / "feedback.jsonl", app="hub"),
    )
    return make_app(pages=pages)


def render(app: Flask, template: str, url: str, method: str = "GET", **extra: object) -> str:
    with app.test_request_context(url, method=method):
        app.preprocess_request()
        return render_template(template, **{**SAMPLES[template], **extra})


VARIANTS = list(
    itertools.product(
        ("en", "cy"),
        ("GET", "POST"),
        ("/page/start.html", "/other/path", "/%5Cevil.example/"),
        (None, "/choose-a-company"),
    )
)


@pytest.mark.parametrize("template", sorted(SAMPLES))
def test_cached_chrome_is_byte_identical_to_rendering_it_every_time(paged_app, template):
    cache: FragmentCache = paged_app.jinja_env.fragment_cache
    cached = {}
    for _ in range(2):  # the second round is served from the cache, warmed by every other variant
        for lang, method, path, toggle in VARIANTS:
            extra = {"language_toggle_path": toggle} if toggle else {}
            cached[lang, method, path, toggle] = render(paged_app, template, f"{path}?lang={lang}", method, **extra)
    assert len(cache) > 0
    cache.enabled = False
    try:
        for (lang, method, path, toggle), html in cached.items():
            extra = {"language_toggle_path": toggle} if toggle else {}
            assert render(paged_app, template, f"{path}?lang={lang}", method, **extra) == html
    finally:
        cache.enabled = True


def test_chrome_follows_the_language_and_the_path_it_links_back_to(paged_app):
    welsh = render(paged_app, "what_you_need.html", "/one?lang=cy")
    english = render(paged_app, "what_you_need.html", "/two?lang=en")
    assert "Neidio i&#39;r prif gynnwys" in welsh and "Skip to main content" in english
    assert "/feedback?from=/one" in welsh and "/feedback?from=/two" in english
    assert "from=/one" not in english


def test_session_timing_and_csrf_tokens_are_never_cached(paged_app):
    pages = []
    for minute, token in (("10:05", "token-one"), ("10:35", "token-two")):
        timing = {
            "expires_at": f"2026-01-01T{minute}:00+00:00",
            "ends_at": minute,
            "warn_now": True,
            "warn_seconds": 900,
            "can_extend": True,
            "extend_action": "/more-time",
            "return_to": "/what-you-need",
        }
        pages.append(render(paged_app, "what_you_need.html", "/what-you-need", session_timing=timing, csrf_token=token))
    assert "10:05" in pages[0] and "token-one" in pages[0]
    assert "10:35" in pages[1] and "token-two" in pages[1] and "token-one" not in pages[1]


def test_a_service_name_chosen_per_request_is_part_of_the_key():
    """The stub IDPs name the service after the identity provider the request is for."""
    app = Flask(__name__)
    register_web(app, service_name=lambda lang: g.get("idp_name", "Stub IDPs"))

    @app.get("/<name>/page")
    def page(name: str) -> str:
        g.idp_name = name
        return render_template("federation/saml_post.html", action="https://x.test/", saml_response="eA==")

    client = app.test_client()
    for _ in range(2):
        assert "Bank IDP" in client.get("/Bank IDP/page").get_data(as_text=True)
        other = client.get("/Post IDP/page").get_data(as_text=True)
        assert "Post IDP" in other and "Bank IDP" not in other


def test_each_app_has_its_own_cache():
    first, second = make_app(service_name="First service"), make_app(service_name="Second service")
    assert "First service" in render(first, "start.html", "/start")
    assert "Second service" in render(second, "start.html", "/start")
    assert first.jinja_env.fragment_cache is not second.jinja_env.fragment_cache


def test_the_cache_is_bounded_whatever_paths_are_asked_for():
    cache = FragmentCache(max_entries=8)
    for number in range(100):
        cache.get_or_render(("footer", f"/path/{number}"), lambda number=number: Markup(f"<p>{number}</p>"))
    assert len(cache) == 8
    assert cache.get_or_render(("footer", "/path/99"), lambda: Markup("rendered again")) == "<p>99</p>"
    assert cache.get_or_render(("footer", "/path/0"), lambda: Markup("rendered again")) == "rendered again"
