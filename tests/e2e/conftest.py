"""Browser tests: Debian's chromium driven by PyPI playwright (no browser download).

A missing chromium FAILS these tests (``scripts/setup.sh`` installs it as root), unless
``DYNAMO_TEST_SKIP_BROWSER=1`` turns that into a skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        if os.environ.get("DYNAMO_TEST_SKIP_BROWSER") == "1":
            pytest.skip("no chromium (DYNAMO_TEST_SKIP_BROWSER=1)")
        pytest.fail("chromium is not installed: run scripts/setup.sh as root")
    driver: Playwright
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()
