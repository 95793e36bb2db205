"""The Model Access Keys section in a real browser: every flow, and that the secrets work."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from modelport.core.clock import utcnow
from modelport.web.pages import day
from tests.support.hub import Hub, Team
from tests.web.accounts import Accounts
from tests.web.browser import create_key, key_row, open_menu_item
from tests.web.forms import signed_in_client

KEYS = "/v2/gen-ai/models/api_keys"


def models_seen(hub: Hub, secret: str) -> httpx.Response:
    return httpx.get(hub.url + "/v1/models", headers={"Authorization": f"Bearer {secret}"})


def test_create_a_key_copy_its_secret_and_use_it(page: Page, hub: Hub, accounts: Accounts) -> None:
    accounts.enter(page, "member")
    expect(page.get_by_text("No model access keys yet.")).to_be_visible()

    secret = create_key(page, hub, "prod app")

    row = key_row(page, "prod app")
    expect(row).to_contain_text(day(utcnow()))
    expect(row).to_contain_text("All models")
    expect(row).to_contain_text("…" + secret[-4:])
    expect(page.get_by_text("It will not be shown again.")).to_be_visible()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    assert models_seen(hub, secret).status_code == 200

    page.reload()
    expect(key_row(page, "prod app")).to_be_visible()
    assert secret not in page.content()
    expect(page.get_by_text("It will not be shown again.")).to_have_count(0)


def test_a_key_limited_to_one_model_lists_only_that_model(
    page: Page, hub: Hub, accounts: Accounts
) -> None:
    accounts.enter(page, "member")
    secret = create_key(page, hub, "chat only", models=("test-chat",))

    expect(key_row(page, "chat only")).to_contain_text("test-chat")
    listed = models_seen(hub, secret).json()["data"]
    assert [m["id"] for m in listed] == ["test-chat"]


def test_a_name_too_long_is_shown_in_the_window_next_to_the_field(
    page: Page, accounts: Accounts
) -> None:
    accounts.enter(page, "member")
    page.get_by_role("button", name="Create model access key").first.click()
    window = page.get_by_role("dialog", name="Add model access key")
    window.get_by_label("Key name").fill("x" * 65)
    window.get_by_role("button", name="Add model access key").click()

    field = window.get_by_label("Key name")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(
        "Up to 64 characters, to tell your keys apart. "
        "Name must be at most 64 characters (got 65 after trimming)."
    )
    expect(field).to_be_focused()
    expect(page.get_by_text("No model access keys yet.")).to_be_visible()


def test_a_disguised_name_is_refused_next_to_the_field_on_create_and_rename(
    page: Page, hub: Hub, accounts: Accounts
) -> None:
    """`abc<U+202E>gnp.exe` would show as `abcexe.png`."""
    accounts.enter(page, "member")
    page.get_by_role("button", name="Create model access key").first.click()
    window = page.get_by_role("dialog", name="Add model access key")
    window.get_by_label("Key name").fill("abc\u202egnp.exe")
    window.get_by_role("button", name="Add model access key").click()
    field = window.get_by_label("Key name")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(
        "Up to 64 characters, to tell your keys apart. Name must not contain U+202E "
        "RIGHT-TO-LEFT OVERRIDE (a bidirectional control) at 3."
    )
    expect(page.get_by_text("No model access keys yet.")).to_be_visible()

    page.reload()
    create_key(page, hub, "shown as it is")
    open_menu_item(page, "shown as it is", "Rename")
    window = page.get_by_role("dialog", name="Rename model access key")
    window.get_by_label("Key name").fill("zero\u200bwidth")
    window.get_by_role("button", name="Update").click()
    expect(window.get_by_label("Key name")).to_have_accessible_description(
        re.compile(
            "Name must not contain U\\+200B ZERO WIDTH SPACE \\(a zero-width character\\) at 4"
        )
    )
    page.reload()
    expect(key_row(page, "shown as it is")).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(1)


def test_rename_fills_in_the_name_and_updates_it(page: Page, hub: Hub, accounts: Accounts) -> None:
    accounts.enter(page, "member")
    create_key(page, hub, "old name")

    open_menu_item(page, "old name", "Rename")
    window = page.get_by_role("dialog", name="Rename model access key")
    expect(window.get_by_label("Key name")).to_have_value("old name")
    window.get_by_label("Key name").fill("new name")
    window.get_by_role("button", name="Update").click()

    expect(window).to_be_hidden()
    expect(key_row(page, "new name")).to_be_visible()
    expect(key_row(page, "old name")).to_have_count(0)
    expect(page.get_by_role("status")).to_have_text("Key renamed to new name.")


def test_regenerate_needs_the_typed_name_then_only_the_new_secret_works(
    page: Page, hub: Hub, accounts: Accounts
) -> None:
    accounts.enter(page, "member")
    old = create_key(page, hub, "rotating")

    open_menu_item(page, "rotating", "Regenerate")
    window = page.get_by_role("dialog", name="Regenerate model access key")
    confirm = window.get_by_role("button", name="Regenerate access key")
    window.get_by_label("Type the key's name, rotating, to confirm").fill("rotatin")
    expect(confirm).to_be_disabled()
    window.get_by_label("Type the key's name, rotating, to confirm").fill("rotating!")
    expect(confirm).to_be_disabled()
    expect(window.get_by_text("That is not the key's name")).to_be_visible()
    window.get_by_label("Type the key's name, rotating, to confirm").fill("rotating")
    expect(confirm).to_be_enabled()
    confirm.click()

    expect(window).to_be_hidden()
    new = page.get_by_label("Secret of rotating").input_value()
    hub.issued.add(new)
    assert new != old
    assert models_seen(hub, old).status_code == 401
    assert models_seen(hub, new).status_code == 200


def test_delete_needs_the_typed_name_then_the_secret_stops_working(
    page: Page, hub: Hub, accounts: Accounts
) -> None:
    accounts.enter(page, "member")
    secret = create_key(page, hub, "doomed")

    open_menu_item(page, "doomed", "Delete")
    window = page.get_by_role("dialog", name="Delete model access key")
    confirm = window.get_by_role("button", name="Delete access key")
    expect(confirm).to_be_disabled()
    window.get_by_label("Type the key's name, doomed, to confirm").fill("doomed")
    confirm.click()

    expect(window).to_be_hidden()
    expect(page.get_by_role("status")).to_have_text("Key doomed deleted.")
    expect(key_row(page, "doomed")).to_have_count(0)
    assert models_seen(hub, secret).status_code == 401


def test_the_list_is_newest_first_and_paged(
    page: Page, api: httpx.Client, team: Team, accounts: Accounts
) -> None:
    for number in range(21):
        api.post(KEYS, json={"name": f"key {number:02d}"})
    accounts.enter(page, "viewer", team=team.name)

    names = page.locator("tr[data-key] td:first-child")
    expect(names).to_have_count(20)
    expect(names.first).to_have_text("key 20")
    expect(page.get_by_text("Page 1 of 2")).to_be_visible()
    page.get_by_role("link", name="Next").click()
    expect(names).to_have_text(["key 00"])
    expect(page.get_by_role("link", name="Previous")).to_be_visible()


def test_a_wrong_name_posted_past_the_window_changes_nothing(
    hub: Hub, api: httpx.Client, team: Team, accounts: Accounts
) -> None:
    key = api.post(KEYS, json={"name": "kept"}).json()["api_key_info"]
    hub.issued.add(key["secret_key"])
    member = accounts.create("member", team=team.name)
    with signed_in_client(hub.url, member.email, member.password) as (web, token):
        for action in ["regenerate", "delete"]:
            refused = web.post(
                f"/inference/keys/{key['uuid']}/{action}",
                data={"confirm": "kep", "csrf_token": token},
                headers={"hx-request": "true"},
            )
            assert refused.status_code == 422
            assert "That is not the key&#39;s name" in refused.text
    assert models_seen(hub, key["secret_key"]).status_code == 200
