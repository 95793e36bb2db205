"""Our token counts in each API's usage shape (what a client's SDK expects to parse)."""

from __future__ import annotations

from typing import Any

from modelport.core.pricing import Tokens


def chat_usage(tokens: Tokens) -> dict[str, Any]:
    """Chat completions' `usage`: prompt and completion tokens, with their details."""
    return {
        "prompt_tokens": tokens.prompt,
        "completion_tokens": tokens.completion,
        "total_tokens": tokens.total,
        "prompt_tokens_details": {"cached_tokens": tokens.cached_prompt},
        "completion_tokens_details": {"reasoning_tokens": tokens.reasoning},
    }
