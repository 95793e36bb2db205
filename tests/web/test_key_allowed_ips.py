"""A key's allowed addresses in the panel: set in the create window, shown in the list,
edited (and refused when malformed) in the Edit limits window, as the API then shows them."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.hub import Hub, Team
from tests.web.accounts import Accounts
from tests.web.browser import create_key, key_row, open_menu_item

# The panel goes through the same service as the API, whose tests cover both databases.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True, scope="session")

KEYS = "/v2/gen-ai/models/api_keys"
ADDRESSES = "Allowed addresses"


def test_allowed_addresses_are_set_shown_and_edited(
    page: Page, hub: Hub, api: httpx.Client, team: Team, accounts: Accounts
) -> None:
    accounts.enter(page, "member", team=team.name)
    create_key(page, hub, "fenced", limits={ADDRESSES: "10.0.0.0/8, 2001:db8::/32"})
    expect(key_row(page, "fenced").get_by_role("listitem")).to_have_text(
        ["From 10.0.0.0/8, 2001:db8::/32"]
    )

    open_menu_item(page, "fenced", "Limits")
    window = page.get_by_role("dialog", name="Edit limits")
    field = window.get_by_label(ADDRESSES)
    expect(field).to_have_value("10.0.0.0/8, 2001:db8::/32")
    field.fill("10.0.0.1/8")
    window.get_by_role("button", name="Update").click()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(window.get_by_text("did you mean 10.0.0.0/8?")).to_be_visible()

    field.fill("127.0.0.1")
    window.get_by_role("button", name="Update").click()
    expect(window).to_be_hidden()
    expect(key_row(page, "fenced").get_by_role("listitem")).to_have_text(["From 127.0.0.1/32"])
    (info,) = api.get(KEYS).json()["api_key_infos"]
    assert info["allowed_ips"] == ["127.0.0.1/32"]
