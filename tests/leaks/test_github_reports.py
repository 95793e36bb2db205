"""GitHub's secret scanning reports, signed by a test's own P-256 key, through a running hub:
a good signature revokes a live key (or only reports it, if the operator chose) and tells its
team; any bad signature is refused and changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import openai
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from modelport.core import secrets as secret_format
from tests.leaks.webhook_server import WebhookReceiver
from tests.support.dataplane import create_key, sdk
from tests.support.hub import Hub
from tests.support.scanning import GITHUB, FakeGitHub, item

KEYS = "/v2/gen-ai/models/api_keys"
AUDIT = "/v2/gen-ai/audit_events"
SETTINGS = "/v2/gen-ai/team/settings"


def found_at() -> str:
    return f"https://github.com/octo/app/blob/{uuid.uuid4().hex}/.env"


def works(hub: Hub, secret: str) -> bool:
    try:
        with sdk(hub, secret) as client:
            client.models.list()
    except openai.AuthenticationError:
        return False
    return True


def leak_events(api: httpx.Client) -> list[dict[str, Any]]:
    events = api.get(AUDIT, params={"per_page": 200}).json()["audit_events"]
    return [e for e in events if e["action"].startswith("key.leak")]


def test_a_signed_report_revokes_the_key_audits_the_url_and_calls_the_webhook(
    hub: Hub, github: FakeGitHub, webhooks: WebhookReceiver
) -> None:
    team = hub.new_team()
    hook = f"/{team.name}"
    with hub.client(team.token) as api:
        set_hook = api.patch(SETTINGS, json={"webhook_url": webhooks.url(hook)})
        assert set_hook.status_code == 200, set_hook.text
        key = create_key(api)
        secret = key["secret_key"]
        assert works(hub, secret)
        unknown = secret_format.generate(secret_format.MODEL_KEY_PREFIX)
        where = found_at()

        answer = github.report(
            hub,
            [item(secret, where), item(unknown, where), item("not-a-key-at-all", where)],
        )

        assert answer.status_code == 200, answer.text
        assert answer.json() == [
            {"token_raw": secret, "token_type": "modelport_api_key", "label": "true_positive"},
            {"token_raw": unknown, "token_type": "modelport_api_key", "label": "false_positive"},
            {
                "token_raw": "not-a-key-at-all",
                "token_type": "modelport_api_key",
                "label": "false_positive",
            },
        ]
        assert not works(hub, secret)
        assert api.get(f"{KEYS}/{key['uuid']}").status_code == 404
        [event] = leak_events(api)
        assert event["action"] == "key.leak_revoke"
        assert event["actor"] == "github-secret-scanning"
        assert event["target_uuid"] == key["uuid"]
        assert event["detail"] == where

    [(sent, raw)] = webhooks.wait_for(hook)
    assert sent["event"] == "api_key.leaked"
    assert sent["action"] == "revoked"
    assert sent["api_key_uuid"] == key["uuid"]
    assert sent["name"] == key["name"]
    assert sent["hint"] == "…" + secret[-4:]
    assert sent["url"] == where
    assert secret not in raw
    assert secret[-38:] not in raw


BAD_REPORTS = ["wrong key", "tampered body", "unknown identifier", "no signature", "not base64"]


@pytest.mark.parametrize("how", BAD_REPORTS)
def test_a_badly_signed_report_is_refused_and_changes_nothing(
    hub: Hub, github: FakeGitHub, how: str
) -> None:
    team = hub.new_team()
    with hub.client(team.token) as api:
        secret = create_key(api)["secret_key"]
        items = [item(secret, found_at())]
        if how == "wrong key":
            impostor = FakeGitHub(ec.generate_private_key(ec.SECP256R1()))
            answer = impostor.report(hub, items)
        elif how == "tampered body":
            innocent = [item("mp_" + "a" * 38, found_at())]
            answer = github.report(hub, items, signed_body=str(innocent).encode())
        elif how == "unknown identifier":
            answer = github.report(hub, items, identifier="0" * 64)
        else:
            headers = {"content-type": "application/json"}
            if how == "not base64":
                headers["Github-Public-Key-Identifier"] = github.identifier
                headers["Github-Public-Key-Signature"] = "%%%not base64%%%"
            with hub.client(None) as anonymous:
                answer = anonymous.post(GITHUB, json=items, headers=headers)

        assert answer.status_code == 401, answer.text
        assert answer.json()["id"] == "unauthorized"
        assert works(hub, secret)
        assert leak_events(api) == []


def test_report_only_mode_keeps_the_key_and_records_the_report(
    reporting_hub: Hub, github: FakeGitHub
) -> None:
    team = reporting_hub.new_team()
    with reporting_hub.client(team.token) as api:
        key = create_key(api)
        where = found_at()

        answer = github.report(reporting_hub, [item(key["secret_key"], where)])

        assert answer.status_code == 200, answer.text
        assert answer.json()[0]["label"] == "true_positive"
        assert works(reporting_hub, key["secret_key"])
        [event] = leak_events(api)
        assert (event["action"], event["target_uuid"], event["detail"]) == (
            "key.leak_report",
            key["uuid"],
            where,
        )


def test_a_signed_report_that_is_not_a_list_is_refused_with_400(
    hub: Hub, github: FakeGitHub
) -> None:
    answer = github.report(hub, {"token": "x"})  # type: ignore[arg-type]
    assert answer.status_code == 400, answer.text
