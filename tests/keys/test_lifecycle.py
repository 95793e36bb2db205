"""The whole key lifecycle through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx

from tests.support.hub import Hub, Team

BASE = "/v2/gen-ai/models/api_keys"


def test_create_list_get_rename_regenerate_delete(api: httpx.Client) -> None:
    created = api.post(BASE, json={"name": "  prod  "})
    assert created.status_code == 200, created.text
    info = created.json()["api_key_info"]
    assert info["name"] == "prod"
    assert info["secret_key"].startswith("mp_")
    assert info["hint"] == "…" + info["secret_key"][-4:]
    assert info["last_used_at"] is None
    assert "deleted_at" not in info
    key_id = info["uuid"]

    listed = api.get(BASE).json()
    assert [k["uuid"] for k in listed["api_key_infos"]] == [key_id]
    assert "secret_key" not in listed["api_key_infos"][0]
    assert listed["meta"] == {"page": 1, "pages": 1, "total": 1}

    got = api.get(f"{BASE}/{key_id}").json()["api_key_info"]
    assert got["name"] == "prod"
    assert "secret_key" not in got

    renamed = api.put(f"{BASE}/{key_id}", json={"api_key_uuid": key_id, "name": "staging"})
    assert renamed.status_code == 200
    assert renamed.json()["api_key_info"]["name"] == "staging"
    assert "secret_key" not in renamed.json()["api_key_info"]

    regenerated = api.put(f"{BASE}/{key_id}/regenerate").json()["api_key_info"]
    assert regenerated["secret_key"] != info["secret_key"]
    assert regenerated["name"] == "staging"

    deleted = api.delete(f"{BASE}/{key_id}")
    assert deleted.status_code == 200
    assert deleted.json()["api_key_info"]["deleted_at"]
    assert api.get(f"{BASE}/{key_id}").status_code == 404
    assert api.get(BASE).json()["api_key_infos"] == []


def test_other_teams_keys_are_not_found(hub: Hub, api: httpx.Client) -> None:
    key_id = api.post(BASE, json={"name": "mine"}).json()["api_key_info"]["uuid"]
    other: Team = hub.new_team()
    with hub.client(other.token) as stranger:
        for method, path in [
            ("GET", f"{BASE}/{key_id}"),
            ("PUT", f"{BASE}/{key_id}/regenerate"),
            ("DELETE", f"{BASE}/{key_id}"),
        ]:
            response = stranger.request(method, path)
            assert response.status_code == 404
            assert response.json()["id"] == "not_found"
        assert stranger.get(BASE).json()["api_key_infos"] == []
