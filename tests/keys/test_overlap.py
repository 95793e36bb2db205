"""Rotation with an overlap: the old secret works until the overlap ends, and never after.

Secrets are tried on the running hub's /v1 with the openai SDK. The SQLite hub caches
verifications; the PostgreSQL one (no Redis) asks the database every time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import openai
import pytest

from modelport.core.clock import utcnow
from tests.support.dataplane import KEYS, create_key, sdk
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.verify import Verifier

SHORT = 2
"""Seconds of overlap in the tests that wait for one to end."""


@pytest.fixture
def caching(hub: Hub, loop: BackgroundLoop) -> Iterator[Verifier]:
    """A verifier that caches for a minute and hears of no revocation (its own ledger)."""
    verifier = Verifier(hub.database_url, loop, cache_seconds=60)
    yield verifier
    verifier.close()


def works(hub: Hub, secret: str) -> bool:
    """Whether /v1 accepts `secret` now (True), or answers 401 (False)."""
    try:
        with sdk(hub, secret) as client:
            client.models.list()
    except openai.AuthenticationError:
        return False
    return True


def regenerate(api: httpx.Client, key_id: str, body: Any = None) -> dict[str, Any]:
    answer = api.put(f"{KEYS}/{key_id}/regenerate", json=body)
    assert answer.status_code == 200, answer.text
    info: dict[str, Any] = answer.json()["api_key_info"]
    return info


def ends(info: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(info["old_secret_expires_at"])


def wait_past(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - utcnow()).total_seconds()) + 0.05)


def test_both_secrets_work_during_the_overlap_and_only_the_new_one_after(
    hub: Hub, api: httpx.Client, caching: Verifier
) -> None:
    key = create_key(api)
    old = key["secret_key"]
    assert works(hub, old)  # cached, on the SQLite hub

    before = utcnow()
    info = regenerate(api, key["uuid"], {"overlap_seconds": SHORT})
    new = info["secret_key"]
    until = ends(info)
    assert before + timedelta(seconds=SHORT) <= until <= utcnow() + timedelta(seconds=SHORT)
    assert works(hub, old)
    assert works(hub, new)
    [listed] = api.get(KEYS).json()["api_key_infos"]
    got = api.get(f"{KEYS}/{key['uuid']}").json()["api_key_info"]
    assert ends(listed) == ends(got) == until
    assert listed["hint"] == "…" + new[-4:]
    # Read from the database, then cached, by a verifier whose ledger is never marked: once
    # the overlap ends, only the expiry cached with the identity can refuse the old secret.
    assert caching.accepts(old)
    assert caching.cached == 1
    assert caching.accepts(old)

    wait_past(until)
    assert caching.cached == 1
    assert not caching.accepts(old)
    assert caching.accepts(new)
    assert not works(hub, old)
    assert works(hub, new)
    [listed] = api.get(KEYS).json()["api_key_infos"]
    assert "old_secret_expires_at" not in listed


def test_a_regenerate_without_an_overlap_stays_immediate(hub: Hub, api: httpx.Client) -> None:
    key = create_key(api)
    secret = key["secret_key"]
    for body in (None, {}, {"overlap_seconds": 0}):
        assert works(hub, secret)
        info = regenerate(api, key["uuid"], body)
        assert "old_secret_expires_at" not in info
        assert not works(hub, secret), body
        secret = info["secret_key"]
    assert works(hub, secret)


def test_delete_during_an_overlap_refuses_both_secrets_at_once(hub: Hub, api: httpx.Client) -> None:
    key = create_key(api)
    info = regenerate(api, key["uuid"], {"overlap_seconds": 3600})
    assert works(hub, key["secret_key"])
    assert works(hub, info["secret_key"])
    assert api.delete(f"{KEYS}/{key['uuid']}").status_code == 200
    assert not works(hub, key["secret_key"])
    assert not works(hub, info["secret_key"])


def test_a_second_regenerate_during_an_overlap_refuses_the_first_old_secret_at_once(
    hub: Hub, api: httpx.Client
) -> None:
    for second_overlap in (3600, 0):
        key = create_key(api)
        first = regenerate(api, key["uuid"], {"overlap_seconds": 3600})
        assert works(hub, key["secret_key"])
        second = regenerate(api, key["uuid"], {"overlap_seconds": second_overlap})
        assert not works(hub, key["secret_key"])
        assert works(hub, first["secret_key"]) is (second_overlap > 0)
        assert works(hub, second["secret_key"])
        assert ("old_secret_expires_at" in second) is (second_overlap > 0)


def test_a_bad_overlap_is_a_400_naming_the_field(hub: Hub, api: httpx.Client) -> None:
    key = create_key(api)
    for overlap in (86_401, -1, "x", "60", 1.5, True, None):
        answer = api.put(f"{KEYS}/{key['uuid']}/regenerate", json={"overlap_seconds": overlap})
        assert answer.status_code == 400, (overlap, answer.text)
        assert answer.json()["id"] == "bad_request"
        assert "overlap_seconds" in answer.json()["message"], overlap
    assert works(hub, key["secret_key"])  # nothing changed
    assert "old_secret_expires_at" not in api.get(f"{KEYS}/{key['uuid']}").json()["api_key_info"]

    before = utcnow()
    info = regenerate(api, key["uuid"], {"overlap_seconds": 86_400.0})  # the longest: a day
    assert before + timedelta(days=1) <= ends(info) <= utcnow() + timedelta(days=1)
