"""All SQL for usage rows. Never commits."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any, Literal

from sqlalchemy import ColumnElement, Date, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from modelport.db.tables import UsageRecord
from modelport.usage.row import UsageRow

GroupBy = Literal["day", "model", "key"]
Series = Literal["model", "key"]

# A Core insert of plain dicts: the ORM's bulk insert (and dataclasses.asdict, which deep-copies
# every value) cost twice as much CPU per row, on the path every /v1 request waits on.
_TABLE = UsageRecord.metadata.tables[UsageRecord.__tablename__]
_INSERT_ONCE = {
    "postgresql": postgresql.insert(_TABLE).on_conflict_do_nothing(index_elements=["request_id"]),
    "sqlite": sqlite.insert(_TABLE).on_conflict_do_nothing(index_elements=["request_id"]),
}
_COLUMNS = tuple(field.name for field in fields(UsageRow))


@dataclass(frozen=True, slots=True)
class Bucket:
    """Sums over one day, model or key. `label` is the ISO date, model id or key uuid.

    The cached, cache-write and reasoning counts are parts of the prompt and completion
    counts, as on a usage row.
    """

    label: str
    requests: int
    prompt_tokens: int
    cached_prompt_tokens: int
    cache_write_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    cost_picousd: int

    @classmethod
    def total(cls, label: str, buckets: Sequence[Bucket]) -> Bucket:
        """The sum of `buckets`, figure by figure (every figure: a new one cannot be missed)."""
        return cls(label, *(sum(getattr(b, name) for b in buckets) for name in _FIGURES))


_FIGURES = tuple(field.name for field in fields(Bucket) if field.name != "label")
"""A bucket's figures in field order: `requests`, then the sum of the column of each name."""
_SUMS = (
    func.count(),
    *(func.sum(_TABLE.c[name]) for name in _FIGURES if name != "requests"),
)


def _bucket(label: object, sums: Sequence[Any]) -> Bucket:
    return Bucket(str(label), *(int(value) for value in sums))


def insert_once_sqlite(connection: sqlite3.Connection, rows: Sequence[UsageRow]) -> None:
    """`UsageRepository.insert_once` on SQLite's own driver, in a transaction the caller holds.

    The SQL and every value's conversion are SQLAlchemy's (the statement compiled once, each
    column type's bind processor); only its per-execution machinery is skipped, which cost
    more than SQLite's own insert on the writer thread's hot path.
    """
    sql, columns = _sqlite_insert()
    connection.executemany(sql, [_converted(row, columns) for row in rows])


Converter = Callable[[Any], Any]


@cache
def _sqlite_insert() -> tuple[str, tuple[tuple[str, Converter | None], ...]]:
    """The insert's SQL for SQLite, and its columns in order with each one's converter."""
    dialect = sqlite.dialect()
    compiled = _INSERT_ONCE["sqlite"].compile(dialect=dialect, column_keys=list(_COLUMNS))
    assert compiled.positiontup is not None
    columns = tuple(
        (name, _TABLE.c[name].type.bind_processor(dialect)) for name in compiled.positiontup
    )
    return compiled.string, columns


def _converted(row: UsageRow, columns: Sequence[tuple[str, Converter | None]]) -> tuple[Any, ...]:
    return tuple(
        getattr(row, name) if convert is None else convert(getattr(row, name))
        for name, convert in columns
    )


def _values(rows: Sequence[UsageRow]) -> list[dict[str, Any]]:
    return [{name: getattr(row, name) for name in _COLUMNS} for row in rows]


class UsageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def insert_once(self, rows: Sequence[UsageRow]) -> None:
        """Insert rows; a request id already recorded is skipped, so a retry cannot double-count."""
        dialect = self._session.get_bind().dialect.name
        statement = _INSERT_ONCE["postgresql" if dialect == "postgresql" else "sqlite"]
        await self._session.execute(statement, _values(rows))

    async def buckets(
        self,
        team_id: uuid.UUID,
        start: datetime,
        end: datetime,
        group_by: GroupBy,
        key_id: uuid.UUID | None = None,
    ) -> list[Bucket]:
        """Sums per bucket for [start, end), in label order."""
        label = self._label(group_by).label("label")
        filters: list[ColumnElement[bool]] = [
            UsageRecord.team_id == team_id,
            UsageRecord.created_at >= start,
            UsageRecord.created_at < end,
        ]
        if key_id is not None:
            filters.append(UsageRecord.key_id == key_id)
        result = await self._session.execute(
            select(label, *_SUMS).where(*filters).group_by(label).order_by(label)
        )
        return [_bucket(row[0], row[1:]) for row in result]

    async def daily(
        self, team_id: uuid.UUID, start: datetime, end: datetime, series: Series
    ) -> list[tuple[str, Bucket]]:
        """Sums per UTC day and key (or model) for [start, end), by day then label: what a
        stacked chart draws. Each bucket's label is the key uuid or the model id."""
        day = self._label("day").label("day")
        label = self._label(series).label("label")
        result = await self._session.execute(
            select(day, label, *_SUMS)
            .where(
                UsageRecord.team_id == team_id,
                UsageRecord.created_at >= start,
                UsageRecord.created_at < end,
            )
            .group_by(day, label)
            .order_by(day, label)
        )
        return [(str(row[0]), _bucket(row[1], row[2:])) for row in result]

    async def key_spend(self, key_id: uuid.UUID, start: datetime, end: datetime) -> int:
        """Picodollars one key spent in [start, end)."""
        result = await self._session.execute(
            select(func.coalesce(func.sum(UsageRecord.cost_picousd), 0)).where(
                UsageRecord.key_id == key_id,
                UsageRecord.created_at >= start,
                UsageRecord.created_at < end,
            )
        )
        return int(result.scalar_one())

    async def spend_by_key(self, team_id: uuid.UUID, since: datetime) -> dict[uuid.UUID, int]:
        """Picodollars spent per key since `since`."""
        result = await self._session.execute(
            select(UsageRecord.key_id, func.sum(UsageRecord.cost_picousd))
            .where(UsageRecord.team_id == team_id, UsageRecord.created_at >= since)
            .group_by(UsageRecord.key_id)
        )
        return {row[0]: int(row[1]) for row in result}

    def _label(self, group_by: GroupBy) -> Any:
        if group_by == "model":
            return UsageRecord.model
        if group_by == "key":
            return UsageRecord.key_id
        if self._session.get_bind().dialect.name == "postgresql":
            return cast(func.timezone("UTC", UsageRecord.created_at), Date)
        return func.substr(UsageRecord.created_at, 1, 10)  # stored as 'YYYY-MM-DD HH:MM:SS'
