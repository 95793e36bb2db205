"""Hypothesis conversations, rendered in each format, and what each rendering means.

A conversation is drawn once, abstractly (system prompts; user turns of tool results and
texts; assistant turns of texts and tool calls), then written as a chat request, an
Anthropic Messages request or Responses items. `*_atoms` read any request back into one
comparable form, the list of what was said in order:

    ("system", text) ("user", text) ("image", url) ("assistant", text)
    ("call", id, name, arguments as a JSON value) ("result", id, text)

so "translation keeps the meaning" is `atoms(translated) == atoms(original)`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

Atom = tuple[Any, ...]
Json = dict[str, Any]

IDS = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=1, max_size=12
)
NAMES = st.text("abcdefghijklmnopqrstuvwxyz_0123456789", min_size=1, max_size=10)
TEXTS = st.text(min_size=1, max_size=24)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=4,
)
ARGUMENTS = st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=3)


@dataclass(frozen=True)
class Call:
    id: str
    name: str
    arguments: Json


@dataclass(frozen=True)
class Turn:
    role: str
    texts: tuple[str, ...] = ()
    calls: tuple[Call, ...] = ()
    results: tuple[tuple[str, str], ...] = ()
    """(call id, output) of the calls of the assistant turn before, empty output included."""


@dataclass(frozen=True)
class Conversation:
    system: tuple[str, ...]
    turns: tuple[Turn, ...]


CALLS = st.builds(Call, IDS, NAMES, ARGUMENTS)


@st.composite
def conversations(draw: st.DrawFn) -> Conversation:
    """1 to 5 turns, user first, alternating; tool calls answered in the next user turn."""
    system = tuple(draw(st.lists(TEXTS, max_size=2)))
    turns: list[Turn] = []
    pending: tuple[Call, ...] = ()
    for index in range(draw(st.integers(1, 5))):
        if index % 2 == 0:
            results = tuple((call.id, draw(st.text(max_size=12))) for call in pending)
            texts = tuple(draw(st.lists(TEXTS, min_size=0 if results else 1, max_size=2)))
            turns.append(Turn("user", texts=texts, results=results))
        else:
            calls = tuple(draw(st.lists(CALLS, max_size=2, unique_by=lambda c: c.id)))
            texts = tuple(draw(st.lists(TEXTS, min_size=0 if calls else 1, max_size=2)))
            turns.append(Turn("assistant", texts=texts, calls=calls))
            pending = calls
    return Conversation(system, tuple(turns))


def meaning(conversation: Conversation) -> list[Atom]:
    atoms: list[Atom] = [("system", text) for text in conversation.system]
    for turn in conversation.turns:
        atoms += [("result", call_id, output) for call_id, output in turn.results]
        atoms += [(turn.role, text) for text in turn.texts]
        atoms += [("call", call.id, call.name, call.arguments) for call in turn.calls]
    return atoms


# Rendering: the same conversation in each format.


def as_chat(conversation: Conversation, *, parts: bool = False) -> Json:
    """A chat request; with `parts`, texts as content parts rather than strings."""
    messages: list[Json] = [
        {"role": "system", "content": _chat_content([text], parts)} for text in conversation.system
    ]
    for turn in conversation.turns:
        for call_id, output in turn.results:
            messages.append({"role": "tool", "tool_call_id": call_id, "content": output})
        if turn.role == "user" and turn.texts:
            messages.append({"role": "user", "content": _chat_content(turn.texts, parts)})
        if turn.role == "assistant":
            message: Json = {
                "role": "assistant",
                "content": _chat_content(turn.texts, parts) if turn.texts else None,
            }
            if turn.calls:
                message["tool_calls"] = [_chat_call(call) for call in turn.calls]
            messages.append(message)
    return {"model": "m", "messages": messages}


def _chat_content(texts: tuple[str, ...] | list[str], parts: bool) -> Any:
    if len(texts) == 1 and not parts:
        return texts[0]
    return [{"type": "text", "text": text} for text in texts]


def _chat_call(call: Call) -> Json:
    function = {"name": call.name, "arguments": json.dumps(call.arguments)}
    return {"id": call.id, "type": "function", "function": function}


def as_messages(conversation: Conversation) -> Json:
    """An Anthropic Messages request (system as a string when there is one prompt)."""
    request: Json = {"model": "m", "max_tokens": 64, "messages": []}
    if len(conversation.system) == 1:
        request["system"] = conversation.system[0]
    elif conversation.system:
        request["system"] = [{"type": "text", "text": text} for text in conversation.system]
    for turn in conversation.turns:
        blocks = [_tool_result(call_id, output) for call_id, output in turn.results]
        blocks += [{"type": "text", "text": text} for text in turn.texts]
        blocks += [
            {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
            for c in turn.calls
        ]
        simple = len(blocks) == 1 and blocks[0]["type"] == "text"
        request["messages"].append(
            {"role": turn.role, "content": blocks[0]["text"] if simple else blocks}
        )
    return request


def _tool_result(call_id: str, output: str) -> Json:
    """Empty results in each of the shapes clients send: no content, "" or []."""
    block: Json = {"type": "tool_result", "tool_use_id": call_id}
    if output:
        block["content"] = [{"type": "text", "text": output}] if len(output) % 2 else output
    elif len(call_id) % 3:
        block["content"] = "" if len(call_id) % 3 == 1 else []
    return block


def as_responses(conversation: Conversation, split: int) -> tuple[Json, list[Json]]:
    """A Responses request and its stored history (the items of the first `split` turns);
    the first system prompt as `instructions`, others as developer messages."""
    instructions, *others = conversation.system or ("",)
    items: list[Json] = [
        {"type": "message", "role": "developer", "content": text} for text in others
    ]
    cut = 0
    for index, turn in enumerate(conversation.turns):
        if index == split:
            cut = len(items)
        items += [
            {"type": "function_call_output", "call_id": c, "output": o} for c, o in turn.results
        ]
        if turn.texts:
            items.append(_responses_message(turn))
        items += [_function_call(call) for call in turn.calls]
    cut = cut if split < len(conversation.turns) else len(items)
    request: Json = {"model": "m", "input": items[cut:]}
    if instructions:
        request["instructions"] = instructions
    return request, items[:cut]


def _responses_message(turn: Turn) -> Json:
    kind = "output_text" if turn.role == "assistant" else "input_text"
    if turn.role == "user" and len(turn.texts) == 1:
        return {"role": "user", "content": turn.texts[0]}
    content = [{"type": kind, "text": text} for text in turn.texts]
    return {"type": "message", "role": turn.role, "content": content}


def _function_call(call: Call) -> Json:
    arguments = json.dumps(call.arguments)
    return {"type": "function_call", "call_id": call.id, "name": call.name, "arguments": arguments}


# Reading back: what a request in each format says, as atoms.


def chat_atoms(request: Json) -> list[Atom]:
    atoms: list[Atom] = []
    for message in request["messages"]:
        role = {"developer": "system"}.get(message["role"], message["role"])
        if role == "tool":
            atoms.append(("result", message["tool_call_id"], "".join(_texts(message["content"]))))
            continue
        atoms += [(role, text) for text in _texts(message.get("content")) if text]
        atoms += [
            ("image", p["image_url"]["url"]) for p in _parts(message.get("content"), "image_url")
        ]
        for call in message.get("tool_calls") or []:
            function = call["function"]
            atoms.append(("call", call["id"], function["name"], json.loads(function["arguments"])))
    return atoms


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [part["text"] for part in _parts(content, "text")]


def _parts(content: Any, kind: str) -> list[Json]:
    return [part for part in content if part["type"] == kind] if isinstance(content, list) else []


def messages_atoms(request: Json) -> list[Atom]:
    system = request.get("system") or []
    atoms: list[Atom] = (
        [("system", system)] if isinstance(system, str) else [("system", b["text"]) for b in system]
    )
    for message in request["messages"]:
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in blocks:
            atoms += _block_atoms(message["role"], block)
    return atoms


def _block_atoms(role: str, block: Json) -> list[Atom]:
    kind = block["type"]
    if kind == "text":
        return [(role, block["text"])] if block["text"] else []
    if kind == "tool_use":
        return [("call", block["id"], block["name"], block["input"])]
    if kind == "tool_result":
        return [("result", block["tool_use_id"], "".join(_texts(block.get("content", ""))))]
    if kind == "image":
        source = block["source"]
        url = source.get("url") or f"data:{source['media_type']};base64,{source['data']}"
        return [("image", url)]
    return []


def responses_atoms(request: Json, history: list[Json]) -> list[Atom]:
    atoms: list[Atom] = [("system", request["instructions"])] if request.get("instructions") else []
    given = request["input"]
    items = history + ([{"role": "user", "content": given}] if isinstance(given, str) else given)
    for item in items:
        kind = item.get("type", "message")
        if kind == "function_call":
            atoms.append(("call", item["call_id"], item["name"], json.loads(item["arguments"])))
        elif kind == "function_call_output":
            atoms.append(("result", item["call_id"], item["output"]))
        elif kind == "message":
            role = {"developer": "system"}.get(item["role"], item["role"])
            content = item["content"]
            texts = [content] if isinstance(content, str) else [p["text"] for p in content]
            atoms += [(role, text) for text in texts if text]
    return atoms
