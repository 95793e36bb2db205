"""Streams between chat and Anthropic's Messages format, both ways.

Anthropic's sequence: `message_start` (the message, empty, usage unknown yet), per content
block `content_block_start`, its deltas (`text_delta`, or `input_json_delta` pieces of a
tool's input), `content_block_stop`; then `message_delta` (stop_reason and the final usage)
and `message_stop`. Blocks follow one another, as tool calls do in an OpenAI stream; a piece
for a tool call already closed (an upstream interleaving parallel calls) is dropped.
"""

from __future__ import annotations

from modelport.core.pricing import Tokens
from modelport.gateway.translate.fields import (
    Event,
    Json,
    first_choice,
    get_list,
    get_object,
    get_str,
)
from modelport.gateway.translate.stops import anthropic_stop, chat_finish, fallback_tool_id
from modelport.gateway.translate.usage import chat_usage, messages_usage


class MessagesStreamFromChat:
    """Turns the chunks of one streamed chat completion (choice 0) into Anthropic events.

    `feed` per chunk (the first call also sends `message_start`), then `finish` (or
    `fail`). Each event is `(event name, payload)` with payload["type"] the same name.
    Never raises: chunk fields of the wrong type are read as absent.
    """

    def __init__(self, *, message_id: str, model: str) -> None:
        self._id = message_id
        self._model = model
        self._started = False
        self._blocks = 0
        self._open: str | None = None
        self._calls: dict[int, int] = {}
        self._finish: object = None

    def feed(self, chunk: Json) -> list[Event]:
        """The events one `chat.completion.chunk` makes."""
        events = self._start()
        choice = first_choice(chunk)
        delta = get_object(choice, "delta")
        piece = get_str(delta, "content") + get_str(delta, "refusal")
        if piece:
            events += self._text(piece)
        for call in get_list(delta, "tool_calls"):
            if isinstance(call, dict):
                events += self._call(call)
        self._finish = choice.get("finish_reason") or self._finish
        return events

    def finish(self, usage: Tokens | None) -> list[Event]:
        """Close the open block; `message_delta` with the stop reason and the final usage
        (fresh input, output and cache counts); `message_stop`."""
        events = [*self._start(), *self._close()]
        stop = anthropic_stop(self._finish, bool(self._calls))
        counts = {"output_tokens": 0} if usage is None else messages_usage(usage)
        delta = {"stop_reason": stop, "stop_sequence": None}
        events.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": counts}))
        return [*events, ("message_stop", {"type": "message_stop"})]

    def fail(self, error_type: str, message: str) -> list[Event]:
        """An `error` event, as Anthropic sends mid-stream (e.g. "overloaded_error")."""
        error = {"type": error_type, "message": message}
        return [("error", {"type": "error", "error": error})]

    def _start(self) -> list[Event]:
        if self._started:
            return []
        self._started = True
        message: Json = {"id": self._id, "type": "message", "role": "assistant"}
        message |= {"model": self._model, "content": [], "stop_reason": None}
        message |= {"stop_sequence": None, "usage": {"input_tokens": 0, "output_tokens": 0}}
        return [("message_start", {"type": "message_start", "message": message})]

    def _text(self, piece: str) -> list[Event]:
        events = (
            []
            if self._open == "text"
            else [*self._close(), self._begin({"type": "text", "text": ""})]
        )
        delta = {"type": "text_delta", "text": piece}
        return [*events, self._delta(delta)]

    def _call(self, call: Json) -> list[Event]:
        index = call.get("index", 0)
        index = index if isinstance(index, int) else 0
        function = get_object(call, "function")
        events: list[Event] = []
        block = self._calls.get(index)
        if block is None:
            events += self._close()
            self._calls[index] = self._blocks
            tool_id = get_str(call, "id") or fallback_tool_id(self._id, len(self._calls) - 1)
            name = get_str(function, "name")
            events.append(
                self._begin({"type": "tool_use", "id": tool_id, "name": name, "input": {}})
            )
        elif block != self._blocks - 1 or self._open != "tool_use":
            return []
        arguments = get_str(function, "arguments")
        if arguments:
            events.append(self._delta({"type": "input_json_delta", "partial_json": arguments}))
        return events

    def _begin(self, block: Json) -> Event:
        self._open = block["type"]
        self._blocks += 1
        start = {"type": "content_block_start", "index": self._blocks - 1, "content_block": block}
        return ("content_block_start", start)

    def _delta(self, delta: Json) -> Event:
        payload = {"type": "content_block_delta", "index": self._blocks - 1, "delta": delta}
        return ("content_block_delta", payload)

    def _close(self) -> list[Event]:
        if self._open is None:
            return []
        self._open = None
        return [("content_block_stop", {"type": "content_block_stop", "index": self._blocks - 1})]


class ChatStreamFromMessages:
    """Turns an Anthropic event stream into `chat.completion.chunk` dicts.

    `feed(event, data)` per server-sent event; `finish(usage)` for the usage chunk
    (`choices: []`, as chat sends it last). Thinking, ping, stop and error events make no
    chunk (the dialect reading the stream handles errors). Never raises.
    """

    def __init__(self, *, completion_id: str, created: int, model: str) -> None:
        self._head: Json = {"id": completion_id, "object": "chat.completion.chunk"}
        self._head |= {"created": created, "model": model}
        self._tools: dict[int, int] = {}

    def feed(self, event: str, data: Json) -> list[Json]:
        """The chunks one Anthropic event makes (often none)."""
        if event == "message_start":
            return [self._chunk({"role": "assistant", "content": ""})]
        if event == "content_block_start":
            return self._block_start(data)
        if event == "content_block_delta":
            return self._block_delta(data)
        if event == "message_delta":
            stop = get_object(data, "delta").get("stop_reason")
            return [self._chunk({}, chat_finish(stop))]
        return []

    def finish(self, usage: Tokens | None) -> list[Json]:
        """The final usage chunk, or nothing when the usage is unknown."""
        return [] if usage is None else [{**self._head, "choices": [], "usage": chat_usage(usage)}]

    def _chunk(self, delta: Json, finish: str | None = None) -> Json:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return {**self._head, "choices": [choice]}

    def _block_start(self, data: Json) -> list[Json]:
        block = get_object(data, "content_block")
        index = data.get("index") if isinstance(data, dict) else None
        if get_str(block, "type") == "tool_use" and isinstance(index, int):
            position = self._tools[index] = len(self._tools)
            function = {"name": get_str(block, "name"), "arguments": ""}
            call = {
                "index": position,
                "id": get_str(block, "id"),
                "type": "function",
                "function": function,
            }
            return [self._chunk({"tool_calls": [call]})]
        text = get_str(block, "text") if get_str(block, "type") == "text" else ""
        return [self._chunk({"content": text})] if text else []

    def _block_delta(self, data: Json) -> list[Json]:
        delta = get_object(data, "delta")
        kind = get_str(delta, "type")
        if kind == "text_delta":
            text = get_str(delta, "text")
            return [self._chunk({"content": text})] if text else []
        index = data.get("index") if isinstance(data, dict) else None
        position = self._tools.get(index) if isinstance(index, int) else None
        pieces = get_str(delta, "partial_json")
        if kind != "input_json_delta" or position is None or not pieces:
            return []
        call = {"index": position, "function": {"arguments": pieces}}
        return [self._chunk({"tool_calls": [call]})]
