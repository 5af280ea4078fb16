"""The layering rules of the code base, as a test that fails when one is broken.

- Journey policy (`hub/policy/`) is plain Python: no web framework, no XML, no SAML, no I/O client.
- The apps (`hub/`, `stub_idps/`, `matching_service/`, `relying_party_example/`) and the client library
  (`hub_client/`) never touch lxml, the xmlsec binding or pysaml2 themselves: XML, signatures and
  encryption belong to `federation/`.
- `federation/` (the shared core) imports no app and not the client library.

Imports are read from the source (every `import` and `from ... import`, at any depth in the module, also
inside functions), so a rule cannot be dodged by importing lazily.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APPS = ("hub", "stub_idps", "matching_service", "relying_party_example", "hub_client")
XML_LIBRARIES = ("lxml", "xmlsec", "saml2")
POLICY_FORBIDDEN = (
    "flask",
    "werkzeug",
    "jinja2",
    *XML_LIBRARIES,
    "federation.saml",
    "federation.xmlsecurity",
    "federation.metadata",
    "federation.web",
    "requests",
    "redis",
    "hub.engines",
    "hub.frontends",
    "hub.views",
    "hub.store",
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def _breaking(path: Path, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(name for name in _imports(path) if any(name == f or name.startswith(f + ".") for f in forbidden))


@pytest.mark.parametrize("path", _modules("hub/policy"), ids=lambda p: str(p.relative_to(REPO)))
def test_journey_policy_is_plain_python(path):
    assert not _breaking(path, POLICY_FORBIDDEN), (
        f"{path.relative_to(REPO)} imports {_breaking(path, POLICY_FORBIDDEN)}"
    )


@pytest.mark.parametrize("path", [p for app in APPS for p in _modules(app)], ids=lambda p: str(p.relative_to(REPO)))
def test_apps_leave_xml_to_the_shared_core(path):
    assert not _breaking(path, XML_LIBRARIES), f"{path.relative_to(REPO)} imports {_breaking(path, XML_LIBRARIES)}"


@pytest.mark.parametrize("path", _modules("federation"), ids=lambda p: str(p.relative_to(REPO)))
def test_the_shared_core_imports_no_app(path):
    assert not _breaking(path, APPS), f"{path.relative_to(REPO)} imports {_breaking(path, APPS)}"


def test_the_rules_see_what_they_police(tmp_path):
    """The checker itself: a lazy import inside a function is still an import."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from lxml import etree\n    import flask\n")
    assert _breaking(module, POLICY_FORBIDDEN) == ["flask", "lxml", "lxml.etree"]
