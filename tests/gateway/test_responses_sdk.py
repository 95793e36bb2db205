"""`/v1/responses` through the official `openai` SDK, on every kind of chat upstream: one that
serves `/responses` itself (passthrough), an OpenAI-compatible one without it (translated
through chat) and an Anthropic one (translated through chat, then Messages). Every request is
metered once with the upstream's exact counts; stored responses belong to the key's team."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import orjson
import pytest

from tests.support.anthropic_upstream import INPUT_TOKENS, OUTPUT_TOKENS, FakeAnthropic
from tests.support.dataplane import create_key, sdk
from tests.support.fake_server import TOOL_ARGUMENTS, TOOL_RESULT_PREFIX
from tests.support.hub import Hub
from tests.support.upstream import COMPLETION_TOKENS, PROMPT_TOKENS, FakeUpstream
from tests.support.usage import UsageRows

UPSTREAMS = {
    "test-native-chat": (PROMPT_TOKENS, COMPLETION_TOKENS),
    "test-chat": (PROMPT_TOKENS, COMPLETION_TOKENS),
    "test-claude-chat": (INPUT_TOKENS, OUTPUT_TOKENS),
}
"""Each kind of upstream, and the (input, output) tokens its fake reports."""
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture(params=sorted(UPSTREAMS))
def model(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def key(api: httpx.Client) -> dict[str, str]:
    return create_key(api)


@pytest.fixture
def client(hub: Hub, key: dict[str, str]) -> Iterator[openai.OpenAI]:
    with sdk(hub, key["secret_key"]) as client:
        yield client


def sent(model: str, upstream: FakeUpstream, anthropic: FakeAnthropic) -> list[dict[str, Any]]:
    """The request bodies the model's upstream received, oldest first."""
    if model == "test-claude-chat":
        return anthropic.seen.sent_to("/v1/messages")
    path = "/v1/responses" if model == "test-native-chat" else "/v1/chat/completions"
    return upstream.seen.sent_to(path)


def test_create_answers_stores_and_meters_once(
    client: openai.OpenAI, key: dict[str, str], usage_rows: UsageRows, model: str
) -> None:
    response = client.responses.create(
        model=model, input="Say something.", instructions="Be brief."
    )
    assert response.id.startswith("resp_")
    assert (response.model, response.status, response.object) == (model, "completed", "response")
    assert response.output_text
    expected = UPSTREAMS[model]
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == expected
    [row] = usage_rows.of_key(key["uuid"])
    assert (row.model, row.status, row.estimated) == (model, "ok", False)
    assert (row.prompt_tokens, row.completion_tokens) == expected

    stored = client.responses.retrieve(response.id)
    assert (stored.id, stored.output_text, stored.instructions) == (
        response.id,
        response.output_text,
        "Be brief.",
    )
    [item] = client.responses.input_items.list(response.id).data
    assert item.type == "message"
    assert item.content[0].text == "Say something."  # type: ignore[union-attr]


def test_a_stream_has_the_event_sequence_and_the_exact_usage(
    client: openai.OpenAI, key: dict[str, str], usage_rows: UsageRows, model: str
) -> None:
    events = list(client.responses.create(model=model, input="Say something.", stream=True))
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds
    assert [e.sequence_number for e in events] == sorted(e.sequence_number for e in events)
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    completed = events[-1].response  # type: ignore[union-attr]
    assert completed.output_text == text
    assert completed.model == model
    assert completed.usage is not None
    assert (completed.usage.input_tokens, completed.usage.output_tokens) == UPSTREAMS[model]
    [row] = usage_rows.of_key(key["uuid"])
    assert (row.prompt_tokens, row.completion_tokens, row.estimated) == (*UPSTREAMS[model], False)
    assert client.responses.retrieve(completed.id).output_text == text


def test_three_turns_by_previous_response_id_send_the_whole_context(
    client: openai.OpenAI,
    model: str,
    upstream: FakeUpstream,
    anthropic_upstream: FakeAnthropic,
) -> None:
    first = client.responses.create(model=model, input="one")
    second = client.responses.create(model=model, input="two", previous_response_id=first.id)
    third = client.responses.create(model=model, input="three", previous_response_id=second.id)
    assert third.previous_response_id == second.id
    context = str(sent(model, upstream, anthropic_upstream)[-1])
    positions = [context.find(text) for text in ("one", "two", "three")]
    assert -1 not in positions
    assert positions == sorted(positions), "the turns reach the upstream in order"
    assert context.count(first.output_text) >= 1
    assert "previous_response_id" not in context


def test_a_function_call_round_trip(client: openai.OpenAI, model: str) -> None:
    asked = client.responses.create(
        model=model,
        input="What is the weather in Paris?",
        tools=[WEATHER],  # type: ignore[list-item]
    )
    [call] = [item for item in asked.output if item.type == "function_call"]
    assert call.name == "get_weather"
    assert orjson.loads(call.arguments) == TOOL_ARGUMENTS
    answered = client.responses.create(
        model=model,
        previous_response_id=asked.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21C"}],
        tools=[WEATHER],  # type: ignore[list-item]
    )
    assert answered.output_text == TOOL_RESULT_PREFIX + "sunny, 21C"


def test_delete_then_everything_about_it_is_gone(client: openai.OpenAI) -> None:
    response = client.responses.create(model="test-chat", input="hello")
    client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.input_items.list(response.id)
    with pytest.raises(openai.BadRequestError, match="not found"):
        client.responses.create(model="test-chat", input="again", previous_response_id=response.id)


def test_store_false_keeps_nothing(client: openai.OpenAI) -> None:
    response = client.responses.create(model="test-chat", input="hello", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)


def test_another_teams_key_sees_nothing(hub: Hub, client: openai.OpenAI) -> None:
    response = client.responses.create(model="test-chat", input="hello")
    with (
        hub.client(hub.new_team().token) as other_api,
        sdk(hub, create_key(other_api)["secret_key"]) as other,
    ):
        with pytest.raises(openai.NotFoundError):
            other.responses.retrieve(response.id)
        with pytest.raises(openai.NotFoundError):
            other.responses.delete(response.id)
        with pytest.raises(openai.BadRequestError):
            other.responses.create(model="test-chat", input="x", previous_response_id=response.id)
    assert client.responses.retrieve(response.id).id == response.id


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": [{"type": "computer_call_output", "call_id": "c"}]}, "input[0]"),
        ({"input": [{"role": "robot", "content": "hi"}]}, "input[0].role"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_audio"}]}]},
            "input[0].content[0]",
        ),
        ({"input": 5}, "input"),
        ({"input": "hi", "previous_response_id": "resp_nope"}, "previous_response_id"),
        ({"input": "hi", "max_output_tokens": 0}, "max_output_tokens"),
    ],
)
def test_bad_input_is_a_400_that_reaches_nothing_and_stores_nothing(
    hub: Hub,
    key: dict[str, str],
    usage_rows: UsageRows,
    upstream: FakeUpstream,
    body: dict[str, Any],
    param: str,
) -> None:
    seen = len(upstream.seen.bodies)
    answer = httpx.post(
        hub.url + "/v1/responses",
        json={"model": "test-chat", **body},
        headers={"Authorization": f"Bearer {key['secret_key']}"},
        timeout=10,
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == param
    assert len(upstream.seen.bodies) == seen
    assert usage_rows.of_key(key["uuid"]) == []
