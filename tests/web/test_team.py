"""Tokens and people: API tokens shown once and revoked; invitations; roles."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.support.hub import Hub
from tests.web.accounts import PASSWORD, Accounts

KEYS = "/v2/gen-ai/models/api_keys"


def test_an_api_token_is_shown_once_works_and_can_be_revoked(
    page: Page, hub: Hub, accounts: Accounts
) -> None:
    accounts.enter(page, "owner")
    page.get_by_role("link", name="Tokens and people").click()
    page.get_by_role("button", name="Create API token").click()
    window = page.get_by_role("dialog", name="Create API token")
    window.get_by_label("Token name").fill("ci")
    window.get_by_role("button", name="Create API token").click()
    expect(window).to_be_hidden()

    token = page.get_by_label("API token ci").input_value()
    hub.issued.add(token)
    with hub.client(token) as api:
        assert api.get(KEYS).status_code == 200
    page.reload()
    assert token not in page.content()

    page.get_by_role("button", name="Revoke ci").click()
    page.get_by_role("dialog", name="Revoke API token").get_by_role(
        "button", name="Revoke token"
    ).click()
    expect(page.locator("#tokens").get_by_role("status")).to_have_text("Token revoked.")
    with hub.client(token) as api:
        assert api.get(KEYS).status_code == 401


def test_an_invitation_link_makes_an_account_with_its_role(
    page: Page, browser: Browser, hub: Hub, accounts: Accounts
) -> None:
    owner = accounts.enter(page, "owner")
    page.goto("/team")
    page.get_by_role("button", name="Invite people").click()
    window = page.get_by_role("dialog", name="Invite people")
    window.get_by_label("Email").fill("new.person@example.com")
    window.get_by_label("Role").select_option("viewer")
    window.get_by_role("button", name="Create invitation link").click()
    link = page.get_by_label("Invitation link for new.person@example.com").input_value()
    hub.issued.add(link.split("code=")[1])

    invitee = browser.new_context().new_page()
    invitee.goto(link)
    expect(invitee.get_by_text("You are invited as viewer")).to_be_visible()
    invitee.get_by_label("Password", exact=True).fill(PASSWORD)
    invitee.get_by_label("Password again").fill(PASSWORD)
    invitee.get_by_role("button", name="Create account").click()
    expect(invitee.get_by_text("new.person@example.com · viewer")).to_be_visible()
    assert invitee.goto(link) is not None
    expect(invitee.get_by_text("This link is invalid")).to_be_visible()
    invitee.context.close()

    page.reload()
    page.get_by_label("Role of new.person@example.com").select_option("member")
    page.get_by_role("row", name=re.compile("new.person")).get_by_role(
        "button", name="Save"
    ).click()
    expect(page.locator("#people").get_by_role("status")).to_have_text(
        "new.person@example.com is now member."
    )

    page.get_by_label(f"Role of {owner.email}").select_option("viewer")
    page.get_by_role("row", name=re.compile(re.escape(owner.email))).get_by_role(
        "button", name="Save"
    ).click()
    expect(page.get_by_role("alert")).to_have_text("A team needs at least one owner.")


def test_an_invitation_for_a_taken_email_is_refused_in_the_window(
    page: Page, hub: Hub, accounts: Accounts
) -> None:
    owner = accounts.enter(page, "owner")
    page.goto("/team")
    page.get_by_role("button", name="Invite people").click()
    window = page.get_by_role("dialog", name="Invite people")
    window.get_by_label("Email").fill(owner.email)
    window.get_by_role("button", name="Create invitation link").click()
    expect(window.get_by_label("Email")).to_have_accessible_description(
        "A user with this email already exists."
    )
    with httpx.Client(base_url=hub.url) as anonymous:
        assert anonymous.get("/team").headers["location"] == "/sign-in?next=/team"


def test_a_disguised_token_name_or_email_is_refused_next_to_its_field(
    page: Page, accounts: Accounts
) -> None:
    accounts.enter(page, "owner")
    page.goto("/team")
    page.get_by_role("button", name="Create API token").click()
    window = page.get_by_role("dialog", name="Create API token")
    window.get_by_label("Token name").fill("ci\u202e")
    window.get_by_role("button", name="Create API token").click()
    expect(window.get_by_label("Token name")).to_have_accessible_description(
        "For example ci or laptop. Token name must not contain U+202E "
        "RIGHT-TO-LEFT OVERRIDE (a bidirectional control) at 2."
    )
    page.reload()
    expect(page.get_by_text("No API tokens.")).to_be_visible()

    page.get_by_role("button", name="Invite people").click()
    window = page.get_by_role("dialog", name="Invite people")
    window.get_by_label("Email").fill("admin\u2066@example.com")
    window.get_by_role("button", name="Create invitation link").click()
    expect(window.get_by_label("Email")).to_have_accessible_description(
        "Email must not contain U+2066 LEFT-TO-RIGHT ISOLATE (a bidirectional control) at 5."
    )
    page.reload()
    expect(page.get_by_text("Pending invitations")).to_have_count(0)
