"""The Jinja environment of the four apps: Flask's, with template globals whose key set is cheap to take.

Every `{% from "..." import macro %}` runs again on every render (in our templates, and inside the GOV.UK
macros, which import each other: the start page does about 25 such imports). Before reusing the imported
module, Jinja subtracts the imported template's globals' keys from the caller's: `set - ChainMap.keys()`,
which tests every key with a Python-level `any()` over the chain's maps. That subtraction was about a third
of a journey page's render time. Here `keys()` returns the keys as a plain set (made in C), so the same
subtraction costs a few microseconds. The globals stay a `ChainMap` over the environment's globals, so a
global added after a template was loaded is still seen, as in Jinja.

Every call in a template (`{{ _('key') }}`, `url_for`, `csrf_field()`) goes through `Context.call`, which
asks the callable (and its `__call__`) whether it wants the context or the environment passed: two
attribute tests that fail by raising, about a microsecond a call and some thirty calls a page.
`FederationContext` answers that at once for a plain Python function, a bound method of one, or a macro,
without a `pass_context`-style mark; everything else goes through Jinja's own `call`.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, MutableMapping
from types import FunctionType, MethodType
from typing import Any

from flask.templating import Environment
from jinja2 import Template
from jinja2.runtime import Context, Macro

__all__ = ["FederationContext", "FederationEnvironment", "FederationTemplate", "TemplateGlobals"]


class TemplateGlobals(ChainMap):
    """A template's globals over the environment's; `keys()` is a snapshot set, not a view.

    Every render copies the globals into the page's context (`dict(globals, **vars)`, a lookup per global):
    `ChainMap`'s lookup tries each map in turn and catches the KeyError of each miss, and a template's own
    map is nearly always empty, so that was a raised KeyError per global per render. Here a lookup asks
    each map whether it holds the key first."""

    def keys(self) -> set[str]:  # type: ignore[override]
        keys: set[str] = set()
        for mapping in self.maps:
            keys.update(mapping)
        return keys

    def __getitem__(self, key: str) -> Any:
        for mapping in self.maps:
            if key in mapping:
                return mapping[key]
        return self.__missing__(key)


class FederationContext(Context):
    """Jinja's template context, calling a plain function without asking it what it wants passed."""

    def call(__self, __obj: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (as Jinja's)
        # a function marked by pass_context, pass_eval_context or pass_environment carries `jinja_pass_arg`
        # in its own __dict__ (a function's __call__ never does, nor a macro): those, and every other kind of
        # callable (classes, objects with a __call__, builtins), take Jinja's way
        kind = type(__obj)
        if kind is MethodType:  # a bound method: marked if its function is (`_render` of the `cached` tag)
            function = __obj.__func__
            plain = type(function) is FunctionType and "jinja_pass_arg" not in function.__dict__
        else:
            plain = (kind is FunctionType or kind is Macro) and "jinja_pass_arg" not in __obj.__dict__
        if not plain:
            return Context.call(__self, __obj, *args, **kwargs)
        if kwargs:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:  # as Jinja's: a generator's end is not the template's
            return __self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception"
            )


class FederationTemplate(Template):
    """Jinja's template, making a render's context from its `TemplateGlobals` map by map (C dict updates)
    rather than by one Python-level lookup per global, as `dict(globals, **vars)` does for a mapping that is
    not a dict. The same context: the template's own globals over the environment's, the render's values
    over both."""

    def new_context(self, vars: dict[str, Any] | None = None, shared: bool = False, locals: Any = None) -> Context:
        if shared or locals or not isinstance(self.globals, TemplateGlobals):
            return super().new_context(vars, shared, locals)
        parent: dict[str, Any] = {}
        for mapping in reversed(self.globals.maps):
            parent.update(mapping)
        if vars:
            parent.update(vars)
        return self.environment.context_class(self.environment, parent, self.name, self.blocks, globals=self.globals)


class FederationEnvironment(Environment):
    """Flask's Jinja environment with `TemplateGlobals`, `FederationContext` and `FederationTemplate`
    (`register_web` installs it on each app)."""

    context_class = FederationContext
    template_class = FederationTemplate

    def make_globals(self, d: MutableMapping[str, Any] | None) -> TemplateGlobals:  # type: ignore[override]
        return TemplateGlobals({} if d is None else d, self.globals)
