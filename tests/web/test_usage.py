"""The Usage page after real metered requests: its chart, table and CSV agree with the API."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest
from playwright.sync_api import Locator, Page, expect

from modelport.web.pages import money
from tests.support.hub import Hub, Team
from tests.support.loop import BackgroundLoop
from tests.support.usage import COUNTS, Usage, UsageRows, summed, write_detailed
from tests.web.accounts import Accounts

KEYS = "/v2/gen-ai/models/api_keys"
MESSAGES = [{"role": "user", "content": "hello"}]


COLUMNS = {
    "requests": "Requests",
    "prompt_tokens": "Prompt tokens",
    "cached_prompt_tokens": "Cached prompt tokens",
    "cache_write_tokens": "Cache-write tokens",
    "completion_tokens": "Completion tokens",
    "reasoning_tokens": "Reasoning tokens",
}
"""The table's counts, by the usage API's names."""


@pytest.fixture
def usage_rows(hub: Hub, loop: BackgroundLoop) -> Iterator[UsageRows]:
    rows = UsageRows(hub.database_url, loop)
    yield rows
    rows.close()


def picousd(cost: str) -> int:
    return int(Decimal(cost).scaleb(12))


def meter(hub: Hub, api: httpx.Client) -> None:
    """Requests through the data plane from two keys, to two models."""
    for name, chats, embeddings in [("busy", 3, 2), ("quiet", 1, 0)]:
        secret = api.post(KEYS, json={"name": name}).json()["api_key_info"]["secret_key"]
        with openai.OpenAI(base_url=hub.url + "/v1", api_key=secret, max_retries=0) as sdk:
            for _ in range(chats):
                sdk.chat.completions.create(model="test-chat", messages=MESSAGES)  # type: ignore[arg-type]
            for _ in range(embeddings):
                sdk.embeddings.create(model="test-embed", input="some words")


@pytest.mark.parametrize("by", ["key", "model"])
def test_the_chart_table_and_csv_add_up_to_the_usage_api(
    page: Page, hub: Hub, team: Team, api: httpx.Client, accounts: Accounts, by: str
) -> None:
    meter(hub, api)
    expected = api.get("/v2/gen-ai/usage", params={"group_by": by}).json()
    totals = expected["totals"]
    assert totals["requests"] == 6

    accounts.enter(page, "viewer", team=team.name)
    page.goto(f"/usage?by={by}")

    chart = page.get_by_role("img", name=f"Cost per day, stacked by {by}")
    assert int(chart.get_attribute("data-total-cost") or "") == picousd(totals["cost"])
    segments = chart.locator("rect[data-cost]")
    drawn: dict[str, int] = {}
    for index in range(segments.count()):
        segment = segments.nth(index)
        series = segment.get_attribute("data-series") or ""
        drawn[series] = drawn.get(series, 0) + int(segment.get_attribute("data-cost") or "")
    assert sum(drawn.values()) == picousd(totals["cost"])

    table = page.locator("#usage-table")
    rows = table.locator("tbody tr")
    assert rows.count() == len(expected["usage"]) == len(drawn)
    for index in range(rows.count()):
        series = rows.nth(index).locator("th").inner_text()
        expect(rows.nth(index).locator("td").last).to_have_text(money(drawn[series]))
    footer = table.locator("tfoot")
    expect(footer.locator("[data-label=Requests]")).to_have_text(str(totals["requests"]))
    for name, label in [("prompt_tokens", "Prompt"), ("completion_tokens", "Completion")]:
        cell = footer.locator(f"[data-label='{label} tokens']")
        expect(cell).to_have_text(f"{totals[name]:,}")
    expect(footer.locator("[data-label=Cost]")).to_have_text(money(picousd(totals["cost"])))
    expect(page.locator("[data-total=cost]")).to_have_text(money(picousd(totals["cost"])))

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    lines = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert lines[-1]["date"] == "total"
    assert lines[-1]["cost_usd"] == totals["cost"]
    assert sum(picousd(line["cost_usd"]) for line in lines[:-1]) == picousd(totals["cost"])
    assert sum(int(line["requests"]) for line in lines[:-1]) == totals["requests"]


def _cells(row: Locator) -> dict[str, str]:
    """A table row's cells by their column's label (what a phone shows beside each)."""
    cells = row.locator("th, td")
    return {
        cells.nth(i).get_attribute("data-label") or "": cells.nth(i).inner_text()
        for i in range(cells.count())
    }


def _shown(figures: dict[str, Any]) -> dict[str, str]:
    """Figures as the table shows them."""
    return {
        **{label: f"{figures[name]:,}" for name, label in COLUMNS.items()},
        "Cost": money(picousd(str(figures["cost"]))),
    }


def _read(line: dict[str, str]) -> dict[str, Any]:
    """A CSV line's figures, cost in USD."""
    return {**{name: int(line[name]) for name in COUNTS}, "cost": Decimal(line["cost_usd"])}


@pytest.mark.parametrize("by", ["key", "model"])
def test_the_table_and_csv_show_cached_cache_write_and_reasoning_tokens(
    page: Page,
    team: Team,
    api: httpx.Client,
    accounts: Accounts,
    usage_rows: UsageRows,
    by: str,
) -> None:
    detailed = write_detailed(api, team.name, usage_rows)
    names = {key_id: name for name, key_id in detailed.keys.items()}
    label: Callable[[Usage], str] = (
        (lambda u: names[u.key_id]) if by == "key" else (lambda u: u.model)
    )
    expected = summed(detailed.usages, label)
    [totals] = summed(detailed.usages, lambda _: "Total").values()

    accounts.enter(page, "viewer", team=team.name)
    page.goto(f"/usage?by={by}&start={detailed.first_day}&end={detailed.last_day}")
    table = page.locator("#usage-table")
    rows = [_cells(row) for row in table.locator("tbody tr").all()]
    noun = by.capitalize()
    shown = {row.pop(noun).split(" (…")[0]: row for row in rows}
    assert shown == {series: _shown(figures) for series, figures in expected.items()}
    total = _cells(table.locator("tfoot tr"))
    assert total.pop(noun) == "Total"
    assert total == _shown(totals)
    expect(table).to_have_accessible_description(re.compile("^Cached and cache-write tokens"))

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    lines = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert lines[-1]["date"] == "total"
    written = {f"{line['date']} {line[by].split(' (…')[0]}": _read(line) for line in lines[:-1]}
    assert written == summed(detailed.usages, lambda u: f"{u.at.date()} {label(u)}")
    assert _read(lines[-1]) == totals


def test_a_bad_period_is_explained_next_to_its_field(page: Page, accounts: Accounts) -> None:
    accounts.enter(page, "member")
    page.goto("/usage?start=2026-11-20&end=2026-11-01")
    expect(page.get_by_label("To", exact=True)).to_have_accessible_description(
        "End must be after start."
    )
    expect(page.get_by_role("img", name="Cost per day, stacked by key")).to_be_visible()
