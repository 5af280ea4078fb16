"""In-process cache of the page chrome: `{% cached "name", key, ... %}...{% endcached %}` in a template.

The GOV.UK header, service navigation, phase banner and footer were rendered from their macros on every
page (the page template even renders its header and footer twice, to find out whether they are empty: our
base.html now writes the <header> and <footer> out instead), and were most of a page's render time, though
their output depends only on the language, the path the "from" links carry, the service name and the app.
A `cached` block renders its body once per key and then returns the stored output.

The key is the block's whole input: the template names every value the body reads, and nothing that
belongs to a citizen, a session or a message may be one (no CSRF token, CSP nonce, session-timing notice,
SAML message or personal data ever goes inside a `cached` block). The cache is one per Jinja environment
(one per app), bounded (least recently used out: a path is chosen by whoever sends the request), and can be
switched off, which the tests use to prove each cached block renders exactly what the uncached one does.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from jinja2 import Environment, nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from markupsafe import Markup

__all__ = ["DEFAULT_MAX_ENTRIES", "FragmentCache", "FragmentCacheExtension"]

DEFAULT_MAX_ENTRIES = 2048  # a few KB each: at most a few MB per app


class FragmentCache:
    """A bounded, thread-safe map from (block name, key) to rendered output."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self.enabled = True
        self._entries: OrderedDict[Hashable, Markup] = OrderedDict()
        self._lock = threading.Lock()
        self.renders = 0  # how many times a body was rendered (a miss), for tests and benchmarks

    def get_or_render(self, key: Hashable, render: Callable[[], Markup]) -> Markup:
        if not self.enabled:
            return render()
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        # the body's output is already escaped Markup (autoescaping templates); it is rendered outside the
        # lock: two threads may render the same key once each, which is harmless
        output = render()
        with self._lock:
            self.renders += 1
            self._entries[key] = output
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return output

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class FragmentCacheExtension(Extension):
    """The `cached` tag: `{% cached "header", lang, path %}...{% endcached %}` (name, then the key values)."""

    tags = {"cached"}

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.extend(fragment_cache=FragmentCache())

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        name = parser.parse_expression()
        key: list[nodes.Expr] = []
        while parser.stream.skip_if("comma"):
            key.append(parser.parse_expression())
        body = parser.parse_statements(("name:endcached",), drop_needle=True)
        call = self.call_method("_render", [name, nodes.Tuple(key, "load")])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _render(self, name: str, key: tuple[Hashable, ...], caller: Callable[[], Markup]) -> Markup:
        cache: FragmentCache = self.environment.fragment_cache  # type: ignore[attr-defined]
        return cache.get_or_render((name, *key), caller)
