"""All SQL for stored responses and their input items. Never commits.

Bodies are JSON text, written and read with orjson here; the database never looks inside
them. A response is visible to its team while `expires_at` is after the time asked about.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Integer, delete, insert, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from modelport.db.tables import StoredResponse, StoredResponseItem

Json = dict[str, Any]
# Core inserts of plain dicts: the ORM's unit of work adds nothing for rows written once.
_RESPONSES = StoredResponse.metadata.tables[StoredResponse.__tablename__]
_ITEMS = StoredResponseItem.metadata.tables[StoredResponseItem.__tablename__]
_UNSYNCED = {"synchronize_session": False}


@dataclass(frozen=True, slots=True)
class Turn:
    """One response met walking up a conversation."""

    id: str
    total: int
    """Bytes of this response and of every one walked before it (see `StoredResponse.size`)."""
    body: Json


def _visible(team_id: uuid.UUID, now: datetime) -> tuple[ColumnElement[bool], ...]:
    return StoredResponse.team_id == team_id, StoredResponse.expires_at > now


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        *,
        team_id: uuid.UUID,
        key_id: uuid.UUID,
        response: Json,
        input_items: Sequence[Json],
        previous_response_id: str | None,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        """Insert a response and its input items, in order; a taken id fails the statement."""
        body = orjson.dumps(response)
        items = [orjson.dumps(item) for item in input_items]
        await self._session.execute(
            insert(_RESPONSES).values(
                id=response["id"],
                team_id=team_id,
                key_id=key_id,
                previous_response_id=previous_response_id,
                body=body.decode(),
                size=len(body) + sum(map(len, items)),
                created_at=created_at,
                expires_at=expires_at,
            )
        )
        rows = [
            {
                "response_id": response["id"],
                "position": position,
                "item_id": item["id"],
                "body": text.decode(),
            }
            for position, (item, text) in enumerate(zip(input_items, items, strict=True))
        ]
        if rows:
            await self._session.execute(insert(_ITEMS), rows)

    async def body(self, team_id: uuid.UUID, response_id: str, now: datetime) -> Json | None:
        """The response as stored, or None when it is not visible to this team now."""
        text = await self._session.scalar(
            select(StoredResponse.body).where(
                StoredResponse.id == response_id, *_visible(team_id, now)
            )
        )
        return None if text is None else orjson.loads(text)

    async def visible(self, team_id: uuid.UUID, response_id: str, now: datetime) -> bool:
        found = await self._session.scalar(
            select(StoredResponse.id).where(
                StoredResponse.id == response_id, *_visible(team_id, now)
            )
        )
        return found is not None

    async def item_position(self, response_id: str, item_id: str) -> int | None:
        """Where an input item sits in its response (0 first), or None if it has no such item."""
        return await self._session.scalar(
            select(StoredResponseItem.position).where(
                StoredResponseItem.response_id == response_id,
                StoredResponseItem.item_id == item_id,
            )
        )

    async def items(
        self, response_id: str, *, beyond: int | None, limit: int, descending: bool
    ) -> list[Json]:
        """Up to `limit` input items in position order (or reversed), past `beyond` if given."""
        position = StoredResponseItem.position
        query = select(StoredResponseItem.body).where(StoredResponseItem.response_id == response_id)
        if beyond is not None:
            query = query.where(position < beyond if descending else position > beyond)
        query = query.order_by(position.desc() if descending else position).limit(limit)
        return [orjson.loads(text) for text in await self._session.scalars(query)]

    async def walk(
        self, team_id: uuid.UUID, response_id: str, now: datetime, *, turns: int, size: int
    ) -> list[Turn]:
        """The conversation ending at `response_id`, newest first, in one recursive query.

        It follows `previous_response_id` through this team's unexpired responses and stops
        at a gap (a response deleted, expired or never stored), after `turns` + 1 responses,
        or at the first one that takes the running total of bytes past `size`: a caller sees
        that a limit was passed without the walk reading far past it. Empty when the
        response itself is not visible.
        """
        first = (
            select(
                StoredResponse.id,
                StoredResponse.previous_response_id,
                literal_column("0", Integer).label("depth"),
                StoredResponse.size.label("total"),
            )
            .where(StoredResponse.id == response_id, *_visible(team_id, now))
            .cte("chain", recursive=True)
        )
        parent = aliased(StoredResponse, name="parent")
        chain = first.union_all(
            select(
                parent.id,
                parent.previous_response_id,
                first.c.depth + 1,
                first.c.total + parent.size,
            ).where(
                parent.id == first.c.previous_response_id,
                parent.team_id == team_id,
                parent.expires_at > now,
                first.c.depth < turns,
                first.c.total <= size,
            )
        )
        rows = await self._session.execute(
            select(chain.c.id, chain.c.total, StoredResponse.body)
            .join(StoredResponse, StoredResponse.id == chain.c.id)
            .order_by(chain.c.depth)
        )
        return [Turn(row[0], row[1], orjson.loads(row[2])) for row in rows]

    async def all_items(self, response_ids: Sequence[str]) -> dict[str, list[Json]]:
        """Every input item of these responses, in order, by response id."""
        found: dict[str, list[Json]] = {response_id: [] for response_id in response_ids}
        rows = await self._session.execute(
            select(StoredResponseItem.response_id, StoredResponseItem.body)
            .where(StoredResponseItem.response_id.in_(response_ids))
            .order_by(StoredResponseItem.response_id, StoredResponseItem.position)
        )
        for response_id, text in rows:
            found[response_id].append(orjson.loads(text))
        return found

    async def delete(self, team_id: uuid.UUID, response_id: str, now: datetime) -> bool:
        """Delete a visible response and (by cascade) its items; whether there was one."""
        deleted = await self._session.scalar(
            delete(StoredResponse)
            .where(StoredResponse.id == response_id, *_visible(team_id, now))
            .returning(StoredResponse.id),
            execution_options=_UNSYNCED,
        )
        return deleted is not None

    async def purge(self, before: datetime, limit: int) -> int:
        """Delete up to `limit` responses expired by `before`, their items with them; how many."""
        expired = (
            select(StoredResponse.id)
            .where(StoredResponse.expires_at <= before)
            .order_by(StoredResponse.expires_at)
            .limit(limit)
        )
        result = await self._session.scalars(
            delete(StoredResponse)
            .where(StoredResponse.id.in_(expired))
            .returning(StoredResponse.id),
            execution_options=_UNSYNCED,
        )
        return len(result.all())
