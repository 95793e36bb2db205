"""Usage in each format's convention, from one Tokens: the numbers each SDK reads back."""

from __future__ import annotations

from anthropic.types import Usage as MessagesUsage
from openai.types import CompletionUsage
from openai.types.responses import ResponseUsage

from modelport.core.pricing import Tokens
from modelport.gateway.translate.usage import chat_usage, messages_usage, responses_usage

TOKENS = Tokens(prompt=1000, completion=300, cached_prompt=600, cache_write=100, reasoning=120)


def test_chat_reports_all_input_with_the_cached_part_beside_it() -> None:
    usage = CompletionUsage.model_validate(chat_usage(TOKENS))
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (1000, 300, 1300)
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 600
    assert usage.prompt_tokens_details.cache_write_tokens == 100
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 120


def test_responses_reports_all_input_with_the_cached_part_beside_it() -> None:
    usage = ResponseUsage.model_validate(responses_usage(TOKENS))
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (1000, 300, 1300)
    assert usage.input_tokens_details.cached_tokens == 600
    assert usage.input_tokens_details.cache_write_tokens == 100
    assert usage.output_tokens_details.reasoning_tokens == 120


def test_anthropic_reports_fresh_input_cache_reads_and_cache_writes_apart() -> None:
    usage = MessagesUsage.model_validate(messages_usage(TOKENS))
    assert usage.input_tokens == 300
    assert usage.cache_read_input_tokens == 600
    assert usage.cache_creation_input_tokens == 100
    assert usage.output_tokens == 300
    parts = usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens
    assert parts == TOKENS.prompt


def test_no_cache_means_zero_cache_counts_everywhere() -> None:
    plain = Tokens(prompt=12, completion=3)
    assert messages_usage(plain) == {
        "input_tokens": 12,
        "output_tokens": 3,
        "cache_read_input_tokens": 0,
        "cache_creation_input_tokens": 0,
    }
    assert chat_usage(plain)["prompt_tokens_details"] == {
        "cached_tokens": 0,
        "cache_write_tokens": 0,
    }
