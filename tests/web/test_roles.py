"""Roles: a viewer reads and changes nothing; only owners reach tokens and people."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from tests.support.hub import Hub, Team
from tests.web.accounts import Accounts
from tests.web.browser import key_row
from tests.web.forms import signed_in_client

KEYS = "/v2/gen-ai/models/api_keys"


def test_a_viewer_sees_the_keys_but_cannot_change_them(
    page: Page, hub: Hub, accounts: Accounts, api: httpx.Client, team: Team
) -> None:
    key = api.post(KEYS, json={"name": "shared", "rpm_limit": 60}).json()["api_key_info"]
    viewer = accounts.enter(page, "viewer", team=team.name)
    expect(key_row(page, "shared")).to_contain_text("60 requests/min")
    expect(page.get_by_role("button", name="Create model access key")).to_have_count(0)
    expect(page.get_by_label("Actions for shared")).to_have_count(0)
    expect(page.get_by_role("link", name="Tokens and people")).to_have_count(0)

    with signed_in_client(hub.url, viewer.email, viewer.password) as (web, token):
        base = f"/inference/keys/{key['uuid']}"
        for path, form in [
            ("/inference/keys", {"name": "sneaky"}),
            (f"{base}/rename", {"name": "sneaky"}),
            (f"{base}/limits", {"rpm_limit": ""}),
            (f"{base}/regenerate", {"confirm": "shared"}),
            (f"{base}/delete", {"confirm": "shared"}),
        ]:
            refused = web.post(path, data={**form, "csrf_token": token})
            assert refused.status_code == 403, path
            assert "viewer role" in refused.text
        for window in ["rename", "limits"]:
            opened = web.get(f"{base}/{window}", headers={"hx-request": "true"})
            assert opened.status_code == 403, window
    (still,) = api.get(KEYS).json()["api_key_infos"]
    assert (still["name"], still["hint"], still["rpm_limit"]) == ("shared", key["hint"], 60)


def test_only_owners_reach_tokens_and_people(hub: Hub, accounts: Accounts) -> None:
    member = accounts.create("member")
    with signed_in_client(hub.url, member.email, member.password) as (web, token):
        assert web.get("/team").status_code == 403
        refused = web.post("/team/tokens", data={"name": "mine", "csrf_token": token})
        assert refused.status_code == 403
        assert "Only an owner" in refused.text
