"""Junk in any field: requests fail only with InvalidInput, answers and streams never fail."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from modelport.core.pricing import Tokens
from modelport.errors import InvalidInput
from modelport.gateway.translate.messages_chat import (
    ChatStreamFromMessages,
    MessagesStreamFromChat,
    chat_from_messages,
    chat_request_from_messages,
    messages_from_chat,
    messages_request_from_chat,
)
from modelport.gateway.translate.responses_chat import (
    ResponsesStreamFromChat,
    chat_request_from_responses,
    response_from_chat,
)
from tests.gateway.translate.junk import (
    ANTHROPIC_REQUEST,
    CHAT_REQUEST,
    HISTORY,
    JUNK,
    OBJECTS,
    RESPONSES_REQUEST,
    WORDS,
)
from tests.gateway.translate.sdks import counter

TOKENS = Tokens(prompt=10, completion=5)


def only_invalid_input(translate: Any, *args: Any, **kwargs: Any) -> None:
    """`translate` either succeeds with JSON-ready output or refuses naming a field."""
    refused = refusal(translate, *args, **kwargs)
    assert refused is None or (refused.message and refused.field), refused


def refusal(translate: Any, *args: Any, **kwargs: Any) -> InvalidInput | None:
    try:
        orjson.dumps(translate(*args, **kwargs))
    except InvalidInput as refused:
        return refused
    return None


@settings(max_examples=200, deadline=None)
@given(CHAT_REQUEST, ANTHROPIC_REQUEST)
def test_junk_requests_in_either_format_raise_only_invalid_input(
    chat: dict[str, Any], anthropic: dict[str, Any]
) -> None:
    only_invalid_input(chat_request_from_messages, anthropic)
    only_invalid_input(messages_request_from_chat, chat, default_max_tokens=1024)


@settings(max_examples=100, deadline=None)
@given(RESPONSES_REQUEST, HISTORY)
def test_junk_responses_requests_raise_only_invalid_input(
    request: dict[str, Any], history: list[dict[str, Any]]
) -> None:
    only_invalid_input(chat_request_from_responses, request, history)


@settings(max_examples=100, deadline=None)
@given(OBJECTS, OBJECTS)
def test_junk_answers_translate_without_failing(
    answer: dict[str, Any], request: dict[str, Any]
) -> None:
    orjson.dumps(messages_from_chat(answer, message_id="msg_1", model="m", usage=TOKENS))
    orjson.dumps(chat_from_messages(answer, completion_id="c", created=1, model="m", usage=None))
    orjson.dumps(
        response_from_chat(
            answer,
            response_id="r",
            created_at=1,
            model="m",
            request=request,
            usage=TOKENS,
            item_ids=counter(),
        )
    )


@settings(max_examples=100, deadline=None)
@given(
    st.lists(OBJECTS, max_size=5),
    st.lists(st.tuples(st.sampled_from(WORDS), JUNK), max_size=5),
    OBJECTS,
)
def test_junk_streams_translate_without_failing(
    chunks: list[Any], events: list[tuple[str, Any]], request: dict[str, Any]
) -> None:
    responses = ResponsesStreamFromChat(
        response_id="r", created_at=1, model="m", request=request, item_ids=counter()
    )
    messages = MessagesStreamFromChat(message_id="msg_1", model="m")
    chat = ChatStreamFromMessages(completion_id="c", created=1, model="m")
    out: list[Any] = responses.start()
    for chunk in chunks:
        out += responses.feed(chunk) + messages.feed(chunk)
    for name, data in events:
        out += chat.feed(name, data)
    out += responses.finish(TOKENS) + messages.finish(None) + chat.finish(TOKENS)
    orjson.dumps(out)
