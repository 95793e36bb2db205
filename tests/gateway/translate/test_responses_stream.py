"""A streamed chat completion as Responses events: OpenAI's sequence, as the SDK reads it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from modelport.core.pricing import Tokens
from modelport.gateway.translate.fields import Event
from modelport.gateway.translate.responses_chat import ResponsesStreamFromChat, response_from_chat
from tests.gateway.translate.answers import Answer, as_completion, chunk, streamed, tool_delta
from tests.gateway.translate.sdks import Replay, counter
from tests.support.openai_reference import openai_schema

REQUEST: dict[str, Any] = {"model": "m", "input": "Weather in Paris?", "stream": True}
TOKENS = Tokens(prompt=30, completion=9, cached_prompt=10)
EVENTS: TypeAdapter[Any] = TypeAdapter(ResponseStreamEvent)


def tool(index: int, arguments: str, call_id: str | None = None) -> dict[str, Any]:
    return tool_delta(index, arguments, call_id, "get_weather")


TEXT_AND_TOOL = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Let me "}),
    chunk({"content": "check."}),
    chunk(tool(0, "", "call_1")),
    chunk(tool(0, '{"city":')),
    chunk(tool(0, '"Paris"}')),
    chunk({}, "tool_calls"),
    {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {"prompt_tokens": 30},
    },
]


def run(
    chunks: list[dict[str, Any]], usage: Tokens | None = TOKENS
) -> tuple[list[Event], ResponsesStreamFromChat]:
    translator = ResponsesStreamFromChat(
        response_id="resp_1",
        created_at=1_760_000_000,
        model="m",
        request=REQUEST,
        item_ids=counter(),
    )
    events = translator.start()
    for one in chunks:
        events += translator.feed(one)
    return events + translator.finish(usage), translator


def test_text_then_a_tool_call_is_openais_event_sequence() -> None:
    events, _ = run(TEXT_AND_TOOL)
    assert [name for name, _ in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [payload["sequence_number"] for _, payload in events] == list(range(len(events)))
    assert all(payload["type"] == name for name, payload in events)
    done = dict(events)["response.function_call_arguments.done"]
    assert (done["name"], done["arguments"], done["output_index"]) == (
        "get_weather",
        '{"city":"Paris"}',
        1,
    )


@pytest.mark.reference("openai-openapi")
def test_every_event_passes_the_sdk_types_and_openais_schema() -> None:
    events, _ = run(TEXT_AND_TOOL)
    for _, payload in events:
        EVENTS.validate_python(payload)
        openai_schema("ResponseStreamEvent").validate(payload)


def test_the_sdk_stream_helper_assembles_the_same_response_we_keep(replay: Replay) -> None:
    events, translator = run(TEXT_AND_TOOL)
    final = replay.responses(events)
    assert final.output_text == "Let me check."
    assert final.status == "completed"
    assert final.usage is not None
    assert final.usage.input_tokens_details.cached_tokens == 10
    kept = Response.model_validate(translator.response)
    assert kept.model_dump(exclude_none=True) == final.model_dump(exclude_none=True)
    assert translator.response == events[-1][1]["response"]


def test_a_stream_cut_at_the_token_limit_ends_incomplete(replay: Replay) -> None:
    events, translator = run([chunk({"content": "Sunny, 2"}), chunk({}, "length")])
    assert events[-1][0] == "response.incomplete"
    assert translator.response["incomplete_details"] == {"reason": "max_output_tokens"}
    EVENTS.validate_python(events[-1][1])


def test_an_empty_answer_still_streams_an_empty_message(replay: Replay) -> None:
    events, _ = run([chunk({"role": "assistant", "content": ""}), chunk({}, "stop")], usage=None)
    final = replay.responses(events)
    assert final.output_text == ""
    assert [item.type for item in final.output] == ["message"]
    assert final.usage is None


def test_a_refusal_streams_as_refusal_events(replay: Replay) -> None:
    events, _ = run(
        [chunk({"refusal": "I can't "}), chunk({"refusal": "help."}), chunk({}, "stop")]
    )
    names = [name for name, _ in events]
    assert "response.refusal.delta" in names
    assert "response.refusal.done" in names
    final = replay.responses(events)
    assert final.output[0].type == "message"
    assert final.output[0].content[0].type == "refusal"
    assert final.output[0].content[0].refusal == "I can't help."


def test_a_failed_upstream_ends_with_response_failed() -> None:
    translator = ResponsesStreamFromChat(
        response_id="resp_1", created_at=1, model="m", request=REQUEST, item_ids=counter()
    )
    events = translator.start() + translator.feed(chunk({"content": "Sun"}))
    events += translator.fail("server_error", "The upstream provider failed.")
    name, payload = events[-1]
    assert name == "response.failed"
    failed = EVENTS.validate_python(payload)
    assert failed.response.status == "failed"
    assert failed.response.error.code == "server_error"
    assert failed.response.error.message == "The upstream provider failed."
    assert payload["sequence_number"] == len(events) - 1


def test_parallel_tool_calls_stream_one_after_the_other(replay: Replay) -> None:
    chunks = [
        chunk(tool(0, '{"city":"Paris"}', "call_1")),
        chunk(tool(1, '{"city":"Rome"}', "call_2")),
        chunk({}, "tool_calls"),
    ]
    events, _ = run(chunks)
    final = replay.responses(events)
    assert [(i.call_id, i.arguments) for i in final.output if i.type == "function_call"] == [
        ("call_1", '{"city":"Paris"}'),
        ("call_2", '{"city":"Rome"}'),
    ]


def test_a_late_piece_of_an_earlier_call_is_dropped_not_misplaced(replay: Replay) -> None:
    chunks = [
        chunk(tool(0, '{"a":', "call_1")),
        chunk(tool(1, "{}", "call_2")),
        chunk(tool(0, "1}")),
        chunk({}, "tool_calls"),
    ]
    events, _ = run(chunks)
    final = replay.responses(events)
    assert [i.arguments for i in final.output if i.type == "function_call"] == ['{"a":', "{}"]


def test_a_call_the_upstream_left_unnamed_gets_the_ids_the_plain_answer_gives() -> None:
    unnamed = {"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]}
    _, translator = run([chunk(unnamed), chunk({}, "tool_calls")])
    message = {"role": "assistant", "content": None, "tool_calls": [unnamed["tool_calls"][0]]}
    plain = response_from_chat(
        {"choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]},
        response_id="resp_1",
        created_at=1_760_000_000,
        model="m",
        request=REQUEST,
        usage=TOKENS,
        item_ids=counter(),
    )
    assert translator.response["output"] == plain["output"]
    assert (plain["output"][0]["id"], plain["output"][0]["call_id"]) == ("fc_1", "call_0")


@settings(max_examples=100, deadline=None)
@given(streamed())
def test_any_chunking_streams_the_response_the_plain_answer_makes(
    replay: Replay, case: tuple[Answer, list[dict[str, Any]]]
) -> None:
    answer, chunks = case
    events, translator = run(chunks)
    final = replay.responses(events)
    plain = response_from_chat(
        as_completion(answer),
        response_id="resp_1",
        created_at=1_760_000_000,
        model="m",
        request=REQUEST,
        usage=TOKENS,
        item_ids=counter(),
    )
    assert translator.response == plain
    assert final.model_dump(exclude_none=True) == Response.model_validate(plain).model_dump(
        exclude_none=True
    )
