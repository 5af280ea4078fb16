"""The apps' Jinja environment: template globals that still follow the environment's, and imports that still
see every global (federation/web/environment.py)."""

from __future__ import annotations

import pytest
from flask import Flask, render_template_string
from jinja2 import DictLoader, pass_context, pass_environment, pass_eval_context
from jinja2.runtime import Context

from federation.web import register_web
from federation.web.environment import FederationContext, FederationEnvironment, FederationTemplate, TemplateGlobals
from tests.unit.web.conftest import make_app


def test_register_web_gives_the_app_the_federation_environment() -> None:
    app = make_app()
    assert isinstance(app.jinja_env, FederationEnvironment)
    assert isinstance(app.jinja_env.get_template("start.html").globals, TemplateGlobals)


def test_register_web_refuses_an_environment_already_in_use() -> None:
    app = Flask(__name__)
    app.jinja_env.globals["early"] = True
    with pytest.raises(RuntimeError, match="before the app's Jinja environment"):
        register_web(app, service_name="A service")


def test_template_globals_keys_are_every_layer_and_follow_later_globals() -> None:
    environment_globals = {"a": 1}
    template_globals = TemplateGlobals({"b": 2}, environment_globals)
    assert template_globals.keys() == {"a", "b"}
    environment_globals["c"] = 3  # a global added after the template was loaded (csrf_token is, in the apps)
    assert template_globals.keys() == {"a", "b", "c"}
    assert template_globals["c"] == 3
    template_globals.maps[0]["a"] = "own"  # a template's own global hides the environment's
    assert template_globals["a"] == "own" and dict(template_globals, d=4) == {"a": "own", "b": 2, "c": 3, "d": 4}
    with pytest.raises(KeyError):
        template_globals["missing"]
    assert template_globals.get("missing", "default") == "default" and "missing" not in template_globals


def test_a_macro_imported_by_a_template_sees_a_global_added_after_it_was_loaded() -> None:
    app = make_app()
    env = app.jinja_env
    env.loader.loaders.insert(0, DictLoader({"m.html": "{% macro shout() %}{{ late() }}!{% endmacro %}"}))
    source = '{% from "m.html" import shout %}{{ shout() }}'
    with app.test_request_context("/"):
        env.get_template("m.html")  # loaded before the global exists
        env.globals["late"] = lambda: "hello"
        assert render_template_string(source) == "hello!"


def test_flask_asks_whether_a_function_is_async_once_per_function():
    app = make_app()
    client = app.test_client()
    assert client.get("/page/start.html").status_code == 200
    asked = app.ensure_sync.cache_info().misses
    assert client.get("/page/start.html").status_code == 200
    assert app.ensure_sync.cache_info().misses == asked, "the second request asks nothing again"
    assert app.ensure_sync.cache_info().hits > 0

    def view():  # a plain function comes back as it is
        return "ok"

    assert app.ensure_sync(view) is view


def test_template_calls_pass_what_each_callable_asks_for() -> None:
    """FederationContext calls a plain function directly; marked functions, callable objects and macros still
    get what Jinja gives them, in loops too."""
    app = make_app()
    env = app.jinja_env
    assert env.context_class is FederationContext

    class Shouter:
        @pass_context
        def __call__(self, context, word):
            return f"{word}!{context['suffix']}"

        @pass_context
        def marked(self, context, word):
            return f"{word}?{context['suffix']}"

        def plain(self, word):
            return f"{word}."

    def stops():
        raise StopIteration

    env.globals.update(
        plain=lambda *args, **kwargs: f"{args}{sorted(kwargs)}",
        with_context=pass_context(lambda context, word: f"{word}{context['suffix']}{context.get('item', '')}"),
        with_env=pass_environment(lambda environment, word: f"{word}{environment is env}"),
        with_eval=pass_eval_context(lambda eval_ctx, word: f"{word}{eval_ctx.autoescape}"),
        shout=Shouter(),
        marked_method=Shouter().marked,
        plain_method=Shouter().plain,
        stops=stops,
    )
    source = (
        "{% macro m(x) %}<{{ x }}>{% endmacro %}"
        "{{ plain(1, a=2) }}|{{ with_context('w') }}|{{ with_env('e') }}|{{ with_eval('v') }}|{{ shout('s') }}|"
        "{{ m('k') }}|{{ stops() }}|{{ marked_method('a') }}|{{ plain_method('b') }}|"
        "{% for item in ['i'] %}{{ with_context('l') }}{{ plain(item) }}{% endfor %}"
    )
    with app.test_request_context("/"):
        ours = render_template_string(source, suffix="-x")
        env.context_class = Context  # Jinja's own
        try:
            jinjas = render_template_string(source, suffix="-x")
        finally:
            env.context_class = FederationContext
    assert ours == jinjas == "(1,)[&#39;a&#39;]|w-x|eTrue|vTrue|s!-x|<k>||a?-x|b.|l-x(&#39;i&#39;,)[]"


def test_a_renders_context_is_the_templates_globals_over_the_environments_and_the_values_over_both() -> None:
    app = make_app()
    env = app.jinja_env
    env.globals.update(shared_name="environment", only_env="env")
    env.loader.loaders.insert(
        0,
        DictLoader(
            {
                "page.html": "{{ shared_name }}|{{ only_env }}|{{ only_template }}|{{ given }}"
                '|{% from "m.html" import m with context %}{{ m() }}',
                "m.html": "{% macro m() %}{{ given }}{% endmacro %}",
            }
        ),
    )
    template = env.get_template("page.html", globals={"shared_name": "template", "only_template": "t"})
    assert isinstance(template, FederationTemplate)
    assert template.render(given="value") == "template|env|t|value|value"
    assert template.render(given="value", shared_name="render") == "render|env|t|value|value"
