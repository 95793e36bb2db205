"""Keyboard-only use, labels, focus kept in windows, contrast, and phone width."""

from __future__ import annotations

from playwright.sync_api import Page, ViewportSize, expect

from tests.support.hub import Hub
from tests.web.a11y import low_contrast_texts, overflows_horizontally, unlabelled_controls
from tests.web.accounts import Accounts
from tests.web.browser import create_key, key_row

PHONE: ViewportSize = {"width": 390, "height": 844}


def tab_to(page: Page, name: str, limit: int = 40) -> None:
    """Press Tab until the focused element's accessible text is `name`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(document.activeElement.getAttribute('aria-label') ||"
            " document.activeElement.textContent).trim()"
        )
        if focused == name:
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_keys_can_be_created_renamed_limited_and_deleted_with_the_keyboard_alone(
    page: Page, hub: Hub, accounts: Accounts
) -> None:
    accounts.enter(page, "owner")

    tab_to(page, "Create model access key")
    page.keyboard.press("Enter")
    window = page.get_by_role("dialog", name="Add model access key")
    expect(window.get_by_label("Key name")).to_be_focused()
    page.keyboard.type("typed")
    page.keyboard.press("Enter")
    expect(window).to_be_hidden()
    expect(page.get_by_role("heading", name="Copy the secret of typed now")).to_be_focused()
    hub.issued.add(page.get_by_label("Secret of typed").input_value())

    tab_to(page, "Actions for typed")
    page.keyboard.press("Enter")
    tab_to(page, "Rename")
    page.keyboard.press("Enter")
    rename = page.get_by_role("dialog", name="Rename model access key")
    expect(rename.get_by_label("Key name")).to_be_focused()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("retyped")
    page.keyboard.press("Enter")
    expect(key_row(page, "retyped")).to_be_visible()
    expect(page.get_by_role("status")).to_be_focused()

    tab_to(page, "Actions for retyped")
    page.keyboard.press("Enter")
    tab_to(page, "Limits")
    page.keyboard.press("Enter")
    limits = page.get_by_role("dialog", name="Edit limits")
    expect(limits.get_by_label("Expires at (UTC)")).to_be_focused()
    for _ in range(12):  # through the date-time's parts and the spend limit
        if page.evaluate("document.activeElement.id") == "f-rpm_limit":
            break
        page.keyboard.press("Tab")
    page.keyboard.type("30")
    page.keyboard.press("Enter")
    expect(key_row(page, "retyped")).to_contain_text("30 requests/min")

    tab_to(page, "Actions for retyped")
    page.keyboard.press("Enter")
    tab_to(page, "Delete")
    page.keyboard.press("Enter")
    delete = page.get_by_role("dialog", name="Delete model access key")
    expect(delete.get_by_label("Type the key's name, retyped, to confirm")).to_be_focused()
    page.keyboard.type("retyped")
    tab_to(page, "Delete access key")
    page.keyboard.press("Enter")
    expect(key_row(page, "retyped")).to_have_count(0)


def test_windows_keep_focus_inside_and_close_on_escape(page: Page, accounts: Accounts) -> None:
    accounts.enter(page, "member")
    page.get_by_role("button", name="Create model access key").first.click()
    window = page.get_by_role("dialog", name="Add model access key")
    expect(window.get_by_label("Key name")).to_be_focused()

    for key in ["Tab"] * 30 + ["Shift+Tab"] * 5:
        page.keyboard.press(key)
        assert page.evaluate("!!document.activeElement.closest('dialog[open]')"), key
    assert unlabelled_controls(page) == []

    page.keyboard.press("Escape")
    expect(window).to_be_hidden()


def test_pages_are_labelled_and_readable(page: Page, hub: Hub, accounts: Accounts) -> None:
    page.set_content('<p style="color: #999">faint</p><input id="x"><button></button>')
    assert low_contrast_texts(page) == ["P 2.85"], "the contrast check must see faint text"
    assert len(unlabelled_controls(page)) == 2, "the label check must see bare controls"

    page.goto("/sign-in")
    assert unlabelled_controls(page) == []
    assert low_contrast_texts(page) == []

    accounts.enter(page, "owner")
    create_key(page, hub, "contrast")
    for path in ["/inference", "/team"]:
        page.goto(path)
        assert unlabelled_controls(page) == [], path
        assert low_contrast_texts(page) == [], path


def within_width(page: Page, label: str) -> bool:
    """Whether the labelled control lies wholly inside the viewport's width."""
    box = page.get_by_label(label, exact=True).bounding_box()
    assert box is not None
    return box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def test_the_keys_page_works_at_phone_width(page: Page, hub: Hub, accounts: Accounts) -> None:
    page.set_viewport_size(PHONE)
    accounts.enter(page, "member")
    secret = create_key(page, hub, "on the go")

    assert not overflows_horizontally(page)
    assert page.get_by_label("Secret of on the go").input_value() == secret
    assert within_width(page, "Secret of on the go")
    page.get_by_label("Actions for on the go").click()
    page.get_by_role("button", name="Rename", exact=True).click()
    window = page.get_by_role("dialog", name="Rename model access key")
    expect(window.get_by_label("Key name")).to_be_focused()
    assert within_width(page, "Key name")
    window.get_by_role("button", name="Update").click()
    expect(window).to_be_hidden()
    assert not overflows_horizontally(page)
