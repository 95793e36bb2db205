"""The benchmark upstream's answer in OpenAI's Responses shape and Anthropic's Messages shape:
the same text and token counts as its chat completion, plain and as stream events."""

from __future__ import annotations

from typing import Any

Event = tuple[str, dict[str, Any]]


def _message_item(text: str) -> dict[str, Any]:
    part = {"type": "output_text", "text": text, "annotations": []}
    return {
        "type": "message",
        "id": "msg_bench",
        "status": "completed",
        "role": "assistant",
        "content": [part],
    }


def response(pieces: list[str], prompt: int) -> dict[str, Any]:
    """A completed Response with one message and its usage."""
    return {
        "id": "resp_bench",
        "object": "response",
        "created_at": 1,
        "status": "completed",
        "model": "bench-upstream",
        "output": [_message_item("".join(pieces))],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": len(pieces),
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + len(pieces),
        },
    }


def response_events(pieces: list[str], prompt: int) -> list[Event]:
    """The Responses API's event sequence for that answer."""
    done = response(pieces, prompt)
    opening = {**done, "status": "in_progress", "output": [], "usage": None}
    item = {**_message_item(""), "status": "in_progress", "content": []}
    where = {"item_id": "msg_bench", "output_index": 0, "content_index": 0}
    events: list[Event] = [
        ("response.created", {"response": opening}),
        ("response.output_item.added", {"output_index": 0, "item": item}),
        ("response.content_part.added", {**where, "part": {"type": "output_text", "text": ""}}),
    ]
    events += [("response.output_text.delta", {**where, "delta": piece}) for piece in pieces]
    events += [
        ("response.output_text.done", {**where, "text": "".join(pieces)}),
        ("response.output_item.done", {"output_index": 0, "item": done["output"][0]}),
        ("response.completed", {"response": done}),
    ]
    return [
        (name, {"type": name, "sequence_number": number, **payload})
        for number, (name, payload) in enumerate(events)
    ]


def message(pieces: list[str], prompt: int) -> dict[str, Any]:
    """An Anthropic message with that text and usage."""
    return {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "bench-upstream",
        "content": [{"type": "text", "text": "".join(pieces)}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": prompt, "output_tokens": len(pieces)},
    }


def message_events(pieces: list[str], prompt: int) -> list[Event]:
    """Anthropic's event sequence for that message."""
    opening = {**message([], prompt), "content": [], "stop_reason": None}
    opening["usage"] = {"input_tokens": prompt, "output_tokens": 1}
    events: list[Event] = [
        ("message_start", {"message": opening}),
        ("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
    ]
    events += [
        ("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": piece}})
        for piece in pieces
    ]
    events += [
        ("content_block_stop", {"index": 0}),
        (
            "message_delta",
            {
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": len(pieces)},
            },
        ),
        ("message_stop", {}),
    ]
    return [(name, {"type": name, **payload}) for name, payload in events]
