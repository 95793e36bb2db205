"""Stored responses: `GET` and `DELETE /v1/responses/{id}`, `GET .../{id}/input_items`.

What `POST /v1/responses` kept for the key's team; another team's id answers 404, exactly
as an unknown one does.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import orjson
from starlette.types import Receive, Scope, Send

from modelport.errors import InvalidInput
from modelport.gateway.access import Access
from modelport.gateway.apis.responses_store import ResponseStore
from modelport.gateway.requests import Headers
from modelport.gateway.respond import send_json


class StoredResponses:
    def __init__(self, access: Access, store: ResponseStore) -> None:
        self._access = access
        self._store = store

    async def get(self, scope: Scope, receive: Receive, send: Send, _: Headers) -> None:
        identity = await self._access.authorize(scope)
        response_id = scope["path_params"]["response_id"]
        stored = await self._store.get(identity.team_id, response_id)
        await send_json(send, 200, orjson.dumps(stored))

    async def delete(self, scope: Scope, receive: Receive, send: Send, _: Headers) -> None:
        identity = await self._access.authorize(scope)
        response_id = scope["path_params"]["response_id"]
        await self._store.delete(identity.team_id, response_id)
        body = {"id": response_id, "object": "response.deleted", "deleted": True}
        await send_json(send, 200, orjson.dumps(body))

    async def input_items(self, scope: Scope, receive: Receive, send: Send, _: Headers) -> None:
        identity = await self._access.authorize(scope)
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        after = query.get("after", [None])[-1]
        order = query.get("order", ["desc"])[-1]
        if order not in ("asc", "desc"):
            raise InvalidInput("'order' must be asc or desc.", field="order")
        limit_text = query.get("limit", ["20"])[-1]
        if not limit_text.isdigit():
            raise InvalidInput("'limit' must be a whole number from 1 to 100.", field="limit")
        page = await self._store.input_items(
            identity.team_id,
            scope["path_params"]["response_id"],
            after,
            int(limit_text),
            "asc" if order == "asc" else "desc",
        )
        await send_json(send, 200, orjson.dumps(page.wire()))
