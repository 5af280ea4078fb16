"""Debian's Chromium driven by Playwright, for the real-browser tests.

Playwright's own browser download (`playwright install`) is never used: the tests run the distribution's
Chromium, which `make test` installs. When it is absent the tests skip and say so; any other failure to
start it is a test failure, not a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = (
    "--headless=new",
    "--no-sandbox",  # the tests may run as root in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # no calls home while a journey runs
    "--disable-component-update",
    "--disable-sync",
)
NAVIGATION_TIMEOUT_MS = 15_000


def skip_unless_installed(path: Path = CHROMIUM) -> None:
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.skip(f"Debian's chromium is not installed (make test installs it): no executable {path}")


@contextmanager
def chromium(path: Path = CHROMIUM) -> Iterator[Browser]:
    """A headless Chromium for one test module; skips only when Debian's chromium is not installed."""
    skip_unless_installed(path)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(path), args=list(LAUNCH_ARGS))
        try:
            yield browser
        finally:
            browser.close()
