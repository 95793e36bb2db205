"""Answers name the model as the client asked for it (the catalog's id), not as the upstream
calls it: `test-chat` is `fake-chat` upstream, and clients compare the two."""

from __future__ import annotations

import openai

from tests.support.dataplane import MESSAGES


def test_a_plain_answer_names_the_catalog_model(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="test-chat", messages=MESSAGES)
    assert completion.model == "test-chat"


def test_every_streamed_chunk_names_the_catalog_model(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="test-chat",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    models = {chunk.model for chunk in stream}
    assert models == {"test-chat"}


def test_embeddings_name_the_catalog_model(client: openai.OpenAI) -> None:
    assert client.embeddings.create(model="test-embed", input="hello").model == "test-embed"
