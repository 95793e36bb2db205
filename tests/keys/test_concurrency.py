"""Concurrent changes to one key serialise: one working secret, no lost rename."""

from __future__ import annotations

import asyncio

import httpx

from tests.support.hub import Hub, Team
from tests.support.loop import BackgroundLoop
from tests.support.verify import Verifier

BASE = "/v2/gen-ai/models/api_keys"
AUDIT = "/v2/gen-ai/audit_events"
REGENERATES = 50
RACES = 15


def _create(api: httpx.Client, name: str) -> dict[str, str]:
    created = api.post(BASE, json={"name": name})
    assert created.status_code == 200, created.text
    info: dict[str, str] = created.json()["api_key_info"]
    return info


async def _regenerate_at_once(hub: Hub, token: str, key_id: str) -> list[httpx.Response]:
    async with hub.async_client(token) as client:
        return list(
            await asyncio.gather(
                *(client.put(f"{BASE}/{key_id}/regenerate") for _ in range(REGENERATES))
            )
        )


def test_fifty_simultaneous_regenerates_leave_one_working_secret(
    hub: Hub, team: Team, api: httpx.Client, loop: BackgroundLoop, verifier: Verifier
) -> None:
    key = _create(api, "contended")
    responses = loop.run(_regenerate_at_once(hub, team.token, key["uuid"]))

    for response in responses:
        assert response.status_code in (200, 503), response.text
        if response.status_code != 200:
            assert response.json()["id"] == "service_unavailable"
    issued = [r.json()["api_key_info"]["secret_key"] for r in responses if r.status_code == 200]
    assert issued, "at least one regenerate must succeed"
    assert len(set(issued)) == len(issued)
    working = [secret for secret in [key["secret_key"], *issued] if verifier.accepts(secret)]
    assert len(working) == 1

    info = api.get(f"{BASE}/{key['uuid']}").json()["api_key_info"]
    assert info["name"] == "contended"
    assert info["hint"] == "…" + working[0][-4:]
    assert api.get(BASE).json()["meta"]["total"] == 1
    events = api.get(AUDIT, params={"per_page": 200}).json()["audit_events"]
    assert [e["action"] for e in events].count("key.regenerate") == len(issued)


async def _rename_and_regenerate(
    hub: Hub, token: str, key_id: str, name: str
) -> tuple[httpx.Response, httpx.Response]:
    async with hub.async_client(token) as client:
        renamed, regenerated = await asyncio.gather(
            client.put(f"{BASE}/{key_id}", json={"api_key_uuid": key_id, "name": name}),
            client.put(f"{BASE}/{key_id}/regenerate"),
        )
    return renamed, regenerated


def test_a_rename_racing_a_regenerate_loses_neither(
    hub: Hub, team: Team, api: httpx.Client, loop: BackgroundLoop, verifier: Verifier
) -> None:
    key = _create(api, "raced-0")
    secret = key["secret_key"]
    for round_ in range(1, RACES + 1):
        name = f"raced-{round_}"
        renamed, regenerated = loop.run(_rename_and_regenerate(hub, team.token, key["uuid"], name))
        assert renamed.status_code == 200, renamed.text
        assert regenerated.status_code == 200, regenerated.text
        new_secret = regenerated.json()["api_key_info"]["secret_key"]

        info = api.get(f"{BASE}/{key['uuid']}").json()["api_key_info"]
        assert info["name"] == name
        assert info["hint"] == "…" + new_secret[-4:]
        assert verifier.accepts(new_secret)
        assert not verifier.accepts(secret)
        secret = new_secret
