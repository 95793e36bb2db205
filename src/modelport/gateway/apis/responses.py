"""OpenAI's Responses API: `POST /v1/responses`, on any chat upstream.

An upstream that serves `/responses` itself (`native_responses`) gets the request as the
client wrote it, with two changes: the conversation so far (rebuilt by the hub from
`previous_response_id`) in `input`, and `store: false`, since the hub keeps conversations
itself. Any other upstream gets it translated through chat. Either way the answer carries the
hub's response id and the catalog's model id, and is stored for the key's team unless the
request says `store: false`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from modelport.catalog.model import CatalogModel, ModelType
from modelport.core.pricing import Tokens
from modelport.errors import InvalidInput, ModelportError, RateLimited
from modelport.gateway.apis.openai_errors import ResponsesErrors
from modelport.gateway.apis.responses_input import (
    input_items,
    item_chars,
    new_id,
    upstream_items,
)
from modelport.gateway.apis.responses_store import ResponseStore
from modelport.gateway.events import named_event, named_events
from modelport.gateway.exchange import Exchange, Inbound, Route, Translated
from modelport.gateway.requests import (
    check_context,
    model_of,
    output_tokens,
    parse_object,
    stream_flag,
)
from modelport.gateway.translate.responses_chat import (
    ResponsesStreamFromChat,
    chat_request_from_responses,
    response_from_chat,
)
from modelport.gateway.wires import wire_for
from modelport.providers.dialects import Api
from modelport.providers.dialects.base import Kind

ERRORS = ResponsesErrors()
WITH_RESPONSE = frozenset(
    ("response.created", "response.in_progress", "response.completed", "response.incomplete")
)
"""Stream events that carry the whole response object (its id and model are the hub's)."""
Complete = Callable[[dict[str, Any]], Awaitable[None]]


class ResponsesApi:
    api: Api = "responses"
    errors = ERRORS
    model_type: ModelType = "chat"
    x_api_key = False

    def __init__(self, store: ResponseStore) -> None:
        self._store = store

    def parse(self, body: bytes, headers: dict[str, str]) -> Inbound:
        payload = parse_object(body)
        model = model_of(payload)
        items = input_items(payload.get("input"))
        payload["input"] = items
        instructions = payload.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise InvalidInput("'instructions' must be a string.", field="instructions")
        for name in ("store", "background"):
            if not isinstance(payload.get(name, False), bool):
                raise InvalidInput(f"'{name}' must be a boolean.", field=name)
        if payload.get("background"):
            raise InvalidInput("Background responses are not supported.", field="background")
        previous = payload.get("previous_response_id")
        if previous is not None and (not isinstance(previous, str) or not previous):
            raise InvalidInput(
                "'previous_response_id' must be a string.", field="previous_response_id"
            )
        tools = payload.get("tools")
        if tools is not None and not (
            isinstance(tools, list) and all(isinstance(tool, dict) for tool in tools)
        ):
            raise InvalidInput("'tools' must be an array of objects.", field="tools")
        chars = len(instructions or "") + sum(item_chars(item) for item in items)
        budget = payload.get("max_output_tokens")
        return Inbound(
            payload,
            model,
            stream_flag(payload),
            chars,
            output_budget=budget if isinstance(budget, int) else None,
        )

    def check(self, inbound: Inbound, model: CatalogModel) -> None:
        output_tokens(inbound.payload, "max_output_tokens", model.max_output_tokens, model.id)
        check_context(inbound.prompt_chars, model.entry.context_window, model.id, "input")

    async def exchange(self, inbound: Inbound, route: Route) -> Exchange:
        payload = inbound.payload
        previous: str | None = payload.get("previous_response_id")
        team = route.identity.team_id
        history = await self._store.history(team, previous) if previous else []
        chars = inbound.prompt_chars + sum(item_chars(item) for item in history)
        check_context(chars, route.model.entry.context_window, route.model.id, "input")
        identity = Identity(new_id("resp_"), int(time.time()), route.model.id)
        complete: Complete = _ignore
        if payload.get("store", True):
            items = payload["input"]
            complete = partial(self._store.save, team, route.identity.key_id, items, previous)
        if route.speaks("responses"):
            upstream = {
                key: value for key, value in payload.items() if key != "previous_response_id"
            }
            upstream["input"] = upstream_items(history + payload["input"])
            upstream["store"] = False
            return ResponsesPassthrough(identity, payload, upstream, chars, complete)
        chat = chat_request_from_responses(
            {**payload, "input": upstream_items(payload["input"])}, upstream_items(history)
        )
        client = ResponsesClient(identity, payload)
        return Translated(client, wire_for(route, identity.created_at), chat, chars, complete)


async def _ignore(answer: dict[str, Any]) -> None:
    """`store: false`: nothing is kept."""


@dataclass(frozen=True, slots=True)
class Identity:
    """What the hub names a response: its id, creation time and model."""

    response_id: str
    created_at: int
    model_id: str

    def stamp(self, response: dict[str, Any], request: dict[str, Any]) -> None:
        """Make an upstream's response object the hub's."""
        response["id"] = self.response_id
        response["model"] = self.model_id
        response["previous_response_id"] = request.get("previous_response_id")
        response["store"] = request.get("store", True)


@dataclass(slots=True)
class ResponsesPassthrough:
    """A Responses request to an upstream that serves `/responses` itself."""

    identity: Identity
    request: dict[str, Any]
    payload: dict[str, Any]
    prompt_chars: int
    on_complete: Complete
    wire: Api = "responses"

    def answer(self, answer: Any, tokens: Tokens | None) -> dict[str, Any]:
        self.identity.stamp(answer, self.request)
        return dict(answer)

    def stream(self) -> PassthroughStream:
        return PassthroughStream(self.identity, self.request)

    async def completed(self, answer: dict[str, Any]) -> None:
        await self.on_complete(answer)


@dataclass(slots=True)
class PassthroughStream:
    identity: Identity
    request: dict[str, Any]
    final: dict[str, Any] | None = None
    sequence: int = 0

    def feed(self, kind: Kind, payload: Any, event: str) -> bytes:
        name = str(payload.get("type") or event)
        response = payload.get("response")
        if name in WITH_RESPONSE and isinstance(response, dict):
            self.identity.stamp(response, self.request)
            if kind == "final":
                self.final = response
        if isinstance(payload.get("sequence_number"), int):
            self.sequence = payload["sequence_number"]
        return named_event(name, payload)

    def finish(self, tokens: Tokens, reported: bool) -> bytes:
        return b""  # the upstream's response.completed has been relayed

    def fail(self, exc: ModelportError) -> bytes:
        return ERRORS.event(exc, self.sequence + 1)

    def result(self) -> dict[str, Any] | None:
        return self.final


@dataclass(frozen=True, slots=True)
class ResponsesClient:
    """Chat answers to a Responses client."""

    identity: Identity
    request: dict[str, Any]

    def answer(self, chat: dict[str, Any], tokens: Tokens | None) -> dict[str, Any]:
        return response_from_chat(
            chat,
            response_id=self.identity.response_id,
            created_at=self.identity.created_at,
            model=self.identity.model_id,
            request=self.request,
            usage=tokens,
            item_ids=new_id,
        )

    def stream(self) -> ResponsesChatStream:
        translator = ResponsesStreamFromChat(
            response_id=self.identity.response_id,
            created_at=self.identity.created_at,
            model=self.identity.model_id,
            request=self.request,
            item_ids=new_id,
        )
        return ResponsesChatStream(translator)


@dataclass(slots=True)
class ResponsesChatStream:
    translator: ResponsesStreamFromChat
    started: bool = False
    finished: bool = field(default=False)

    def feed(self, chunk: dict[str, Any]) -> bytes:
        if self.started:
            return named_events(self.translator.feed(chunk))
        self.started = True
        return named_events(self.translator.start() + self.translator.feed(chunk))

    def finish(self, tokens: Tokens, reported: bool) -> bytes:
        events = [] if self.started else self.translator.start()
        self.started = self.finished = True
        return named_events(events + self.translator.finish(tokens))

    def fail(self, exc: ModelportError) -> bytes:
        """`response.failed`, with one of the error codes OpenAI's Response type allows."""
        code = "rate_limit_exceeded" if isinstance(exc, RateLimited) else "server_error"
        return named_events(self.translator.fail(code, exc.message))

    def result(self) -> dict[str, Any] | None:
        return self.translator.response if self.finished else None
