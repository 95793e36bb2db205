"""Costs are exact: each part of the prompt at its own price, never a float."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from modelport.catalog.model import CatalogEntry
from modelport.core.money import picousd_per_token
from modelport.core.pricing import Prices, Tokens

PRICES = Prices(input=2_500_000, output=10_000_000, cached_input=1_250_000, cache_write=3_125_000)


def test_cached_and_cache_written_prompt_tokens_have_their_own_prices() -> None:
    tokens = Tokens(prompt=1000, completion=200, cached_prompt=600, cache_write=100, reasoning=50)
    fresh = 1000 - 600 - 100
    assert PRICES.cost(tokens) == (
        fresh * 2_500_000 + 600 * 1_250_000 + 100 * 3_125_000 + 200 * 10_000_000
    )


def test_reasoning_tokens_are_output_tokens_already_counted() -> None:
    assert PRICES.cost(Tokens(10, 20, reasoning=15)) == PRICES.cost(Tokens(10, 20))


@given(
    prompt=st.integers(0, 10**7),
    completion=st.integers(0, 10**7),
    cached_share=st.fractions(0, 1),
)
def test_a_cached_token_never_costs_more_than_a_fresh_one(
    prompt: int, completion: int, cached_share: object
) -> None:
    cached = int(prompt * cached_share)  # type: ignore[operator]
    assert PRICES.cost(Tokens(prompt, completion, cached_prompt=cached)) <= PRICES.cost(
        Tokens(prompt, completion)
    )


def test_cache_prices_default_to_the_input_price() -> None:
    entry = CatalogEntry.model_validate(
        {
            "id": "m",
            "name": "M",
            "provider": "p",
            "type": "chat",
            "base_url": "http://127.0.0.1:1/v1",
            "context_window": 1000,
            "input_price_per_million": Decimal("0.15"),
            "output_price_per_million": Decimal("0.6"),
        }
    )
    price = picousd_per_token(Decimal("0.15"))
    assert entry.prices == Prices(price, picousd_per_token(Decimal("0.6")), price, price)
