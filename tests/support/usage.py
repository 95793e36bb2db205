"""The hub's usage rows, read straight from its database: what was really recorded; and
rows with known token details written straight into it, for the reports to sum."""

from __future__ import annotations

import functools
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from modelport.auth.repository import TeamRepository
from modelport.catalog.loader import load_catalog
from modelport.catalog.model import CatalogModel
from modelport.config import Settings
from modelport.core.pricing import Tokens
from modelport.db.engine import Database
from modelport.db.tables import UsageRecord
from modelport.usage.repository import UsageRepository
from modelport.usage.row import UsageRow
from tests.support.catalog import (
    CACHE_WRITE_PRICE,
    CACHED_INPUT_PRICE,
    CHAT_INPUT_PRICE,
    CHAT_OUTPUT_PRICE,
    write_test_catalog,
)
from tests.support.dataplane import KEYS
from tests.support.hub import TEST_SECRET
from tests.support.loop import BackgroundLoop

COUNTS = (
    "requests",
    "prompt_tokens",
    "cached_prompt_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "total_tokens",
)
"""A usage report's counts, as the API names them."""


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Poll `condition` until it holds; AssertionError naming `what` after `timeout` seconds.

    For effects that happen after a response on purpose (a disconnected request's row, a
    cancelled upstream call), never as a stand-in for a missing guarantee.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class UsageRows:
    """Reads (and writes) `usage_records` in the hub's database, SQLite or PostgreSQL alike."""

    def __init__(self, database_url: str, loop: BackgroundLoop) -> None:
        settings = Settings(database_url=database_url, secret=TEST_SECRET)
        self._loop = loop
        self._database = Database(settings.sqlalchemy_url, pool_size=2)

    def of_key(self, key_id: str) -> list[UsageRecord]:
        """Every row recorded for the key, oldest first."""
        return self._loop.run(self._of_key(uuid.UUID(key_id)))

    def wait_for(self, key_id: str, count: int, timeout: float = 5.0) -> list[UsageRecord]:
        """The key's rows once there are `count` of them (rows written after a disconnect
        land a moment after the client has gone); AssertionError after `timeout`."""
        wait_until(lambda: len(self.of_key(key_id)) >= count, f"{count} usage rows", timeout)
        return self.of_key(key_id)

    def write(self, team: str, usages: Iterable[Usage]) -> None:
        """Write one ok row per usage, in the team named `team`, as the recorder would."""
        self._loop.run(self._write(team, list(usages)))

    async def _write(self, team_name: str, usages: list[Usage]) -> None:
        async with self._database.write() as unit:
            team = await TeamRepository(unit.session).by_name(team_name)
            assert team is not None, team_name
            rows = [usage.row(team.id) for usage in usages]
            await UsageRepository(unit.session).insert_once(rows)

    async def _of_key(self, key_id: uuid.UUID) -> list[UsageRecord]:
        async with self._database.read() as unit:
            result = await unit.session.execute(
                select(UsageRecord).where(UsageRecord.key_id == key_id).order_by(UsageRecord.id)
            )
            return list(result.scalars())

    def close(self) -> None:
        self._loop.run(self._database.dispose())


@dataclass(frozen=True)
class Usage:
    """One request's figures, to write as a usage row and to find again in the reports."""

    key_id: str
    model: str
    at: datetime
    prompt: int
    cached: int
    cache_write: int
    completion: int
    reasoning: int

    @property
    def cost(self) -> Decimal:
        """USD at the test catalog's prices, as the README says costs are computed: cached
        prompt tokens at the cached-input price, cache writes at the cache-write price, the
        rest at the input price, every completion token (reasoning too) at the output price."""
        cached, write = (
            (CACHED_INPUT_PRICE, CACHE_WRITE_PRICE)
            if self.model == "test-cached"
            else (CHAT_INPUT_PRICE, CHAT_INPUT_PRICE)
        )
        fresh = self.prompt - self.cached - self.cache_write
        return (
            fresh * CHAT_INPUT_PRICE
            + self.cached * cached
            + self.cache_write * write
            + self.completion * CHAT_OUTPUT_PRICE
        ) / 10**6

    def row(self, team_id: uuid.UUID) -> UsageRow:
        """The row the gateway would write: priced by the hub's own code, not by `cost`."""
        tokens = Tokens(self.prompt, self.completion, self.cached, self.cache_write, self.reasoning)
        return UsageRow(
            request_id=str(uuid.uuid4()),
            team_id=team_id,
            key_id=uuid.UUID(self.key_id),
            model=self.model,
            prompt_tokens=self.prompt,
            completion_tokens=self.completion,
            cost_picousd=_test_catalog()[self.model].prices.cost(tokens),
            status="ok",
            estimated=False,
            latency_ms=100,
            created_at=self.at,
            cached_prompt_tokens=self.cached,
            cache_write_tokens=self.cache_write,
            reasoning_tokens=self.reasoning,
        )

    @property
    def figures(self) -> dict[str, Any]:
        """This request as a usage report counts it, cost in USD."""
        return {
            "requests": 1,
            "prompt_tokens": self.prompt,
            "cached_prompt_tokens": self.cached,
            "cache_write_tokens": self.cache_write,
            "completion_tokens": self.completion,
            "reasoning_tokens": self.reasoning,
            "total_tokens": self.prompt + self.completion,
            "cost": self.cost,
        }


@functools.cache
def _test_catalog() -> dict[str, CatalogModel]:
    with tempfile.TemporaryDirectory() as folder:
        path = write_test_catalog(Path(folder) / "catalog.toml", "http://127.0.0.1:9/v1")
        return {model.id: model for model in load_catalog(path, lambda _: None).all()}


def summed(usages: Iterable[Usage], label: Callable[[Usage], str]) -> dict[str, dict[str, Any]]:
    """The figures of `usages` summed per label, as a report's buckets should hold them."""
    sums: dict[str, dict[str, Any]] = {}
    for usage in usages:
        bucket = sums.setdefault(label(usage), {name: 0 for name in (*COUNTS, "cost")})
        for name, value in usage.figures.items():
            bucket[name] += value
    return sums


@dataclass(frozen=True)
class Detailed:
    """Two keys' usage over two past days, with every kind of token detail."""

    keys: dict[str, str]
    """Key name -> uuid."""
    usages: list[Usage]
    first_day: date
    last_day: date

    @property
    def period(self) -> dict[str, str]:
        return {"start": self.first_day.isoformat(), "end": self.last_day.isoformat()}


def write_detailed(api: httpx.Client, team: str, rows: UsageRows) -> Detailed:
    """Keys `alpha` and `beta` made through the API, and their known usage written straight
    into the database: the cache-priced model and one without cache prices, requests at
    both ends of a UTC day. The period is in the past, so the rows are this team's alone."""
    keys = {}
    for name in ("alpha", "beta"):
        created = api.post(KEYS, json={"name": name})
        assert created.status_code == 200, created.text
        keys[name] = created.json()["api_key_info"]["uuid"]
    first = datetime.now(UTC).date() - timedelta(days=3)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    late = start + timedelta(days=2) - timedelta(microseconds=1)
    alpha, beta = keys["alpha"], keys["beta"]
    usages = [
        Usage(alpha, "test-cached", start, 1200, 800, 300, 400, 150),
        Usage(alpha, "test-cached", late, 900, 0, 900, 10, 0),
        Usage(alpha, "test-chat", late, 333, 111, 0, 77, 33),
        Usage(beta, "test-cached", start + timedelta(hours=9), 50, 50, 0, 5, 5),
        Usage(beta, "test-chat", late, 7, 0, 0, 1, 1),
    ]
    rows.write(team, usages)
    return Detailed(keys, usages, first, late.date())


def whole_window() -> None:
    """Wait out the end of a minute, so that a test's requests count in one fixed window of
    the per-minute limits (a test that straddles two sees its limit reset half-way)."""
    left = 60 - time.time() % 60
    if left < 5:
        time.sleep(left + 0.1)
