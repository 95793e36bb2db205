"""The audit log: every key change, who made it, from where, newest first, per team."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from tests.support.hub import SECRET_PATTERN, Hub, Team

BASE = "/v2/gen-ai/models/api_keys"
AUDIT = "/v2/gen-ai/audit_events"


def _lifecycle(api: httpx.Client) -> tuple[str, list[httpx.Response]]:
    """Create, rename, regenerate and delete one key; the key's uuid and the four responses."""
    created = api.post(BASE, json={"name": "audited"})
    key_id = created.json()["api_key_info"]["uuid"]
    responses = [
        created,
        api.put(f"{BASE}/{key_id}", json={"api_key_uuid": key_id, "name": "renamed"}),
        api.put(f"{BASE}/{key_id}/regenerate"),
        api.delete(f"{BASE}/{key_id}"),
    ]
    assert [r.status_code for r in responses] == [200] * 4
    return key_id, responses


def _events(client: httpx.Client, **params: int) -> dict[str, Any]:
    response = client.get(AUDIT, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_every_key_change_is_recorded_newest_first(api: httpx.Client) -> None:
    key_id, responses = _lifecycle(api)
    body = _events(api)
    assert body["meta"] == {"page": 1, "pages": 1, "total": 4}
    events = body["audit_events"]
    assert [e["action"] for e in events] == [
        "key.delete",
        "key.regenerate",
        "key.rename",
        "key.create",
    ]
    assert [e["target_name"] for e in events] == ["renamed", "renamed", "renamed", "audited"]
    assert [e["request_id"] for e in events] == [
        r.headers["x-request-id"] for r in reversed(responses)
    ]
    for event in events:
        assert event["actor"] == "token:rw"
        assert event["target_uuid"] == key_id
        assert event["client_addr"] == "127.0.0.1"
    times = [datetime.fromisoformat(e["at"]) for e in events]
    assert times == sorted(times, reverse=True)
    assert all(t.utcoffset() is not None for t in times)


def test_refused_requests_are_not_recorded(hub: Hub, team: Team, api: httpx.Client) -> None:
    key_id = api.post(BASE, json={"name": "only"}).json()["api_key_info"]["uuid"]
    api.post(BASE, json={"name": ""})
    api.put(f"{BASE}/{key_id}", json={"name": "\x00"})
    api.delete(f"{BASE}/123e4567-e89b-12d3-a456-426614174000")
    with hub.client(team.read_only_token) as reader:
        reader.put(f"{BASE}/{key_id}/regenerate")
        reader.delete(f"{BASE}/{key_id}")
    assert [e["action"] for e in _events(api)["audit_events"]] == ["key.create"]


def test_the_log_is_paged(api: httpx.Client) -> None:
    _lifecycle(api)
    _lifecycle(api)
    everything = _events(api)["audit_events"]
    first = _events(api, per_page=3)
    assert first["meta"] == {"page": 1, "pages": 3, "total": 8}
    assert set(first["links"]["pages"]) == {"next", "last"}
    last = _events(api, page=3, per_page=3)
    assert set(last["links"]["pages"]) == {"first", "previous"}
    pages = [_events(api, page=n, per_page=3)["audit_events"] for n in (1, 2, 3)]
    assert [e for page in pages for e in page] == everything
    assert [len(page) for page in pages] == [3, 3, 2]


def test_a_read_only_token_can_read_the_log(hub: Hub, team: Team, api: httpx.Client) -> None:
    _lifecycle(api)
    with hub.client(team.read_only_token) as reader:
        assert _events(reader) == _events(api)


def test_no_secret_is_in_the_log(hub: Hub, team: Team, api: httpx.Client) -> None:
    _, responses = _lifecycle(api)
    issued = [r.json()["api_key_info"]["secret_key"] for r in responses[::2]]
    text = api.get(AUDIT).text
    assert SECRET_PATTERN.findall(text) == []
    for secret in [*issued, team.token, team.read_only_token]:
        assert secret[-20:] not in text


def test_other_teams_events_are_invisible(hub: Hub, api: httpx.Client) -> None:
    _lifecycle(api)
    stranger = hub.new_team()
    with hub.client(stranger.token) as other:
        assert _events(other) == {
            "audit_events": [],
            "links": {"pages": {}},
            "meta": {"page": 1, "pages": 1, "total": 0},
        }
        other.post(BASE, json={"name": "theirs"})
        assert [e["target_name"] for e in _events(other)["audit_events"]] == ["theirs"]
    assert "theirs" not in [e["target_name"] for e in _events(api)["audit_events"]]
