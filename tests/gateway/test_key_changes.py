"""A key changed but still valid (new limits, credit topped up) is served from the verification
cache again at once, with what changed; so is a key whose change was refused (rolled back);
a regenerated key's old secret is refused at once.

Which source verified each request shows on `/metrics`
(`modelport_key_verifications_total{source}`). A hub on SQLite with no Redis caches
verifications and asks its ledger (`docs/design/revocation.md`); on PostgreSQL without Redis
every request is verified in the database, which sees every change at once.
"""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.hub import Hub

KEYS = "/v2/gen-ai/models/api_keys"


def _state(hub: Hub, secret: str) -> httpx.Response:
    return httpx.get(hub.url + "/v1/key", headers={"Authorization": f"Bearer {secret}"}, timeout=30)


def _verified(hub: Hub) -> dict[str, float]:
    """Accepted verifications so far, by source (cache, database)."""
    text = httpx.get(hub.url + "/metrics", timeout=10).text
    return {
        sample.labels["source"]: sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "modelport_key_verifications"
        for sample in family.samples
        if sample.name == "modelport_key_verifications_total"
    }


def _grew(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {s: after.get(s, 0.0) - before.get(s, 0.0) for s in ("cache", "database")}


def _sources(backend: str, requests: int, *, first_read: bool) -> dict[str, float]:
    """Where `requests` verifications come from: the cache after at most one database read on
    SQLite, the database every time on PostgreSQL without Redis."""
    if backend != "sqlite":
        return {"cache": 0.0, "database": float(requests)}
    read = 1.0 if first_read else 0.0
    return {"cache": requests - read, "database": read}


def _read_once_then_cached(hub: Hub, secret: str, backend: str) -> list[httpx.Response]:
    """Five requests with `secret`, all served: after a change, one database read and then
    the cache on SQLite; the database every time on PostgreSQL."""
    before = _verified(hub)
    states = [_state(hub, secret) for _ in range(5)]
    assert _grew(before, _verified(hub)) == _sources(backend, 5, first_read=True)
    for state in states:
        assert state.status_code == 200, state.text
    return states


def test_a_changed_key_is_cached_again_at_once_with_its_change(
    hub: Hub, api: httpx.Client, backend: str
) -> None:
    created = api.post(KEYS, json={"name": "changing", "rpm_limit": 100})
    assert created.status_code == 200, created.text
    key: dict[str, Any] = created.json()["api_key_info"]
    secret = key["secret_key"]
    assert _state(hub, secret).status_code == 200  # cached now
    changed = api.put(f"{KEYS}/{key['uuid']}", json={"rpm_limit": 7})
    assert changed.status_code == 200, changed.text
    topped = api.post(f"{KEYS}/{key['uuid']}/credit", json={"amount_usd": "2.5"})
    assert topped.status_code == 200, topped.text

    for state in _read_once_then_cached(hub, secret, backend):
        body = state.json()
        assert body["rate_limits"]["requests"]["limit"] == 7
        assert body["credit"]["granted_usd"] == "2.5"

    regenerated = api.put(f"{KEYS}/{key['uuid']}/regenerate")
    assert regenerated.status_code == 200, regenerated.text
    assert _state(hub, secret).status_code == 401, "the old secret, cached until now"
    new = regenerated.json()["api_key_info"]["secret_key"]
    assert _state(hub, new).json()["rate_limits"]["requests"]["limit"] == 7
    before = _verified(hub)
    assert [_state(hub, new).status_code for _ in range(3)] == [200] * 3
    assert _grew(before, _verified(hub)) == _sources(backend, 3, first_read=False)


def test_a_refused_top_up_leaves_the_key_cached_again_at_once(
    hub: Hub, api: httpx.Client, backend: str
) -> None:
    """A top-up past the credit ceiling marks the key, then is refused and rolls back: its
    mark settles at the rollback, not 11 minutes later."""
    created = api.post(KEYS, json={"name": "full"})
    assert created.status_code == 200, created.text
    key: dict[str, Any] = created.json()["api_key_info"]
    secret = key["secret_key"]
    credit = f"{KEYS}/{key['uuid']}/credit"
    for _ in range(5):
        assert api.post(credit, json={"amount_usd": "1000000"}).status_code == 200
    assert _state(hub, secret).status_code == 200  # cached now
    refused = api.post(credit, json={"amount_usd": "0.000001"})
    assert refused.status_code == 400, refused.text
    assert "past 5000000 USD" in refused.json()["message"]

    for state in _read_once_then_cached(hub, secret, backend):
        assert state.json()["credit"]["granted_usd"] == "5000000.0"
