"""The Usage page after real metered requests: its chart, table and CSV agree with the API."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import httpx
import openai
import pytest
from playwright.sync_api import Page, expect

from modelport.web.pages import money
from tests.support.hub import Hub, Team
from tests.web.accounts import Accounts

KEYS = "/v2/gen-ai/models/api_keys"
MESSAGES = [{"role": "user", "content": "hello"}]


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
    footer = table.locator("tfoot td")
    expect(footer.nth(0)).to_have_text(str(totals["requests"]))
    expect(footer.nth(1)).to_have_text(f"{totals['prompt_tokens']:,}")
    expect(footer.nth(2)).to_have_text(f"{totals['completion_tokens']:,}")
    expect(footer.nth(3)).to_have_text(money(picousd(totals["cost"])))
    expect(page.locator("[data-total=cost]")).to_have_text(money(picousd(totals["cost"])))

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    lines = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    assert lines[-1]["date"] == "total"
    assert lines[-1]["cost_usd"] == totals["cost"]
    assert sum(picousd(line["cost_usd"]) for line in lines[:-1]) == picousd(totals["cost"])
    assert sum(int(line["requests"]) for line in lines[:-1]) == totals["requests"]


def test_a_bad_period_is_explained_next_to_its_field(page: Page, accounts: Accounts) -> None:
    accounts.enter(page, "member")
    page.goto("/usage?start=2026-11-20&end=2026-11-01")
    expect(page.get_by_label("To", exact=True)).to_have_accessible_description(
        "End must be after start."
    )
    expect(page.get_by_role("img", name="Cost per day, stacked by key")).to_be_visible()
