"""Responses and items shaped as the Responses API sends them, and one-line service calls."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from modelport.conversations.service import ConversationService
from modelport.db.engine import Database
from modelport.db.tables import StoredResponseItem
from tests.support.databases import team_and_key

NOW = datetime(2100, 1, 1, tzinfo=UTC)
RETENTION = timedelta(days=30)
Json = dict[str, Any]


@dataclass(frozen=True)
class Owner:
    """A team and one of its keys, as the gateway hands them to the service."""

    team_id: uuid.UUID
    key_id: uuid.UUID


async def new_owner(database: Database) -> Owner:
    return Owner(*await team_and_key(database, NOW))


def user(text: str) -> Json:
    return {
        "id": "msg_" + uuid.uuid4().hex,
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
    }


def answer(text: str) -> Json:
    return {
        "id": "msg_" + uuid.uuid4().hex,
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def response(*output: Json, previous: str | None = None) -> Json:
    return {
        "id": "resp_" + uuid.uuid4().hex,
        "object": "response",
        "status": "completed",
        "model": "m-1",
        "previous_response_id": previous,
        "output": list(output),
        "usage": {"input_tokens": 11, "output_tokens": 7, "total_tokens": 18},
    }


async def save(
    database: Database,
    owner: Owner,
    sent: Json,
    items: list[Json],
    *,
    now: datetime = NOW,
    retention: timedelta = RETENTION,
) -> str:
    """Store `sent` as its own unit of work; its id."""
    async with database.write() as unit:
        await ConversationService(unit).save(
            team_id=owner.team_id,
            key_id=owner.key_id,
            response=sent,
            input_items=items,
            previous_response_id=sent["previous_response_id"],
            now=now,
            retention=retention,
        )
    return str(sent["id"])


async def item_rows(database: Database, response_id: str) -> int:
    """Input item rows left in the table for a response, whatever the service says."""
    async with database.read() as unit:
        count = await unit.session.scalar(
            select(func.count()).where(StoredResponseItem.response_id == response_id)
        )
    return int(count or 0)
