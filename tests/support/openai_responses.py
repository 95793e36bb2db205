"""OpenAI's Responses API as the fake upstream speaks it: what to answer, the response object,
and the event sequence of a streamed response. Pure functions; the server is upstream.py."""

from __future__ import annotations

from typing import Any

from tests.support.fake_server import (
    TOOL_ARGUMENTS,
    TOOL_RESULT_PREFIX,
    Answer,
    json_bytes,
    pieces,
    text_of,
    words,
)

RESPONSE_ID = "resp_fake_0001"
MESSAGE_ID = "msg_fake_0001"
FUNCTION_CALL_ID = "fc_fake_0001"
"""The id of a function call output item (its `call_id` is upstream.TOOL_CALL_ID)."""

Event = dict[str, Any]


def answer(body: dict[str, Any], count: int) -> Answer:
    """A call of the first function tool when tools are given and the last input item is a
    user message; the text of the trailing function call outputs after TOOL_RESULT_PREFIX when
    the input ends with them; else `count` words."""
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    items = items if isinstance(items, list) else []
    outputs: list[str] = []
    while items and items[-1].get("type") == "function_call_output":
        outputs.insert(0, text_of(items[-1].get("output")))
        items = items[:-1]
    if outputs:
        return Answer(text=TOOL_RESULT_PREFIX + "\n".join(outputs))
    functions = [tool for tool in body.get("tools") or [] if tool.get("type") == "function"]
    last = items[-1] if items else {}
    if functions and last.get("role") == "user" and last.get("type", "message") == "message":
        return Answer(tool=functions[0]["name"])
    return Answer(text="tok " * count)


def usage(prompt: int, completion: int, cached: int, reasoning: int) -> dict[str, Any]:
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": prompt + completion,
    }


def message_item(text: str | None, status: str = "completed") -> dict[str, Any]:
    content = [] if text is None else [_output_text(text)]
    return {
        "type": "message",
        "id": MESSAGE_ID,
        "status": status,
        "role": "assistant",
        "content": content,
    }


def function_call_item(
    call_id: str, name: str, arguments: str, status: str = "completed"
) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": FUNCTION_CALL_ID,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def output_items(said: Answer, call_id: str) -> list[dict[str, Any]]:
    if said.tool is not None:
        return [function_call_item(call_id, said.tool, _arguments())]
    return [message_item(said.text)]


def response(
    body: dict[str, Any],
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
) -> dict[str, Any]:
    """The response object, echoing the request's settings as OpenAI does."""
    return {
        "id": RESPONSE_ID,
        "object": "response",
        "created_at": 1,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body["model"],
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": [_tool(tool) for tool in body.get("tools") or []],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": body.get("metadata") or {},
    }


def stream_parts(
    body: dict[str, Any], said: Answer, call_id: str, usage: dict[str, Any] | None
) -> tuple[list[Event], list[Event], list[Event]]:
    """The events of a streamed response, without sequence numbers: those before the deltas,
    the deltas (one per word of text, or per piece of the call's arguments), those after."""
    started = response(body, "in_progress", [], None)
    head: list[Event] = [
        {"type": "response.created", "response": started},
        {"type": "response.in_progress", "response": started},
    ]
    if said.tool is not None:
        arguments = _arguments()
        head.append(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": function_call_item(call_id, said.tool, "", "in_progress"),
            }
        )
        where = {"item_id": FUNCTION_CALL_ID, "output_index": 0}
        deltas = [
            {"type": "response.function_call_arguments.delta", **where, "delta": piece}
            for piece in pieces(arguments)
        ]
        done = function_call_item(call_id, said.tool, arguments)
        tail: list[Event] = [
            {"type": "response.function_call_arguments.done", **where, "arguments": arguments}
        ]
    else:
        where = {"item_id": MESSAGE_ID, "output_index": 0, "content_index": 0}
        head.append(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": message_item(None, "in_progress"),
            }
        )
        head.append({"type": "response.content_part.added", **where, "part": _output_text("")})
        deltas = [
            {"type": "response.output_text.delta", **where, "delta": word, "logprobs": []}
            for word in words(said.text)
        ]
        done = message_item(said.text)
        tail = [
            {"type": "response.output_text.done", **where, "text": said.text, "logprobs": []},
            {"type": "response.content_part.done", **where, "part": _output_text(said.text)},
        ]
    tail.append({"type": "response.output_item.done", "output_index": 0, "item": done})
    tail.append(
        {"type": "response.completed", "response": response(body, "completed", [done], usage)}
    )
    return head, deltas, tail


def frame(event: Event, sequence_number: int) -> bytes:
    """One event as OpenAI frames it: its type on an `event:` line, then its data."""
    data = json_bytes({**event, "sequence_number": sequence_number})
    kind: str = event["type"]
    return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"


def _arguments() -> str:
    return json_bytes(TOOL_ARGUMENTS).decode()


def _output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A tool as OpenAI echoes it: a function tool with its defaults filled in."""
    if tool.get("type") != "function":
        return tool
    return {"description": None, "parameters": {}, "strict": True, **tool}
