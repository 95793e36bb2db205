"""A leaked key shows as a banner on the keys page of its team, whoever reported it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.dataplane import create_key
from tests.support.hub import Hub
from tests.web.a11y import low_contrast_texts
from tests.web.accounts import Accounts

REVOKE = "/v2/gen-ai/models/api_keys/revoke_leaked"


def test_a_leaked_key_is_shown_in_a_banner(page: Page, hub: Hub, accounts: Accounts) -> None:
    account = accounts.enter(page, "member")
    expect(page.get_by_role("heading", name="Leaked keys")).to_have_count(0)
    with hub.client(hub.new_team(account.team).token) as api:
        secret = create_key(api)["secret_key"]
    where = "https://gist.example/leaky/.env"
    with hub.client(hub.new_team().token) as stranger:
        reported = stranger.post(REVOKE, json={"secrets": [secret], "url": where})
        assert reported.json()["results"][0]["status"] == "revoked"

    page.reload()

    banner = page.get_by_role("alert").filter(has=page.get_by_role("heading", name="Leaked keys"))
    expect(banner).to_contain_text("the key “app” was found in public at " + where)
    expect(banner).to_contain_text("has been revoked")
    assert low_contrast_texts(page) == []
