"""The integration guide's example files (docs/examples), imported as they stand: not a package, so each
is loaded from its path under a module name of its own."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from federation.runtime import REPO_DIR

EXAMPLES_DIR = REPO_DIR / "docs" / "examples"


def load_example(name: str) -> ModuleType:
    """A fresh module for `docs/examples/<name>.py` (its globals its own, e.g. an app's pending requests)."""
    spec = importlib.util.spec_from_file_location(f"docs_example_{name}", EXAMPLES_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
