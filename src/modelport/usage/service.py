"""Usage reports: sums per day, model or key, and their totals, in exact money."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from modelport.db.uow import UnitOfWork
from modelport.usage.repository import Bucket, GroupBy, Series, UsageRepository

__all__ = ["Bucket", "GroupBy", "Series", "UsageReport", "UsageService"]


@dataclass(frozen=True, slots=True)
class UsageReport:
    buckets: list[Bucket]
    totals: Bucket


class UsageService:
    def __init__(self, unit: UnitOfWork) -> None:
        self._usage = UsageRepository(unit.session)

    async def report(
        self,
        team_id: uuid.UUID,
        start: datetime,
        end: datetime,
        group_by: GroupBy,
        key_id: uuid.UUID | None = None,
    ) -> UsageReport:
        """Buckets for [start, end) and totals that are exactly their sum."""
        buckets = await self._usage.buckets(team_id, start, end, group_by, key_id)
        return UsageReport(buckets, Bucket.total("total", buckets))

    async def key_spend(self, key_id: uuid.UUID, start: datetime, end: datetime) -> int:
        """Picodollars one key spent in [start, end): the sum of its usage rows' cost, the
        figure its monthly spend limit is counted from (`usage/admission.py`)."""
        return await self._usage.key_spend(key_id, start, end)

    async def spend_by_key(self, team_id: uuid.UUID, since: datetime) -> dict[uuid.UUID, int]:
        """Picodollars spent per key since `since` (keys without use are absent)."""
        return await self._usage.spend_by_key(team_id, since)

    async def daily(
        self, team_id: uuid.UUID, start: datetime, end: datetime, series: Series
    ) -> list[tuple[str, Bucket]]:
        """Sums per UTC day and key (or model) for [start, end), in one read, so that a chart
        and a table made from them always agree; together they sum to `report`'s totals."""
        return await self._usage.daily(team_id, start, end, series)
