"""OpenAI's Responses API over a chat completions upstream: the request and the answer.

The request becomes a chat request (stored history first, then this request's input); the
chat answer becomes a Response. `ResponsesStreamFromChat` does the same for a stream.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelport.core.pricing import Tokens
from modelport.errors import InvalidInput
from modelport.gateway.translate.fields import (
    Json,
    chat_text,
    first_choice,
    get_list,
    get_object,
    get_str,
    maybe_bool,
    maybe_count,
    maybe_number,
    maybe_str,
    shown,
    want_id,
    want_list,
    want_object,
    want_str,
)
from modelport.gateway.translate.responses_input import chat_messages
from modelport.gateway.translate.responses_shape import (
    call_item,
    ending,
    message_item,
    response_object,
)
from modelport.gateway.translate.responses_stream import ResponsesStreamFromChat

__all__ = ["ResponsesStreamFromChat", "chat_request_from_responses", "response_from_chat"]

_CHOICES = ("auto", "none", "required")


def chat_request_from_responses(request: Json, history: list[Json]) -> Json:
    """The chat request that serves a Responses `request`, after the stored `history` items.

    `instructions` lead as a system message (this request's only); `history` (earlier
    turns' input and output items, oldest first) precedes `input`. `stream` is kept, without
    stream_options (the dialect adds them); `metadata`, `store` and the like are not sent.
    Raises InvalidInput naming the field for an item, part or tool chat cannot express (a
    built-in tool such as web_search, a file input, an item reference) or a wrong shape.
    """
    messages: list[Json] = []
    instructions = maybe_str(request.get("instructions"), "instructions")
    if instructions:
        messages.append({"role": "system", "content": instructions})
    chat_messages(want_list(history, "previous_response_id"), "previous_response_id", messages)
    given = request.get("input")
    if isinstance(given, str):
        messages.append({"role": "user", "content": given})
    else:
        chat_messages(want_list(given, "input"), "input", messages)
    chat: Json = {"model": want_str(request.get("model"), "model"), "messages": messages}
    return chat | _settings(request)


def _settings(request: Json) -> Json:
    settings: Json = {
        "max_tokens": maybe_count(request.get("max_output_tokens"), "max_output_tokens"),
        "temperature": maybe_number(request.get("temperature"), "temperature", 2),
        "top_p": maybe_number(request.get("top_p"), "top_p", 1),
        "parallel_tool_calls": maybe_bool(
            request.get("parallel_tool_calls"), "parallel_tool_calls"
        ),
        "stream": maybe_bool(request.get("stream"), "stream"),
        "user": _user(request),
        "reasoning_effort": _effort(request.get("reasoning")),
        "response_format": _format(request.get("text")),
    }
    if request.get("tools") is not None:
        settings["tools"] = _tools(want_list(request["tools"], "tools"))
    if request.get("tool_choice") is not None:
        settings["tool_choice"] = _tool_choice(request["tool_choice"])
    return {key: value for key, value in settings.items() if value is not None}


def _user(request: Json) -> str | None:
    identifier = maybe_str(request.get("safety_identifier"), "safety_identifier")
    return identifier or maybe_str(request.get("user"), "user")


def _effort(reasoning: Any) -> str | None:
    if reasoning is None:
        return None
    return maybe_str(want_object(reasoning, "reasoning").get("effort"), "reasoning.effort")


def _format(text: Any) -> Json | None:
    """`text.format` as chat's `response_format` (None for plain text)."""
    if text is None:
        return None
    given = want_object(text, "text").get("format")
    if given is None:
        return None
    fmt = want_object(given, "text.format")
    kind = fmt.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    if kind != "json_schema":
        raise InvalidInput(
            "'text.format.type' must be text, json_object or json_schema.", field="text.format.type"
        )
    schema: Json = {"name": want_id(fmt.get("name"), "text.format.name")}
    schema["schema"] = want_object(fmt.get("schema"), "text.format.schema")
    for key in ("description", "strict"):
        if fmt.get(key) is not None:
            schema[key] = fmt[key]
    return {"type": "json_schema", "json_schema": schema}


def _tools(tools: list[Any]) -> list[Json]:
    """Function tools in chat's shape; InvalidInput for a built-in tool chat cannot run."""
    chat: list[Json] = []
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        tool = want_object(tool, where)
        if tool.get("type") != "function":
            raise InvalidInput(
                f"'{where}.type' is {shown(tool.get('type'))}: only function tools can be used "
                "with this model (it has no built-in tools).",
                field=f"{where}.type",
            )
        function: Json = {"name": want_id(tool.get("name"), f"{where}.name")}
        function["description"] = maybe_str(tool.get("description"), f"{where}.description")
        if tool.get("parameters") is not None:
            function["parameters"] = want_object(tool["parameters"], f"{where}.parameters")
        function["strict"] = maybe_bool(tool.get("strict"), f"{where}.strict")
        chat.append(
            {"type": "function", "function": {k: v for k, v in function.items() if v is not None}}
        )
    return chat


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, str) and choice in _CHOICES:
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        return {
            "type": "function",
            "function": {"name": want_id(choice.get("name"), "tool_choice.name")},
        }
    raise InvalidInput(
        '\'tool_choice\' must be auto, none, required or {"type": "function", "name": ...}: '
        "this model has no built-in tools.",
        field="tool_choice",
    )


def response_from_chat(
    answer: Json,
    *,
    response_id: str,
    created_at: int,
    model: str,
    request: Json,
    usage: Tokens | None,
    item_ids: Callable[[str], str],
) -> Json:
    """A chat completion (choice 0) as a Response answering `request`.

    The output is the assistant message (unless there are only tool calls), then one
    `function_call` item per tool call; `item_ids(prefix)` names them ("msg_", "fc_").
    Status is "incomplete" when the upstream stopped at its token limit or content filter.
    Never raises: answer fields of the wrong type are read as absent.
    """
    choice = first_choice(answer)
    finish = choice.get("finish_reason")
    status, incomplete = ending(finish if isinstance(finish, str) else None)
    return response_object(
        response_id=response_id,
        created_at=created_at,
        model=model,
        request=request,
        status=status,
        output=_output(get_object(choice, "message"), item_ids),
        usage=usage,
        incomplete=incomplete,
    )


def _output(message: Json, item_ids: Callable[[str], str]) -> list[Json]:
    text, refusal = chat_text(message.get("content")), get_str(message, "refusal")
    calls = [call for call in get_list(message, "tool_calls") if isinstance(call, dict)]
    output: list[Json] = []
    if text or refusal or not calls:
        output.append(message_item(item_ids("msg_"), text, refusal, "completed"))
    for call in calls:
        function = get_object(call, "function")
        call_id = get_str(call, "id") or item_ids("call_")
        name, arguments = get_str(function, "name"), get_str(function, "arguments")
        output.append(call_item(item_ids("fc_"), call_id, name, arguments, "completed"))
    return output
