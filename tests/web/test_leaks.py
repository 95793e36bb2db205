"""A leaked key shows as a banner on the keys page of its team, whoever reported it; an owner
sets the webhook the team is told at on the team page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.dataplane import create_key
from tests.support.hub import Hub
from tests.web.a11y import low_contrast_texts
from tests.web.accounts import Accounts

REVOKE = "/v2/gen-ai/models/api_keys/revoke_leaked"
SETTINGS = "/v2/gen-ai/team/settings"


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


def test_an_owner_sets_and_clears_the_team_webhook(
    page: Page, hub: Hub, accounts: Accounts
) -> None:
    account = accounts.enter(page, "owner")
    page.get_by_role("link", name="Tokens and people").click()
    section = page.locator("#webhook")
    field = section.get_by_label("Webhook URL")

    field.fill("ftp://hooks.example/x")
    section.get_by_role("button", name="Save webhook").click()
    expect(section.get_by_text("webhook_url must be an http:// or https:// URL")).to_be_visible()
    expect(field).to_have_attribute("aria-invalid", "true")

    field.fill("https://hooks.example/modelport")
    section.get_by_role("button", name="Save webhook").click()
    expect(section.get_by_role("status")).to_have_text("Webhook saved.")
    with hub.client(hub.new_team(account.team).read_only_token) as api:
        settings = api.get(SETTINGS).json()["team_settings"]
        assert settings == {"webhook_url": "https://hooks.example/modelport"}

    page.reload()
    expect(field).to_have_value("https://hooks.example/modelport")
    field.fill("")
    section.get_by_role("button", name="Save webhook").click()
    expect(section.get_by_role("status")).to_contain_text("Webhook removed")
    with hub.client(hub.new_team(account.team).read_only_token) as api:
        assert api.get(SETTINGS).json()["team_settings"]["webhook_url"] is None
