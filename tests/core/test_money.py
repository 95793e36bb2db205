"""Amounts in USD as picodollars: refused with a reason a caller can act on."""

from __future__ import annotations

import pytest

from modelport.core.money import parse_usd


@pytest.mark.parametrize(
    ("written", "picousd"),
    [("25", 25 * 10**12), ("12.50", 12_500_000_000_000), ("1e3", 1000 * 10**12), (0, 0)],
)
def test_an_amount_is_exact_picodollars(written: str | int, picousd: int) -> None:
    assert parse_usd(written, at_most=100_000) == picousd


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("1822884382872E138426349509026093834", "must be at most 100000 USD"),
        ("1E-99999999999999999999", "must have at most 12 decimal places"),
        (".0323E77586590724523321755513", "must be at most 100000 USD"),
        (".5e-99999999999999999999", "must have at most 12 decimal places"),
        ("100001", "must be at most 100000 USD"),
        ("0.0000000000001", "must have at most 12 decimal places"),
        ("-1", "must be a non-negative amount in USD"),
        ("abc", "must be an amount in USD, e.g. 25 or 12.50"),
    ],
)
def test_an_amount_past_what_a_number_holds_is_refused_for_what_it_is(
    written: str, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_usd(written, at_most=100_000)
