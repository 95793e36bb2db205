"""A team's own scanners report secrets: each live key is revoked at once, whoever's it is,
and the answer names only the reporting team's keys. And the team settings that hold the
webhook the team is told at."""

from __future__ import annotations

import time

import httpx

from modelport.core import secrets as secret_format
from modelport.infra.webhooks import TIMEOUT_SECONDS
from tests.leaks.test_github_reports import leak_events, works
from tests.leaks.webhook_server import HELD, WebhookReceiver
from tests.support.dataplane import create_key
from tests.support.hub import Hub, Team

REVOKE = "/v2/gen-ai/models/api_keys/revoke_leaked"
SETTINGS = "/v2/gen-ai/team/settings"


def test_an_owner_revokes_leaked_secrets_and_learns_only_of_its_own_keys(
    hub: Hub, team: Team, api: httpx.Client
) -> None:
    mine = create_key(api)
    other_team = hub.new_team()
    with hub.client(other_team.token) as other_api:
        theirs = create_key(other_api)
    unknown = secret_format.generate(secret_format.MODEL_KEY_PREFIX)
    where = "https://paste.example/abc"
    secrets = [mine["secret_key"], theirs["secret_key"], unknown, "hello"]

    answer = api.post(REVOKE, json={"secrets": secrets, "url": where})

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "results": [
            {
                "hint": "…" + mine["secret_key"][-4:],
                "status": "revoked",
                "api_key_uuid": mine["uuid"],
                "name": mine["name"],
            },
            {
                "hint": "…" + theirs["secret_key"][-4:],
                "status": "revoked",
                "api_key_uuid": None,
                "name": None,
            },
            {
                "hint": "…" + unknown[-4:],
                "status": "not_a_live_key",
                "api_key_uuid": None,
                "name": None,
            },
            {"hint": "…ello", "status": "not_a_live_key", "api_key_uuid": None, "name": None},
        ]
    }
    assert not works(hub, mine["secret_key"])
    assert not works(hub, theirs["secret_key"])
    [event] = leak_events(api)
    assert (event["target_uuid"], event["detail"]) == (mine["uuid"], where)
    assert event["actor"] == "token:rw"
    with hub.client(other_team.token) as other_api:
        [theirs_event] = leak_events(other_api)
    assert theirs_event["target_uuid"] == theirs["uuid"]
    assert theirs_event["actor"] == "leak-report"  # the reporting team is not named
    assert theirs_event["client_addr"] is None
    assert not any(team.name in str(value) for value in theirs_event.values())

    again = api.post(REVOKE, json={"secrets": [mine["secret_key"]]})
    assert again.json()["results"][0]["status"] == "not_a_live_key"


def test_a_read_only_token_may_not_revoke_and_nothing_changes(
    hub: Hub, team: Team, api: httpx.Client
) -> None:
    key = create_key(api)
    with hub.client(team.read_only_token) as reader:
        refused = reader.post(REVOKE, json={"secrets": [key["secret_key"]]})
        assert refused.status_code == 403, refused.text
        assert reader.patch(SETTINGS, json={"webhook_url": "https://x.example/"}).status_code == 403
    assert works(hub, key["secret_key"])
    assert leak_events(api) == []


def test_bad_revoke_requests_get_400(api: httpx.Client) -> None:
    bodies: list[dict[str, object]] = [
        {"secrets": []},
        {"secrets": ["x"] * 101},
        {"secrets": "mp_x"},
        {},
    ]
    for body in bodies:
        answer = api.post(REVOKE, json=body)
        assert answer.status_code == 400, (body, answer.text)
        assert answer.json()["id"] == "bad_request"


def test_the_team_webhook_is_set_read_and_cleared(hub: Hub, team: Team, api: httpx.Client) -> None:
    assert api.get(SETTINGS).json() == {"team_settings": {"webhook_url": None}}
    hook = "https://hooks.example/modelport"
    assert api.patch(SETTINGS, json={"webhook_url": hook}).status_code == 200
    with hub.client(team.read_only_token) as reader:
        assert reader.get(SETTINGS).json()["team_settings"]["webhook_url"] == hook
    for bad in ("ftp://x.example/", "not a url", "https://" + "x" * 2048):
        refused = api.patch(SETTINGS, json={"webhook_url": bad})
        assert refused.status_code == 400, refused.text
    assert api.get(SETTINGS).json()["team_settings"]["webhook_url"] == hook
    cleared = api.patch(SETTINGS, json={"webhook_url": None})
    assert cleared.json() == {"team_settings": {"webhook_url": None}}


def test_a_webhook_that_does_not_answer_delays_nothing(
    hub: Hub, team: Team, api: httpx.Client, webhooks: WebhookReceiver
) -> None:
    webhooks.release.clear()
    hook = f"{HELD}{team.name}"
    assert api.patch(SETTINGS, json={"webhook_url": webhooks.url(hook)}).status_code == 200
    key = create_key(api)

    started = time.monotonic()
    answer = api.post(REVOKE, json={"secrets": [key["secret_key"]]})
    took = time.monotonic() - started

    assert answer.json()["results"][0]["status"] == "revoked"
    assert took < TIMEOUT_SECONDS / 2, "the report waited for the webhook (until its timeout?)"
    [(sent, _)] = webhooks.wait_for(hook)
    assert sent["api_key_uuid"] == key["uuid"]
    assert hook not in webhooks.answered, "the report waited for the webhook's answer"
    webhooks.release.set()


def test_an_old_secret_still_in_its_overlap_is_revoked_when_it_leaks(
    hub: Hub, api: httpx.Client
) -> None:
    key = create_key(api)
    regenerated = api.put(
        f"/v2/gen-ai/models/api_keys/{key['uuid']}/regenerate", json={"overlap_seconds": 3600}
    )
    assert regenerated.status_code == 200, regenerated.text
    new_secret = regenerated.json()["api_key_info"]["secret_key"]
    assert works(hub, key["secret_key"])

    answer = api.post(REVOKE, json={"secrets": [key["secret_key"]]})

    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["status"] == "revoked"
    assert not works(hub, key["secret_key"])
    assert not works(hub, new_secret), "the key is deleted: both of its secrets die"
