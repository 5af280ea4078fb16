"""English and Welsh text for the citizen pages, from one catalogue per language.

The catalogues are YAML files in this package (``messages_en.yaml``, ``messages_cy.yaml``), nested
for readability and flattened to dotted keys (``start.heading``). An app can merge its own messages on top.
No gettext toolchain: the catalogues are small and a translator edits the YAML directly.
Texts are plain strings; templates autoescape them, so a message never carries HTML.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "cy")
DEFAULT_LANGUAGE = "en"
LANGUAGE_COOKIE = "lang"
LANGUAGE_PARAM = "lang"

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_MESSAGES_DIR = Path(__file__).resolve().parent

Message = str | tuple[str, ...]


def is_supported(lang: object) -> bool:
    return isinstance(lang, str) and lang in SUPPORTED_LANGUAGES


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Message]:
    flat: dict[str, Message] = {}
    for key, value in tree.items():
        if not isinstance(key, str):  # YAML reads unquoted yes/no/on/off keys as booleans: quote them
            raise ValueError(f"message key {prefix}{key!r} is not text: quote it in the YAML file")
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = tuple(str(item) for item in value)
        elif isinstance(value, str):
            flat[name] = value
        else:
            raise ValueError(f"message {name!r}: expected text or a list of texts, got {type(value).__name__}")
    return flat


def localize(value: object, lang: str) -> str:
    """Text in `lang` from whatever the config layer gives us.

    Accepts a plain string, a mapping ``{"en": ..., "cy": ...}``, an object with ``en``/``cy``
    attributes (e.g. a frozen LocalizedText dataclass) or a callable taking the language code.
    Falls back to English when the Welsh text is missing, so a page never shows a blank.
    """
    if isinstance(value, str):
        return value
    if not value:  # None, empty, or a Jinja Undefined
        return ""
    if isinstance(value, Mapping):
        text = value.get(lang) or value.get(DEFAULT_LANGUAGE)
        return "" if text is None else str(text)
    if callable(value):
        return str(value(lang))
    for code in (lang, DEFAULT_LANGUAGE):
        text = getattr(value, code, None)
        if text:
            return str(text)
    return str(value)


def _substitute(text: str, lang: str, params: Mapping[str, object]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in params:
            return match.group(0)
        return localize(params[name], lang)

    return _PLACEHOLDER.sub(replace, text)


@dataclass(frozen=True)
class Catalogue:
    """All messages, per language; lookups fall back to English, then to the key itself."""

    messages: Mapping[str, Mapping[str, Message]] = field(default_factory=dict)

    def has(self, key: str) -> bool:
        return key in self.messages.get(DEFAULT_LANGUAGE, {})

    def _lookup(self, lang: str, key: str) -> Message | None:
        for code in (lang, DEFAULT_LANGUAGE):
            found = self.messages.get(code, {}).get(key)
            if found is not None:
                return found
        return None

    def text(self, lang: str, key: str, **params: object) -> str:
        found = self._lookup(lang, key)
        if found is None:
            return key
        if isinstance(found, tuple):
            found = " ".join(found)
        return _substitute(found, lang, params)

    def paragraphs(self, lang: str, key: str, **params: object) -> tuple[str, ...]:
        found = self._lookup(lang, key)
        if found is None:
            return ()
        items = (found,) if isinstance(found, str) else found
        return tuple(_substitute(item, lang, params) for item in items)

    def merged(self, extra: Mapping[str, Mapping[str, Any]] | None) -> Catalogue:
        """A new catalogue with an app's own messages (nested or dotted keys) on top of ours."""
        if not extra:
            return self
        combined: dict[str, Mapping[str, Message]] = {}
        for lang in sorted(set(self.messages) | set(extra)):
            if not is_supported(lang):
                raise ValueError(f"unsupported language in messages: {lang!r}")
            merged = dict(self.messages.get(lang, {}))
            merged.update(_flatten(extra.get(lang, {})))
            combined[lang] = MappingProxyType(merged)
        return Catalogue(MappingProxyType(combined))

    def missing_translations(self) -> dict[str, tuple[str, ...]]:
        """Keys present in English but absent in another language (a translator's to-do list)."""
        english = set(self.messages.get(DEFAULT_LANGUAGE, {}))
        return {
            lang: tuple(sorted(english - set(self.messages.get(lang, {}))))
            for lang in SUPPORTED_LANGUAGES
            if lang != DEFAULT_LANGUAGE
        }


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    """The shared catalogue, read once per process."""
    loaded: dict[str, Mapping[str, Message]] = {}
    for lang in SUPPORTED_LANGUAGES:
        path = _MESSAGES_DIR / f"messages_{lang}.yaml"
        with path.open(encoding="utf-8") as handle:
            tree = yaml.safe_load(handle) or {}
        loaded[lang] = MappingProxyType(_flatten(tree))
    return Catalogue(MappingProxyType(loaded))


def choose_language(query_lang: str | None, cookie_lang: str | None) -> str:
    """`?lang=` wins, then the remembered cookie, then English."""
    for candidate in (query_lang, cookie_lang):
        if is_supported(candidate):
            return candidate  # type: ignore[return-value]
    return DEFAULT_LANGUAGE


def split_paragraphs(value: object, lang: str) -> tuple[str, ...]:
    """Config-supplied free text (e.g. "other ways to prove your identity") as paragraphs."""
    text = localize(value, lang).replace("\r\n", "\n")
    return tuple(part.strip() for part in re.split(r"\n\s*\n", text) if part.strip())


def translator(catalogue: Catalogue, lang_getter: Callable[[], str]) -> Callable[..., str]:
    """`_` for a template that has no language of its own (an imported macro, a page rendered outside a
    request): the language is looked up on every message."""

    def translate(key: str, **params: object) -> str:
        return catalogue.text(lang_getter(), key, **params)

    return translate


def bound_translator(catalogue: Catalogue, lang: str) -> Callable[..., str]:
    """`catalogue.text` with the language chosen once: the messages in `lang` (English where it has none)
    in one table, so a page's few dozen messages are each a dictionary lookup. Same text as
    `catalogue.text(lang, ...)`: without parameters a message's placeholders stay as they are there too."""
    texts: dict[str, str] = {}
    for code in (DEFAULT_LANGUAGE, lang):
        for key, found in catalogue.messages.get(code, {}).items():
            texts[key] = " ".join(found) if isinstance(found, tuple) else found

    def translate(key: str, **params: object) -> str:
        found = texts.get(key)
        if found is None:
            return key
        return _substitute(found, lang, params) if params else found

    return translate


def other_language(lang: str, languages: Iterable[str] = SUPPORTED_LANGUAGES) -> str:
    return next(code for code in languages if code != lang)


def with_language(url: str, language: str | None) -> str:
    """`url` with the `lang` parameter another party's pages honour (the hub's, a company's): how the
    citizen's language is carried from the service to the hub and from the hub to the company. It sits
    outside any signed SAML message: it only chooses the pages' language."""
    if not is_supported(language):
        return url
    return f"{url}{'&' if '?' in url else '?'}{LANGUAGE_PARAM}={language}"
