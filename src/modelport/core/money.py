"""Money without floats: integer picodollars (1e-12 USD).

Catalog prices are USD per million tokens with at most six decimal places, so a price times
10**6 is a whole number of picodollars per token, and tokens x price is exact. Costs are
summed as integers and only turned into text, never rounded, when shown.
"""

from __future__ import annotations

import re
from decimal import Decimal

PICO_PER_USD = 10**12
PRICE_DECIMALS = 6


def picousd_per_token(price_per_million: Decimal) -> int:
    """A per-million price as picodollars per token; ValueError if it is not exact or < 0."""
    if price_per_million < 0:
        raise ValueError("must not be negative")
    scaled = price_per_million.scaleb(PRICE_DECIMALS)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"must have at most {PRICE_DECIMALS} decimal places")
    return int(scaled)


def usd(picousd: int) -> str:
    """An exact decimal string in USD, e.g. 1_500_000 -> '0.0000015'."""
    value = Decimal(picousd).scaleb(-12)
    text = f"{value:.12f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


MANTISSA = r"[0-9]+\.?[0-9]*|\.[0-9]+"
"""An amount's digits before any exponent, `5`, `5.`, `5.25` or `.25`: the one definition
that the API's pattern for amounts (`keys.limits.AMOUNT_PATTERN`) and `EXPONENT` share."""
EXPONENT = re.compile(rf"(?:{MANTISSA})[eE]([+-]?)[0-9]+")


def parse_usd(value: str | int | float | Decimal, *, at_most: int) -> int:
    """An amount in USD (text or number) as picodollars.

    ValueError if negative, over `at_most` USD (checked first: `1e999999999` would otherwise
    become a billion-digit integer), or more precise than a picodollar.
    """
    text = str(value).strip()
    try:
        amount = Decimal(text)
    except ArithmeticError:
        # A number whose exponent is past what Decimal holds is far too big, or far too fine.
        written = EXPONENT.fullmatch(text)
        if written is None:
            raise ValueError("must be an amount in USD, e.g. 25 or 12.50") from None
        if written.group(1) == "-":
            raise ValueError("must have at most 12 decimal places") from None
        raise ValueError(f"must be at most {at_most} USD") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError("must be a non-negative amount in USD")
    if amount > at_most:
        raise ValueError(f"must be at most {at_most} USD")
    scaled = amount.scaleb(12)
    if scaled != scaled.to_integral_value():
        raise ValueError("must have at most 12 decimal places")
    return int(scaled)
