"""What the fault tests share: key calls over /v2, model calls over /v1, usage rows by request."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import httpx
from sqlalchemy import func, select, update

from modelport.config import Settings
from modelport.db.engine import Database
from modelport.db.tables import ModelKey, UsageRecord
from tests.support.hub import TEST_SECRET
from tests.support.loop import BackgroundLoop
from tests.support.replicas import IDLE_SECONDS

KEYS = "/v2/gen-ai/models/api_keys"
CHAT = "/v1/chat/completions"


def create_key(api: httpx.Client, name: str = "fault", **limits: object) -> dict[str, Any]:
    """A new key's info, secret included; fails the test unless the hub said 200."""
    created = api.post(KEYS, json={"name": name, **limits})
    assert created.status_code == 200, created.text
    info: dict[str, Any] = created.json()["api_key_info"]
    return info


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def models_status(client: httpx.Client, base_url: str, secret: str) -> int:
    """The status of GET /v1/models with `secret`: a verification and nothing else."""
    return client.get(base_url + "/v1/models", headers=bearer(secret)).status_code


def chat_body(content: str = "x" * 44, **extra: object) -> dict[str, Any]:
    """A chat request; 44 characters estimate as the fake's 11 prompt tokens."""
    return {"model": "test-chat", "messages": [{"role": "user", "content": content}], **extra}


class Evidence:
    """Reads the hub's database directly: what was really committed, not what a replica says."""

    def __init__(self, database_url: str, loop: BackgroundLoop) -> None:
        settings = Settings(database_url=database_url, secret=TEST_SECRET)
        self._loop = loop
        self._database = Database(settings.sqlalchemy_url, pool_size=2)

    def rows_per_request(self, key_ids: Iterable[str]) -> dict[str, int]:
        """How many usage rows each request id of these keys has."""
        return self._loop.run(self._rows_per_request([uuid.UUID(k) for k in key_ids]))

    def spend(self, key_id: str) -> int:
        """Picodollars the key's usage rows add up to."""
        return self._loop.run(self._spend(uuid.UUID(key_id)))

    def clear_digest_behind_the_ledger(self, key_id: str) -> None:
        """Revoke a key by SQL alone, the way no modelport code path does: nothing is marked."""
        self._loop.run(self._clear_digest(uuid.UUID(key_id)))

    def close(self) -> None:
        self._loop.run(self._database.dispose())

    async def _rows_per_request(self, key_ids: list[uuid.UUID]) -> dict[str, int]:
        query = (
            select(UsageRecord.request_id, func.count())
            .where(UsageRecord.key_id.in_(key_ids))
            .group_by(UsageRecord.request_id)
        )
        async with self._database.read() as unit:
            return {rid: int(n) for rid, n in (await unit.session.execute(query)).all()}

    async def _spend(self, key_id: uuid.UUID) -> int:
        query = select(func.coalesce(func.sum(UsageRecord.cost_picousd), 0)).where(
            UsageRecord.key_id == key_id
        )
        async with self._database.read() as unit:
            return int((await unit.session.execute(query)).scalar_one())

    async def _clear_digest(self, key_id: uuid.UUID) -> None:
        async with self._database.write() as unit:
            await unit.session.execute(
                update(ModelKey).where(ModelKey.id == key_id).values(digest=None)
            )


def wait_until(condition: Callable[[], bool], what: str, timeout: float) -> float:
    """Seconds it took `condition` to hold; AssertionError naming `what` after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - started


def v1_client(timeout: float = 10) -> httpx.Client:
    """A client for /v1 calls (no secret comes back on /v1), quick to drop idle connections."""
    return httpx.Client(timeout=timeout, limits=httpx.Limits(keepalive_expiry=IDLE_SECONDS))


def v1_async_client(connections: int, timeout: float = 30) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, keepalive_expiry=IDLE_SECONDS)
    return httpx.AsyncClient(timeout=timeout, limits=limits)
