"""The federation (four real servers) for the hostile suite, with forging and log helpers.

It is started as in tests/e2e/conftest.py, but with the hub's per-client rate limit off (every attack here
comes from 127.0.0.1 in quick succession, and the refusal under test must be the validation's, not a 429),
and with the local matcher as a process of its own, so that its listener and token can be attacked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import browser  # noqa: F401  (reused fixture)
from tests.hostile.forge import Forge, make_forge
from tests.support.federation_under_test import running_federation

BAD_REQUEST_HEADING = "Sorry, there is a problem with your request"


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("hostile-var")


@pytest.fixture(scope="session")
def federation(keys_dir, var_dir):
    # The local matcher as a process of its own: test_local_matcher_edge attacks its listener and token.
    with running_federation(var_dir, keys_dir, separate_local_matcher=True, HUB_RATE_LIMIT_PER_MINUTE="0") as running:
        yield running


@pytest.fixture(scope="session")
def forge(keys_dir, federation) -> Forge:
    return make_forge(keys_dir, federation)


class LogWatch:
    """The part of a service log written after `mark()`: a refusal must be logged by the request under test."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def mark(self) -> LogWatch:
        self.offset = self.path.stat().st_size if self.path.exists() else 0
        return self

    def new_text(self) -> str:
        if not self.path.exists():
            return ""
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            return handle.read().decode("utf-8", errors="replace")

    def wait_for(self, needle: str, timeout: float = 2.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.new_text()
            if needle in text or time.monotonic() > deadline:
                return text
            time.sleep(0.05)


@pytest.fixture
def hub_log(var_dir) -> Callable[[], LogWatch]:
    """`hub_log()` marks the hub log's current end; `.wait_for(text)` returns what was written since."""
    return lambda: LogWatch(var_dir / "log" / "hub.log").mark()
