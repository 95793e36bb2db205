"""Driving the panel like a person: Debian's chromium, and the steps every test repeats."""

from __future__ import annotations

import re
from collections.abc import Mapping

from playwright.sync_api import Locator, Page, expect

from tests.support.hub import Hub
from tests.web.accounts import Account

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags chromium calls out to Google, which this
# machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def sign_in(page: Page, account: Account) -> None:
    page.goto("/sign-in")
    page.get_by_label("Email").fill(account.email)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/inference$"))


def create_key(
    page: Page,
    hub: Hub,
    name: str,
    models: tuple[str, ...] = (),
    limits: Mapping[str, str] | None = None,
) -> str:
    """Create a key through its window, filling in `limits` (field label: text); its secret,
    as the page shows it once."""
    page.get_by_role("button", name="Create model access key").first.click()
    window = page.get_by_role("dialog", name="Add model access key")
    window.get_by_label("Key name").fill(name)
    for model in models:
        window.get_by_role("checkbox", name=re.compile(re.escape(model))).check()
    for label, value in (limits or {}).items():
        window.get_by_label(label).fill(value)
    window.get_by_role("button", name="Add model access key").click()
    expect(window).to_be_hidden()
    secret = page.get_by_label(f"Secret of {name}").input_value()
    hub.issued.add(secret)
    return secret


def open_menu_item(page: Page, key_name: str, item: str) -> None:
    page.get_by_label(f"Actions for {key_name}", exact=True).click()
    page.get_by_role("button", name=item, exact=True).click()


def csrf_token(page: Page) -> str:
    """The form token of the signed-in page, as a script on this site could read it."""
    return page.locator("input[name=csrf_token]").first.input_value()


def key_row(page: Page, name: str) -> Locator:
    """The list's row for the key called exactly `name`."""
    return page.locator("tr[data-key]").filter(has=page.get_by_role("cell", name=name, exact=True))
