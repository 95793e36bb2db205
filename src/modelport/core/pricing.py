"""What a request costs: its token counts times the model's prices, exact in picodollars.

Token counts follow OpenAI's convention whatever the upstream: `prompt` is every input token
(cached and cache-written ones included), `completion` every output token (reasoning
included). The parts are priced apart: a cached prompt token at the cached-input price, a
cache-written one at the cache-write price, the rest at the input price.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Tokens:
    prompt: int
    completion: int
    cached_prompt: int = 0
    """Of `prompt`, the tokens read from the upstream's prompt cache."""
    cache_write: int = 0
    """Of `prompt`, the tokens written to the upstream's prompt cache (Anthropic's)."""
    reasoning: int = 0
    """Of `completion`, the tokens spent reasoning."""

    @property
    def total(self) -> int:
        return self.prompt + self.completion


@dataclass(frozen=True, slots=True)
class Prices:
    """Picodollars per token."""

    input: int
    output: int
    cached_input: int
    cache_write: int

    def cost(self, tokens: Tokens) -> int:
        """The exact cost of `tokens`, in picodollars."""
        fresh = max(0, tokens.prompt - tokens.cached_prompt - tokens.cache_write)
        return (
            fresh * self.input
            + tokens.cached_prompt * self.cached_input
            + tokens.cache_write * self.cache_write
            + tokens.completion * self.output
        )
