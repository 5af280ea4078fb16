"""The integration guide shows the example services as they stand, and keeps its promise about their size.

The examples themselves run against the real hub in tests/e2e/test_integration_guide.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "integration-guide.md"
EXAMPLES = ("python3_saml_settings", "python3_saml_app", "hub_client_app", "oidc_app")


def code_of(name: str) -> list[str]:
    """The example's lines after its module docstring."""
    source = (REPO / "docs" / "examples" / f"{name}.py").read_text(encoding="utf-8")
    return source.splitlines()[ast.parse(source).body[0].end_lineno :]


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_guide_shows_each_example_as_it_stands(name):
    code = "\n".join(code_of(name)).strip("\n")
    assert f"```python\n{code}\n```" in GUIDE.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["python3_saml_app", "hub_client_app", "oidc_app"])
def test_each_example_service_is_under_30_lines_of_code(name):
    """Not counting the docstring, comments or blank lines."""
    lines = [line for line in code_of(name) if line.strip() and not line.strip().startswith("#")]
    assert len(lines) < 30
