"""Stored responses as /v1 uses them: each call in a unit of work of its own.

The conversation service (`conversations/`) keeps the rules; this is where the gateway meets
the database for them, and where a `previous_response_id` that cannot be continued becomes
the Responses API's 400.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from modelport.conversations.schemas import ItemPage, Order
from modelport.conversations.service import ConversationService
from modelport.core.clock import utcnow
from modelport.db.engine import Database
from modelport.errors import InvalidInput, NotFound, StorageUnavailable

log = logging.getLogger("modelport.gateway")


class ResponseStore:
    def __init__(self, database: Database, retention: timedelta) -> None:
        self._database = database
        self._retention = retention

    async def history(self, team_id: uuid.UUID, previous_id: str) -> list[dict[str, Any]]:
        """The conversation before a new turn; InvalidInput (400, as OpenAI answers) when the
        previous response is unknown, another team's or expired."""
        try:
            async with self._database.read() as unit:
                return await ConversationService(unit).context(team_id, previous_id, utcnow())
        except NotFound:
            raise InvalidInput(
                f"Previous response with id {previous_id!r} not found.",
                field="previous_response_id",
                code="previous_response_not_found",
            ) from None

    async def save(
        self,
        team_id: uuid.UUID,
        key_id: uuid.UUID,
        items: list[dict[str, Any]],
        previous_id: str | None,
        response: dict[str, Any],
    ) -> None:
        """Keep a response and its input items. A database that is away loses this one
        response, not the answer: the client has paid for it, so it gets it (and a warning
        is logged)."""
        try:
            async with self._database.write() as unit:
                await ConversationService(unit).save(
                    team_id=team_id,
                    key_id=key_id,
                    response=response,
                    input_items=items,
                    previous_response_id=previous_id,
                    now=utcnow(),
                    retention=self._retention,
                )
        except StorageUnavailable:
            log.warning("response not stored", extra={"response_id": response.get("id")})

    async def get(self, team_id: uuid.UUID, response_id: str) -> dict[str, Any]:
        async with self._database.read() as unit:
            return await ConversationService(unit).get(team_id, response_id, utcnow())

    async def input_items(
        self, team_id: uuid.UUID, response_id: str, after: str | None, limit: int, order: Order
    ) -> ItemPage:
        async with self._database.read() as unit:
            service = ConversationService(unit)
            return await service.input_items(
                team_id, response_id, utcnow(), after=after, limit=limit, order=order
            )

    async def delete(self, team_id: uuid.UUID, response_id: str) -> None:
        async with self._database.write() as unit:
            await ConversationService(unit).delete(team_id, response_id, utcnow())
