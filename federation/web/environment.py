"""The Jinja environment of the four apps: Flask's, with template globals whose key set is cheap to take.

Every `{% from "..." import macro %}` runs again on every render (in our templates, and inside the GOV.UK
macros, which import each other: the start page does about 25 such imports). Before reusing the imported
module, Jinja subtracts the imported template's globals' keys from the caller's: `set - ChainMap.keys()`,
which tests every key with a Python-level `any()` over the chain's maps. That subtraction was about a third
of a journey page's render time. Here `keys()` returns the keys as a plain set (made in C), so the same
subtraction costs a few microseconds. The globals stay a `ChainMap` over the environment's globals, so a
global added after a template was loaded is still seen, as in Jinja.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import MutableMapping
from typing import Any

from flask.templating import Environment

__all__ = ["FederationEnvironment", "TemplateGlobals"]


class TemplateGlobals(ChainMap):
    """A template's globals over the environment's; `keys()` is a snapshot set, not a view."""

    def keys(self) -> set[str]:  # type: ignore[override]
        keys: set[str] = set()
        for mapping in self.maps:
            keys.update(mapping)
        return keys


class FederationEnvironment(Environment):
    """Flask's Jinja environment with `TemplateGlobals` (`register_web` installs it on each app)."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> TemplateGlobals:  # type: ignore[override]
        return TemplateGlobals({} if d is None else d, self.globals)
