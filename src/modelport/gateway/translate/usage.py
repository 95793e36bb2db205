"""Token usage in each API's own convention, from our one `Tokens` (OpenAI's convention).

`Tokens.prompt` counts every input token, cached and cache-written included. Chat and
Responses report that total with the cached part beside it; Anthropic reports the three
input parts apart, so its `input_tokens` is only the fresh part.
"""

from __future__ import annotations

from modelport.core.pricing import Tokens
from modelport.gateway.translate.fields import Json


def chat_usage(tokens: Tokens) -> Json:
    """A chat completion's `usage`."""
    return {
        "prompt_tokens": tokens.prompt,
        "completion_tokens": tokens.completion,
        "total_tokens": tokens.total,
        "prompt_tokens_details": {
            "cached_tokens": tokens.cached_prompt,
            "cache_write_tokens": tokens.cache_write,
        },
        "completion_tokens_details": {"reasoning_tokens": tokens.reasoning},
    }


def responses_usage(tokens: Tokens) -> Json:
    """A Response's `usage` (OpenAI's schema requires `cache_write_tokens` too)."""
    return {
        "input_tokens": tokens.prompt,
        "input_tokens_details": {
            "cached_tokens": tokens.cached_prompt,
            "cache_write_tokens": tokens.cache_write,
        },
        "output_tokens": tokens.completion,
        "output_tokens_details": {"reasoning_tokens": tokens.reasoning},
        "total_tokens": tokens.total,
    }


def messages_usage(tokens: Tokens) -> Json:
    """An Anthropic message's `usage`: fresh input, cache reads and cache writes apart."""
    fresh = max(0, tokens.prompt - tokens.cached_prompt - tokens.cache_write)
    return {
        "input_tokens": fresh,
        "output_tokens": tokens.completion,
        "cache_read_input_tokens": tokens.cached_prompt,
        "cache_creation_input_tokens": tokens.cache_write,
    }
