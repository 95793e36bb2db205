"""The rules of stored responses: what `/v1/responses` keeps, who sees it, and for how long.

Only what the caller hands over is kept: the Response object as sent to the client (model
output, never a credential) and the request's own input items. Nothing from the request's
headers is stored, so no key, upstream credential or cookie can end up here.

A response belongs to the team of the key that created it and expires `retention` after it
was saved. Until then its team can read, list, continue and delete it; to anyone else, and to
everyone once it has expired, it does not exist: NotFound, exactly as for an unknown id.
Expired rows are deleted by `purge` (see `conversations.purge` for the runner).

A conversation is rebuilt by following `previous_response_id` back. A response in its chain
that was deleted or has expired is a gap: the conversation starts after it, as though the
response after the gap had begun it. A chain is walked to at most `MAX_TURNS` responses and
`MAX_CONTEXT_BYTES` of stored JSON; a longer or larger one is InvalidInput (start a new
conversation), so one request cannot make the hub read an unbounded history.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TypeGuard

from modelport.conversations.repository import ConversationRepository, Json
from modelport.conversations.schemas import ItemPage, Order
from modelport.db.uow import UnitOfWork
from modelport.errors import InvalidInput, NotFound

MAX_TURNS = 1000
"""Responses in one rebuilt conversation, the one continued included."""
MAX_CONTEXT_BYTES = 32 * 1_048_576
"""Stored JSON (response bodies and input items) in one rebuilt conversation: four of the
largest inference bodies (`max_inference_request_bytes`, 8 MiB). More text than any model's
context window takes; a few images still fit."""
MAX_ID_LENGTH = 128
MAX_PAGE = 100
"""Most input items one page lists (OpenAI's limit)."""
PURGE_BATCH = 500
"""Most responses one purge call deletes, so that one transaction stays short."""


class ConversationService:
    """Stored responses of the caller's unit of work; it never commits (one save is one
    transaction, the caller's)."""

    def __init__(
        self,
        unit: UnitOfWork,
        *,
        max_turns: int = MAX_TURNS,
        max_context_bytes: int = MAX_CONTEXT_BYTES,
    ) -> None:
        self._responses = ConversationRepository(unit.session)
        self._max_turns = max_turns
        self._max_bytes = max_context_bytes

    async def save(
        self,
        *,
        team_id: uuid.UUID,
        key_id: uuid.UUID,
        response: Json,
        input_items: Sequence[Json],
        previous_response_id: str | None,
        now: datetime,
        retention: timedelta,
    ) -> None:
        """Keep `response` (its `id` the hub's) and this request's own input items, each with
        an `id`, until `now + retention`.

        `previous_response_id` is kept as given: check it first with `context`, which is
        how the caller built the request. InvalidInput when an input item has no string id,
        one longer than 128 characters, or an id another item of the request has. A response
        id already stored fails the statement (sqlalchemy's IntegrityError): ids are the
        hub's, so that is a bug, and the caller's unit rolls back with nothing written.
        """
        _check_response(response, previous_response_id, retention)
        _check_items(input_items)
        await self._responses.add(
            team_id=team_id,
            key_id=key_id,
            response=response,
            input_items=input_items,
            previous_response_id=previous_response_id,
            created_at=now,
            expires_at=now + retention,
        )

    async def get(self, team_id: uuid.UUID, response_id: str, now: datetime) -> Json:
        """The response as it was sent; NotFound when missing, another team's or expired."""
        body = await self._responses.body(team_id, response_id, now)
        if body is None:
            raise NotFound(_not_found(response_id))
        return body

    async def input_items(
        self,
        team_id: uuid.UUID,
        response_id: str,
        now: datetime,
        *,
        after: str | None = None,
        limit: int = 20,
        order: Order = "desc",
    ) -> ItemPage:
        """A page of the response's input items, oldest first (`asc`) or newest first, past
        the item `after` when given.

        NotFound like `get`; InvalidInput for a `limit` outside 1 to 100 or an `after` that
        is not one of the response's input items.
        """
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
        if not await self._responses.visible(team_id, response_id, now):
            raise NotFound(_not_found(response_id))
        beyond = None
        if after is not None:
            beyond = await self._responses.item_position(response_id, after)
            if beyond is None:
                raise InvalidInput(
                    f"No input item with id '{after}' in this response.", field="after"
                )
        items = await self._responses.items(
            response_id, beyond=beyond, limit=limit + 1, descending=order == "desc"
        )
        return ItemPage(items[:limit], has_more=len(items) > limit)

    async def context(self, team_id: uuid.UUID, response_id: str, now: datetime) -> list[Json]:
        """The conversation up to and including `response_id`, oldest first: for each of its
        responses, the input items of its request, then its output items.

        It begins after the most recent gap (a response deleted or expired). NotFound like
        `get` (for a `previous_response_id` that is unknown, another team's or expired);
        InvalidInput when the conversation is longer than `max_turns` responses or larger
        than `max_context_bytes`.
        """
        turns = await self._responses.walk(
            team_id, response_id, now, turns=self._max_turns, size=self._max_bytes
        )
        if not turns:
            raise NotFound(_not_found(response_id))
        if len(turns) > self._max_turns:
            raise InvalidInput(
                f"The conversation is longer than {self._max_turns} responses; start a new one.",
                field="previous_response_id",
            )
        if turns[-1].total > self._max_bytes:
            raise InvalidInput(
                f"The conversation is larger than {self._max_bytes} bytes; start a new one.",
                field="previous_response_id",
            )
        items = await self._responses.all_items([turn.id for turn in turns])
        context: list[Json] = []
        for turn in reversed(turns):
            context.extend(items[turn.id])
            context.extend(turn.body.get("output", []))
        return context

    async def delete(self, team_id: uuid.UUID, response_id: str, now: datetime) -> None:
        """Delete the response and its input items; NotFound like `get`.

        Later responses that continued it keep their own turns: their conversations now
        begin after it.
        """
        if not await self._responses.delete(team_id, response_id, now):
            raise NotFound(_not_found(response_id))

    async def purge(self, before: datetime, *, limit: int = PURGE_BATCH) -> int:
        """Delete up to `limit` responses (every team's) expired by `before`, with their input
        items, oldest expiry first; how many responses went."""
        return await self._responses.purge(before, limit)


def _not_found(response_id: str) -> str:
    return f"Response with id '{response_id}' not found."


def _check_response(response: Json, previous_response_id: str | None, retention: timedelta) -> None:
    """ValueError for what only a caller's bug can produce."""
    if not _valid_id(response.get("id")):
        raise ValueError(f"a stored response needs a string id of 1 to {MAX_ID_LENGTH} characters")
    if not isinstance(response.get("output", []), list):
        raise ValueError("a stored response's output must be a list of items")
    if previous_response_id is not None and not _valid_id(previous_response_id):
        raise ValueError("previous_response_id must be a stored response's id")
    if retention <= timedelta(0):
        raise ValueError("retention must be positive")


def _check_items(items: Sequence[Json]) -> None:
    seen: set[str] = set()
    for item in items:
        item_id = item.get("id")
        if not _valid_id(item_id):
            raise InvalidInput(
                f"Each input item needs an id: a string of 1 to {MAX_ID_LENGTH} characters.",
                field="input",
            )
        if item_id in seen:
            raise InvalidInput(f"Duplicate item found with id {item_id}.", field="input")
        seen.add(item_id)


def _valid_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH
