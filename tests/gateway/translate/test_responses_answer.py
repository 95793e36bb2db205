"""Chat answers as Response objects: OpenAI's schema and the `openai` SDK accept them."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from openai.types.responses import Response

from modelport.core.pricing import Tokens
from modelport.gateway.translate.responses_chat import response_from_chat
from tests.gateway.translate.answers import ANSWERS, Answer, as_completion
from tests.gateway.translate.sdks import counter
from tests.support.openai_reference import openai_schema

WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}}
REQUEST: dict[str, Any] = {
    "model": "m",
    "input": "Weather in Paris?",
    "instructions": "Be brief.",
    "tools": [WEATHER],
    "max_output_tokens": 500,
    "temperature": 0.3,
    "previous_response_id": "resp_prev",
    "metadata": {"app": "demo"},
}
TOKENS = Tokens(prompt=40, completion=12, cached_prompt=8, reasoning=2)


def completion(
    content: Any, calls: list[dict[str, Any]] | None = None, **choice: Any
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message} | choice],
    }


def call(call_id: str, arguments: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": arguments},
    }


def respond(answer: dict[str, Any], request: dict[str, Any] = REQUEST) -> dict[str, Any]:
    return response_from_chat(
        answer,
        response_id="resp_1",
        created_at=1_760_000_000,
        model="m",
        request=request,
        usage=TOKENS,
        item_ids=counter(),
    )


@pytest.mark.reference("openai-openapi")
def test_a_text_answer_is_a_completed_response_the_schema_and_the_sdk_accept() -> None:
    body = respond(completion("Sunny, 21C.", finish_reason="stop"))
    openai_schema("Response").validate(body)
    response = Response.model_validate(body)
    assert response.output_text == "Sunny, 21C."
    assert (response.id, response.status, response.object) == ("resp_1", "completed", "response")
    assert body["output"] == [
        {
            "type": "message",
            "id": "msg_0",
            "status": "completed",
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": "Sunny, 21C.", "annotations": [], "logprobs": []}
            ],
        }
    ]
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (40, 12)
    assert response.usage.input_tokens_details.cached_tokens == 8
    assert "output_text" not in body


@pytest.mark.reference("openai-openapi")
def test_the_schema_check_can_fail() -> None:
    body = respond(completion("x"))
    del body["output"]
    with pytest.raises(jsonschema.ValidationError):
        openai_schema("Response").validate(body)


@pytest.mark.reference("openai-openapi")
def test_tool_calls_are_function_call_items_after_the_message() -> None:
    answer = completion(
        "Let me check.",
        [call("call_1", '{"city":"Paris"}'), call("call_2", "{}")],
        finish_reason="tool_calls",
    )
    body = respond(answer)
    openai_schema("Response").validate(body)
    response = Response.model_validate(body)
    assert response.output_text == "Let me check."
    assert body["output"][1:] == [
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": '{"city":"Paris"}',
            "status": "completed",
        },
        {
            "type": "function_call",
            "id": "fc_2",
            "call_id": "call_2",
            "name": "get_weather",
            "arguments": "{}",
            "status": "completed",
        },
    ]


def test_only_tool_calls_make_no_message_item() -> None:
    body = respond(completion(None, [call("call_1", "{}")], finish_reason="tool_calls"))
    assert [item["type"] for item in body["output"]] == ["function_call"]
    assert Response.model_validate(body).output_text == ""


@pytest.mark.reference("openai-openapi")
@pytest.mark.parametrize(
    ("finish", "reason"), [("length", "max_output_tokens"), ("content_filter", "content_filter")]
)
def test_a_cut_answer_is_incomplete_with_the_reason(finish: str, reason: str) -> None:
    body = respond(completion("Sunny, 2", finish_reason=finish))
    openai_schema("Response").validate(body)
    response = Response.model_validate(body)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == reason


def test_the_request_settings_are_echoed() -> None:
    body = respond(completion("ok"))
    assert body["instructions"] == "Be brief."
    assert body["max_output_tokens"] == 500
    assert body["temperature"] == 0.3
    assert body["top_p"] is None
    assert body["previous_response_id"] == "resp_prev"
    assert body["metadata"] == {"app": "demo"}
    assert body["tools"] == [WEATHER | {"description": None, "strict": None}]
    assert (body["error"], body["incomplete_details"], body["truncation"]) == (
        None,
        None,
        "disabled",
    )


@pytest.mark.reference("openai-openapi")
def test_openai_defaults_stand_for_what_the_request_left_out() -> None:
    body = respond(completion("ok"), {"model": "m", "input": "hi"})
    openai_schema("Response").validate(body)
    assert body["tool_choice"] == "auto"
    assert body["parallel_tool_calls"] is True
    assert body["store"] is True
    assert body["text"] == {"format": {"type": "text"}}
    assert (body["tools"], body["metadata"], body["instructions"]) == ([], {}, None)


@pytest.mark.reference("openai-openapi")
def test_a_refusal_is_a_refusal_part() -> None:
    message = {"role": "assistant", "content": None, "refusal": "No."}
    body = respond({"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})
    openai_schema("Response").validate(body)
    assert body["output"][0]["content"] == [{"type": "refusal", "refusal": "No."}]
    assert Response.model_validate(body).output_text == ""


@pytest.mark.reference("openai-openapi")
@pytest.mark.parametrize(
    "answer", [{}, {"choices": "x"}, {"choices": [{"message": {"content": 3, "tool_calls": "x"}}]}]
)
def test_an_odd_answer_is_an_empty_message_not_an_error(answer: dict[str, Any]) -> None:
    body = respond(answer)
    openai_schema("Response").validate(body)
    assert Response.model_validate(body).output_text == ""


@settings(max_examples=100, deadline=None)
@given(ANSWERS)
def test_chat_answers_keep_their_text_and_tool_calls_as_responses(answer: Answer) -> None:
    response = Response.model_validate(respond(as_completion(answer)))
    assert response.output_text == answer.text
    calls = [
        (i.call_id, i.name, json.loads(i.arguments))
        for i in response.output
        if i.type == "function_call"
    ]
    assert calls == [(c.id, c.name, c.arguments) for c in answer.calls]
