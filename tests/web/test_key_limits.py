"""A key's limits in the panel: set in the create window, shown in the list, edited in their
own window, judged by the service (as the API's are), and out of a viewer's reach."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from playwright.sync_api import Page, expect

from tests.support.hub import Hub, Team
from tests.web.a11y import unlabelled_controls
from tests.web.accounts import Accounts
from tests.web.browser import create_key, key_row, open_menu_item
from tests.web.forms import signed_in_client

KEYS = "/v2/gen-ai/models/api_keys"
SPEND, RPM, TPM = "Monthly spend limit (USD)", "Requests per minute", "Tokens per minute"
EXPIRY = "Expires at (UTC)"


def limits_of(api: httpx.Client, key_id: str) -> tuple[object, ...]:
    info = api.get(f"{KEYS}/{key_id}").json()["api_key_info"]
    expiry = info["expires_at"] and datetime.fromisoformat(info["expires_at"])
    return expiry, info["monthly_spend_limit"], info["rpm_limit"], info["tpm_limit"]


def test_a_key_created_with_limits_shows_them_in_the_list(
    page: Page, hub: Hub, accounts: Accounts
) -> None:
    accounts.enter(page, "member")
    create_key(page, hub, "plain")
    create_key(page, hub, "capped", limits={RPM: "60", SPEND: "25"})

    expect(key_row(page, "capped").get_by_role("listitem")).to_have_text(
        ["$0.00 of $25.00 this month", "60 requests/min"]
    )
    expect(key_row(page, "plain").get_by_role("cell", name="None", exact=True)).to_be_visible()


def test_edit_limits_changes_and_clears_them_as_the_api_then_shows(
    page: Page, hub: Hub, api: httpx.Client, team: Team, accounts: Accounts
) -> None:
    limits = {"rpm_limit": 60, "monthly_spend_limit": "25", "tpm_limit": 1000}
    key = api.post(KEYS, json={"name": "tuned", **limits}).json()["api_key_info"]
    accounts.enter(page, "member", team=team.name)

    open_menu_item(page, "tuned", "Limits")
    window = page.get_by_role("dialog", name="Edit limits")
    expect(window.get_by_label(EXPIRY)).to_be_focused()
    expect(window.get_by_label(SPEND)).to_have_value("25.00")
    expect(window.get_by_label(RPM)).to_have_value("60")
    assert unlabelled_controls(page) == []
    window.get_by_label(EXPIRY).fill("2031-01-31T18:00")
    window.get_by_label(SPEND).fill("")
    window.get_by_label(RPM).fill("120")
    page.keyboard.press("Enter")

    expect(window).to_be_hidden()
    expect(page.get_by_role("status")).to_have_text("Limits of tuned updated.")
    expect(key_row(page, "tuned").get_by_role("listitem")).to_have_text(
        ["Expires Jan 31, 2031, 18:00 UTC", "120 requests/min", "1,000 tokens/min"]
    )
    expiry = datetime(2031, 1, 31, 18, tzinfo=UTC)
    assert limits_of(api, key["uuid"]) == (expiry, None, 120, 1000)


def test_a_bad_limit_is_explained_next_to_its_field_and_changes_nothing(
    page: Page, hub: Hub, api: httpx.Client, team: Team, accounts: Accounts
) -> None:
    key = api.post(KEYS, json={"name": "steady", "rpm_limit": 60}).json()["api_key_info"]
    accounts.enter(page, "member", team=team.name)

    page.get_by_role("button", name="Create model access key").click()
    window = page.get_by_role("dialog", name="Add model access key")
    window.get_by_label("Key name").fill("overspent")
    window.get_by_label(SPEND).fill("-5")
    window.get_by_role("button", name="Add model access key").click()
    spend = window.get_by_label(SPEND)
    expect(spend).to_have_attribute("aria-invalid", "true")
    expect(spend).to_be_focused()
    expect(spend).to_have_accessible_description(
        "Each calendar month (UTC). "
        "The monthly spend limit must be an amount in USD, e.g. 25 or 12.50."
    )
    expect(window.get_by_label("Key name")).to_have_value("overspent")
    page.keyboard.press("Escape")
    expect(window).to_be_hidden()

    open_menu_item(page, "steady", "Limits")
    window = page.get_by_role("dialog", name="Edit limits")
    window.get_by_label(RPM).fill("0")
    window.get_by_role("button", name="Update").click()
    rpm = window.get_by_label(RPM)
    expect(rpm).to_have_attribute("aria-invalid", "true")
    expect(rpm).to_be_focused()
    expect(rpm).to_have_accessible_description(
        "Requests per minute must be a whole number from 1 to 1000000000."
    )
    page.keyboard.press("Escape")
    expect(window).to_be_hidden()

    expect(key_row(page, "steady").get_by_role("listitem")).to_have_text(["60 requests/min"])
    assert [k["name"] for k in api.get(KEYS).json()["api_key_infos"]] == ["steady"]
    assert limits_of(api, key["uuid"]) == (None, None, 60, None)


def test_limits_posted_past_the_window_need_the_form_token_and_a_good_value(
    hub: Hub, api: httpx.Client, team: Team, accounts: Accounts
) -> None:
    key = api.post(KEYS, json={"name": "direct", "tpm_limit": 500}).json()["api_key_info"]
    hub.issued.add(key["secret_key"])
    member = accounts.create("member", team=team.name)
    path = f"/inference/keys/{key['uuid']}/limits"
    with signed_in_client(hub.url, member.email, member.password) as (web, token):
        assert web.post(path, data={"tpm_limit": "1"}).status_code == 403
        past = "2001-01-01T00:00"
        for field, bad in [("tpm_limit", "many"), ("expires_at", "soon"), ("expires_at", past)]:
            refused = web.post(path, data={field: bad, "csrf_token": token})
            assert refused.status_code == 422, bad
        assert limits_of(api, key["uuid"]) == (None, None, None, 500)
        cleared = web.post(path, data={"tpm_limit": "", "csrf_token": token})
        assert cleared.status_code == 200
    assert limits_of(api, key["uuid"]) == (None, None, None, None)
