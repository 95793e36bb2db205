"""A key's prepaid credit in the panel: its own window shows what is left and takes a top-up,
judged by the service (as the API's is), audited, and shown in the list."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.hub import Hub, Team
from tests.web.a11y import unlabelled_controls
from tests.web.accounts import Accounts
from tests.web.browser import key_row, open_menu_item

KEYS = "/v2/gen-ai/models/api_keys"
ADD = "Add credit (USD)"


# The window calls the service the API tests run on both backends.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True, scope="session")
def test_credit_window_refuses_a_bad_amount_then_tops_up(
    page: Page, hub: Hub, api: httpx.Client, team: Team, accounts: Accounts
) -> None:
    key = api.post(KEYS, json={"name": "prepaid"}).json()["api_key_info"]
    api.post(f"{KEYS}/{key['uuid']}/credit", json={"amount_usd": "5"})
    accounts.enter(page, "member", team=team.name)
    expect(key_row(page, "prepaid").get_by_role("listitem")).to_have_text(["$5.00 prepaid credit"])

    open_menu_item(page, "prepaid", "Credit")
    window = page.get_by_role("dialog", name="Prepaid credit")
    expect(window).to_contain_text("$5.00 granted, $0.00 spent, $5.00 left")
    expect(window.get_by_label(ADD)).to_be_focused()
    assert unlabelled_controls(page) == []
    window.get_by_label(ADD).fill("1.0000001")
    page.keyboard.press("Enter")
    expect(window.get_by_label(ADD)).to_have_attribute("aria-invalid", "true")
    expect(window).to_contain_text("at most 6 decimal places")

    window.get_by_label(ADD).fill("10.50")
    page.keyboard.press("Enter")
    expect(window).to_be_hidden()
    expect(page.get_by_role("status")).to_have_text("Credit of prepaid topped up by $10.50.")
    expect(key_row(page, "prepaid").get_by_role("listitem")).to_have_text(["$15.50 prepaid credit"])
    credit = api.get(f"{KEYS}/{key['uuid']}/credit").json()["credit"]
    assert credit["granted"] == "15.5"
    events = api.get("/v2/gen-ai/audit_events").json()["audit_events"]
    topped = [e["detail"] for e in events if e["action"] == "key.credit_topped_up"]
    assert topped == ["+10.5 USD", "+5.0 USD"]
