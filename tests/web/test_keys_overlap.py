"""The key list says when an overlap's old secret stops working; the panel's own regenerate
stays immediate."""

from __future__ import annotations

from datetime import datetime

import httpx
from playwright.sync_api import Page, expect

from modelport.web.pages import moment
from tests.support.hub import Team
from tests.web.accounts import Accounts
from tests.web.browser import key_row

KEYS = "/v2/gen-ai/models/api_keys"


def test_the_list_shows_when_the_old_secret_expires(
    page: Page, api: httpx.Client, team: Team, accounts: Accounts
) -> None:
    rolling = api.post(KEYS, json={"name": "rolling"}).json()["api_key_info"]
    api.post(KEYS, json={"name": "steady"})
    regenerated = api.put(
        f"{KEYS}/{rolling['uuid']}/regenerate", json={"overlap_seconds": 3600}
    ).json()["api_key_info"]
    until = datetime.fromisoformat(regenerated["old_secret_expires_at"])

    accounts.enter(page, "viewer", team=team.name)
    expect(key_row(page, "rolling")).to_contain_text(f"Old secret expires at {moment(until)}")
    expect(key_row(page, "rolling")).to_contain_text("…" + regenerated["secret_key"][-4:])
    expect(key_row(page, "steady")).not_to_contain_text("Old secret")
