"""Hypothesis chat answers, whole and as the chunks an upstream might stream them in."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.gateway.translate.conversations import CALLS, Call

FINISHES = st.sampled_from(["stop", "length", "tool_calls", "content_filter"])


@dataclass(frozen=True)
class Answer:
    text: str
    calls: tuple[Call, ...]
    finish: str


ANSWERS = st.builds(
    Answer,
    st.text(max_size=30),
    st.lists(CALLS, max_size=3, unique_by=lambda call: call.id).map(tuple),
    FINISHES,
)


def as_completion(answer: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text or None}
    if answer.calls:
        message["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": _arguments(c)},
            }
            for c in answer.calls
        ]
    choice = {"index": 0, "message": message, "finish_reason": answer.finish, "logprobs": None}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "m",
        "choices": [choice],
    }


def _arguments(call: Call) -> str:
    return json.dumps(call.arguments)


def pieces(draw: st.DrawFn, text: str) -> list[str]:
    """`text` cut at arbitrary places (no empty pieces)."""
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(text) - 1)), max_size=4)))
    bounds = [0, *(c for c in cuts if c < len(text)), len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if b > a]


@st.composite
def streamed(draw: st.DrawFn) -> tuple[Answer, list[dict[str, Any]]]:
    """An answer and chunks that stream it: a role chunk, text pieces, each tool call's id
    and name then its argument pieces, a finish chunk."""
    answer = draw(ANSWERS)
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    deltas += [{"content": piece} for piece in pieces(draw, answer.text)]
    for index, call in enumerate(answer.calls):
        head = {
            "index": index,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        deltas.append({"tool_calls": [head]})
        for piece in pieces(draw, _arguments(call)):
            deltas.append({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    chunks = [chunk(delta, None) for delta in deltas]
    chunks.append(chunk({}, answer.finish))
    return answer, chunks


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    """One `chat.completion.chunk` of choice 0."""
    choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [choice],
    }


def tool_delta(index: int, arguments: str, call_id: str | None, name: str) -> dict[str, Any]:
    """A delta with a piece of tool call `index`: its first piece names it (`call_id`)."""
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id:
        call |= {
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }
    return {"tool_calls": [call]}


def as_anthropic_message(answer: Answer, stop_reason: str) -> dict[str, Any]:
    """The Anthropic message saying what `answer` says (a thinking block first)."""
    content: list[dict[str, Any]] = [{"type": "thinking", "thinking": "Hmm.", "signature": "sig"}]
    content += [{"type": "text", "text": answer.text}] if answer.text else []
    content += [
        {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments} for c in answer.calls
    ]
    usage = {"input_tokens": 5, "output_tokens": 7}
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


STOP_REASONS = st.sampled_from(["end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal"])


@st.composite
def anthropic_streamed(draw: st.DrawFn) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """An Anthropic message and the events that stream it, its text and tool inputs cut
    at arbitrary places, with a thinking block and pings as Anthropic sends them."""
    message = as_anthropic_message(draw(ANSWERS), draw(STOP_REASONS))
    start = message | {
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 5, "output_tokens": 1},
    }
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        ("ping", {"type": "ping"}),
    ]
    for index, block in enumerate(message["content"]):
        events += _block_events(draw, index, block)
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    events.append(
        ("message_delta", {"type": "message_delta", "delta": delta, "usage": {"output_tokens": 7}})
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return message, events


def _block_events(
    draw: st.DrawFn, index: int, block: dict[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    kind = block["type"]
    empty: dict[str, dict[str, Any]] = {
        "thinking": {"type": "thinking", "thinking": "", "signature": ""},
        "text": {"type": "text", "text": ""},
    }
    first = empty.get(kind) or {
        "type": "tool_use",
        "id": block["id"],
        "name": block["name"],
        "input": {},
    }
    events: list[tuple[str, dict[str, Any]]] = [
        (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": first},
        )
    ]
    if kind == "thinking":
        deltas = [
            {"type": "thinking_delta", "thinking": block["thinking"]},
            {"type": "signature_delta", "signature": "sig"},
        ]
    elif kind == "text":
        deltas = [{"type": "text_delta", "text": piece} for piece in pieces(draw, block["text"])]
    else:
        text = json.dumps(block["input"])
        deltas = [
            {"type": "input_json_delta", "partial_json": piece} for piece in pieces(draw, text)
        ]
    events += [
        ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": d})
        for d in deltas
    ]
    return [*events, ("content_block_stop", {"type": "content_block_stop", "index": index})]
