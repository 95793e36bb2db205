"""The Model catalog page: sorting, filtering, comparing, and examples that really run."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
from playwright.sync_api import Page, expect

from tests.support.catalog import DEDICATED_TEAM, UNSERVED, servable
from tests.support.hub import Hub
from tests.web.accounts import Accounts

KEYS = "/v2/gen-ai/models/api_keys"


def column(page: Page, index: int) -> list[str]:
    """The text of one column of the catalog table, top to bottom."""
    cells = page.locator("#catalog tbody tr").locator(f":scope > :nth-child({index})")
    return [text.strip() for text in cells.all_inner_texts()]


def test_the_catalog_sorts_and_filters(page: Page, accounts: Accounts) -> None:
    accounts.enter(page, "viewer")
    page.get_by_role("link", name="Model catalog").click()
    expect(page.locator("#catalog tbody tr")).to_have_count(len(servable() | UNSERVED))

    page.get_by_role("link", name="Context window").click()
    expect(page.get_by_role("columnheader", name="Context window ▲")).to_have_attribute(
        "aria-sort", "ascending"
    )
    windows = [int(text.replace(",", "")) for text in column(page, 5)]
    assert windows == sorted(windows)
    assert windows[0] == 100
    page.get_by_role("link", name="Input / 1M").click()
    page.get_by_role("link", name="Input / 1M ▲").click()
    prices = [float(text.splitlines()[0].lstrip("$")) for text in column(page, 8)]
    assert prices == sorted(prices, reverse=True)
    assert prices[-1] == 0.02

    page.get_by_label("Type").select_option("embedding")
    page.get_by_role("button", name="Filter").click()
    assert column(page, 4) == ["embedding"]
    page.get_by_label("Type").select_option("chat")
    page.get_by_label("Provider").select_option("fake")
    page.get_by_role("button", name="Filter").click()
    assert set(column(page, 4)) == {"chat"}
    expect(page.get_by_role("columnheader", name="Input / 1M ▼")).to_be_visible()


def test_two_to_four_ticked_models_open_a_comparison(page: Page, accounts: Accounts) -> None:
    accounts.enter(page, "member")
    page.goto("/catalog")
    compare = page.get_by_role("button", name="Compare selected")
    expect(compare).to_be_disabled()
    page.get_by_label("Compare Test test-chat", exact=True).check()
    expect(compare).to_be_disabled()
    for model in ["test-embed", "test-small", "test-paced", "test-slow"]:
        page.get_by_label(f"Compare Test {model}", exact=True).check()
    expect(compare).to_be_disabled()
    page.get_by_label("Compare Test test-slow", exact=True).uncheck()
    page.get_by_label("Compare Test test-paced", exact=True).uncheck()
    expect(compare).to_be_enabled()
    compare.click()

    table = page.locator("#comparison")
    expect(table.locator("thead th")).to_have_text(
        ["Test test-chat", "Test test-embed", "Test test-small"]
    )
    context = table.get_by_role("row", name=re.compile("^Context window"))
    expect(context.get_by_role("cell")).to_have_text(["4,096", "4,096", "100"])
    kinds = table.get_by_role("row", name=re.compile("^Type"))
    expect(kinds.get_by_role("cell")).to_have_text(["chat", "embedding", "chat"])
    expect(table.get_by_role("row", name=re.compile("^Cache"))).to_have_count(0)
    assert page.goto("/catalog/compare?models=test-chat") is not None
    expect(page.get_by_role("alert")).to_have_text("Tick 2 to 4 models to compare them.")


def test_cache_prices_show_where_a_model_sets_them(page: Page, accounts: Accounts) -> None:
    accounts.enter(page, "viewer")
    page.goto("/catalog")
    cached = page.locator("#catalog tr[data-model=test-cached] [data-label='Input / 1M']")
    expect(cached.locator("[data-price=cached]")).to_have_text("cached $0.125")
    expect(cached.locator("[data-price=cache-write]")).to_have_text("cache write $1.5625")
    expect(page.locator("#catalog tr[data-model=test-chat] [data-price]")).to_have_count(0)

    page.get_by_label("Compare Test test-chat", exact=True).check()
    page.get_by_label("Compare Test test-cached", exact=True).check()
    page.get_by_role("button", name="Compare selected").click()
    table = page.locator("#comparison")
    for label, price in [("Cached input", "$0.125"), ("Cache writes", "$1.5625")]:
        row = table.get_by_role("row", name=re.compile(f"^{label} "))
        expect(row.get_by_role("cell")).to_have_text(["same as input", price])

    page.get_by_role("link", name="Test test-cached").click()
    expect(page.locator(".facts")).to_contain_text(
        "Cached input$0.125 per million tokens read from the prompt cache"
    )
    expect(page.locator(".facts")).to_contain_text(
        "Cache writes$1.5625 per million tokens written to the prompt cache"
    )


def test_a_models_copied_examples_run_against_this_hub(
    page: Page, hub: Hub, api: httpx.Client, accounts: Accounts
) -> None:
    secret = api.post(KEYS, json={"name": "examples"}).json()["api_key_info"]["secret_key"]
    accounts.enter(page, "viewer")
    page.goto("/catalog")
    page.get_by_role("link", name="Test test-chat").click()

    examples = {}
    for name in ["curl", "Python (openai SDK)"]:
        page.get_by_role("button", name="Copy", exact=True).and_(
            page.get_by_role("button", description=name)
        ).click()
        examples[name] = page.evaluate("navigator.clipboard.readText()")
        assert hub.url + "/v1" in examples[name]
    env = {**hub.env, "MODELPORT_KEY": secret}

    ran = subprocess.run(
        ["bash", "-c", examples["curl"]], env=env, capture_output=True, text=True, check=True
    )
    assert '"chat.completion"' in ran.stdout
    ran = subprocess.run(
        [sys.executable, "-c", examples["Python (openai SDK)"]],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert ran.stdout.startswith("tok")


def test_the_catalog_shows_a_team_its_dedicated_deployments(page: Page, accounts: Accounts) -> None:
    accounts.enter(page, "viewer", team=DEDICATED_TEAM)
    page.goto("/catalog")
    row = page.locator("#catalog tbody tr", has_text="test-dedicated")
    expect(row).to_contain_text("Dedicated to your team")
    page.goto("/catalog/models/test-dedicated")
    expect(page.get_by_role("list", name="Dedicated deployments")).to_have_text("reserved")


def test_the_catalog_never_shows_another_teams_dedicated_deployments(
    page: Page, accounts: Accounts
) -> None:
    accounts.enter(page, "viewer")
    page.goto("/catalog")
    expect(page.locator("#catalog")).not_to_contain_text("Dedicated to your team")
    page.goto("/catalog/models/test-dedicated")
    expect(page.locator("main")).not_to_contain_text("Dedicated deployments")
    expect(page.locator("main")).not_to_contain_text("reserved")
