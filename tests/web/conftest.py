"""Browser fixtures: one headless Debian chromium, a fresh context per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.web.accounts import Accounts
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS

DESKTOP: ViewportSize = {"width": 1280, "height": 800}


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One chromium for the browser tests of one backend.

    Not session-wide: while Playwright's sync API is open, the main thread counts as running
    an event loop, and pytest-asyncio can run no async test. Scoped to this package, it closes
    before the rest of the suite runs.
    """
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, hub: Hub) -> Iterator[Page]:
    """A page in a fresh context (no cookies), which fails the test on any script error."""
    context = browser.new_context(
        base_url=hub.url, viewport=DESKTOP, permissions=["clipboard-read", "clipboard-write"]
    )
    context.set_default_timeout(10_000)
    errors: list[str] = []
    tab = context.new_page()
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"script errors on the page: {errors}"


@pytest.fixture(scope="session")
def accounts(hub: Hub, loop: BackgroundLoop) -> Iterator[Accounts]:
    made = Accounts(hub, loop)
    yield made
    made.close()
