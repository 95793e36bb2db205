"""A streamed chat completion as the Responses API's event stream.

OpenAI's sequence, which the `openai` SDK's stream helpers check: `response.created`,
`response.in_progress`; per assistant message `response.output_item.added`, then per part
`response.content_part.added`, its `*.delta` events, `*.done` and `response.content_part.done`,
then `response.output_item.done`; per tool call `response.output_item.added`,
`response.function_call_arguments.delta`..., `.done`, `response.output_item.done`; last
`response.completed` (or `response.incomplete`) carrying the whole Response with its usage.

Items are streamed one after the other, as OpenAI does: a new tool call closes the item before
it. An upstream that interleaves the argument pieces of parallel tool calls cannot be
expressed this way; a piece for an already closed call is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelport.core.pricing import Tokens
from modelport.gateway.translate.fields import Event, Json, get_list, get_object, get_str
from modelport.gateway.translate.responses_shape import (
    call_item,
    echo,
    ending,
    response_object,
    text_part,
)

# Per content part kind: the key holding its text and the prefix of its events.
_PARTS = {
    "output_text": ("text", "response.output_text"),
    "refusal": ("refusal", "response.refusal"),
}


class ResponsesStreamFromChat:
    """Turns the chunks of one streamed chat completion (choice 0) into Responses events.

    Call `start` once, `feed` per chunk, then `finish` (or `fail`). Each event is
    `(type, payload)`, the payload carrying the same `type` and a `sequence_number` counting
    from 0. Never raises: chunk fields of the wrong type are read as absent.
    """

    def __init__(
        self,
        *,
        response_id: str,
        created_at: int,
        model: str,
        request: Json,
        item_ids: Callable[[str], str],
    ) -> None:
        self._head: Json = {
            "response_id": response_id,
            "created_at": created_at,
            "model": model,
            "request": request,
            "echoed": echo(request),
        }
        self._ids = item_ids
        self._sequence = 0
        self._output: list[Json] = []
        self._item: Json | None = None
        self._part: str | None = None
        self._pieces: list[str] = []
        """The open part's text so far, joined when it closes (not copied per piece)."""
        self._delta: Json = {}
        """The open part's delta event, but for its sequence number and piece."""
        self._calls: dict[int, Json] = {}
        self._finish: str | None = None
        self._response = response_object(**self._head, status="in_progress", output=[], usage=None)

    @property
    def response(self) -> Json:
        """The Response as it stands: in progress until `finish` or `fail`, then final."""
        return self._response

    def start(self) -> list[Event]:
        """`response.created` and `response.in_progress`."""
        return [
            self._event("response.created", response=self._response),
            self._event("response.in_progress", response=self._response),
        ]

    def feed(self, chunk: Json) -> list[Event]:
        """The events one `chat.completion.chunk` makes (often none)."""
        events: list[Event] = []
        for choice in get_list(chunk, "choices"):
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = get_object(choice, "delta")
            content, refusal = delta.get("content"), delta.get("refusal")
            if content and isinstance(content, str):
                events += self._text("output_text", content)
            if refusal and isinstance(refusal, str):
                events += self._text("refusal", refusal)
            for call in get_list(delta, "tool_calls"):
                if isinstance(call, dict):
                    events += self._call(call)
            if isinstance(choice.get("finish_reason"), str):
                self._finish = choice["finish_reason"]
        return events

    def finish(self, usage: Tokens | None) -> list[Event]:
        """Close what is open and end with `response.completed`, or `response.incomplete`
        when the upstream stopped at its token limit (or its content filter)."""
        events = self._close()
        if not self._output:
            item, added = self._open_message()
            events += [added, self._open_part(item, "output_text"), *self._close()]
        status, incomplete = ending(self._finish)
        self._response = response_object(
            **self._head, status=status, output=self._output, usage=usage, incomplete=incomplete
        )
        kind = "response.completed" if status == "completed" else "response.incomplete"
        return [*events, self._event(kind, response=self._response)]

    def fail(self, code: str, message: str) -> list[Event]:
        """`response.failed` with `error` {code, message}; `code` should be one of OpenAI's
        Response error codes (`server_error`, `rate_limit_exceeded`, ...)."""
        error = {"code": code, "message": message}
        self._response = response_object(
            **self._head, status="failed", output=self._output, usage=None, error=error
        )
        return [self._event("response.failed", response=self._response)]

    def _event(self, kind: str, **payload: Any) -> Event:
        event = (kind, {"type": kind, "sequence_number": self._sequence, **payload})
        self._sequence += 1
        return event

    def _where(self, item: Json) -> Json:
        """Where an event of the open `item` points: its id and its place in the output."""
        return {"item_id": item["id"], "output_index": len(self._output)}

    def _text(self, kind: str, piece: str) -> list[Event]:
        if self._part == kind and self._item is not None:  # most chunks: one more piece
            self._pieces.append(piece)
            return [self._piece(piece)]
        events: list[Event] = []
        item = self._item
        if item is None or item["type"] != "message":
            events += self._close()
            item, added = self._open_message()
            events.append(added)
        events += [*self._close_part(item), self._open_part(item, kind)]
        _, prefix = _PARTS[kind]
        where = {**self._where(item), "content_index": len(item["content"]) - 1}
        extra: Json = {"logprobs": []} if kind == "output_text" else {}
        self._delta = {"type": f"{prefix}.delta", **where, **extra}
        self._pieces = [piece]
        return [*events, self._piece(piece)]

    def _piece(self, piece: str) -> Event:
        payload = {**self._delta, "sequence_number": self._sequence, "delta": piece}
        self._sequence += 1
        return payload["type"], payload

    def _open_message(self) -> tuple[Json, Event]:
        item: Json = {"type": "message", "id": self._ids("msg_"), "status": "in_progress"}
        item |= {"role": "assistant", "content": []}
        self._item = item
        added = {**item, "content": []}
        return item, self._event(
            "response.output_item.added", output_index=len(self._output), item=added
        )

    def _open_part(self, item: Json, kind: str) -> Event:
        part = text_part("") if kind == "output_text" else {"type": "refusal", "refusal": ""}
        item["content"].append(part)
        self._part = kind
        where = {**self._where(item), "content_index": len(item["content"]) - 1}
        return self._event("response.content_part.added", **where, part=dict(part))

    def _close_part(self, item: Json) -> list[Event]:
        if self._part is None:
            return []
        key, prefix = _PARTS[self._part]
        extra: Json = {"logprobs": []} if self._part == "output_text" else {}
        self._part = None
        part = item["content"][-1]
        part[key] = "".join(self._pieces)
        self._pieces = []
        where = {**self._where(item), "content_index": len(item["content"]) - 1}
        return [
            self._event(f"{prefix}.done", **where, **{key: part[key]}, **extra),
            self._event("response.content_part.done", **where, part=part),
        ]

    def _call(self, call: Json) -> list[Event]:
        index = call.get("index", 0)
        index = index if isinstance(index, int) else 0
        function = get_object(call, "function")
        item = self._calls.get(index)
        events: list[Event] = []
        if item is None:
            events += self._close()
            item, added = self._open_call(index, get_str(call, "id"), get_str(function, "name"))
            events.append(added)
        elif item is not self._item:
            return []
        item["name"] = item["name"] or get_str(function, "name")
        arguments = get_str(function, "arguments")
        if arguments:
            item["arguments"] += arguments
            delta = self._event(
                "response.function_call_arguments.delta", **self._where(item), delta=arguments
            )
            events.append(delta)
        return events

    def _open_call(self, index: int, call_id: str, name: str) -> tuple[Json, Event]:
        call_id = call_id or self._ids("call_")  # named in the order response_from_chat names
        item = call_item(self._ids("fc_"), call_id, name, "", "in_progress")
        self._calls[index] = self._item = item
        added = self._event(
            "response.output_item.added", output_index=len(self._output), item=dict(item)
        )
        return item, added

    def _close(self) -> list[Event]:
        """Close the open item, if any: its `*.done` events, then `response.output_item.done`."""
        item = self._item
        if item is None:
            return []
        events = self._close_part(item)
        if item["type"] == "function_call":
            done = {"name": item["name"], "arguments": item["arguments"]}
            events.append(
                self._event("response.function_call_arguments.done", **self._where(item), **done)
            )
        item["status"] = "completed"
        events.append(
            self._event("response.output_item.done", output_index=len(self._output), item=item)
        )
        self._output.append(item)
        self._item = None
        return events
