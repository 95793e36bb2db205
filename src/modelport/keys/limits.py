"""Per-key limits: when a key expires, what it may spend a month, how fast it may go."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from modelport.core.clock import utcnow
from modelport.core.money import parse_usd
from modelport.errors import InvalidInput

LIMIT_FIELDS = ("expires_at", "monthly_spend_limit", "rpm_limit", "tpm_limit")
MAX_PER_MINUTE = 1_000_000_000
MAX_MONTHLY_SPEND_USD = 1_000_000
"""Far above any real budget, and in picodollars well inside the database's 64-bit integers."""
AMOUNT_PATTERN = r"^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?(?!\n)$"
"""An amount as text: a plain decimal number, as `str(Decimal)` writes one (`6.25E-7`).
`(?!\n)` makes Python's `$` mean what JSON Schema's (ECMA-262) does: the very end, not
before a final line feed; clients generating from the document would send "5\n" otherwise."""


def column_values(given: Mapping[str, Any]) -> dict[str, Any]:
    """The table's values for the limits in `given` (None clears one); InvalidInput if bad."""
    values: dict[str, Any] = {}
    if "expires_at" in given:
        values["expires_at"] = _expiry(given["expires_at"])
    if "monthly_spend_limit" in given:
        values["monthly_spend_limit_picousd"] = _spend(given["monthly_spend_limit"])
    for name in ("rpm_limit", "tpm_limit"):
        if name in given:
            values[name] = _per_minute(name, given[name])
    return values


def _expiry(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput("expires_at must be a date-time with a time zone", field="expires_at")
    if value <= utcnow():
        raise InvalidInput("expires_at must be in the future", field="expires_at")
    return value


def _spend(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise InvalidInput(
            "monthly_spend_limit must be an amount in USD", field="monthly_spend_limit"
        )
    if isinstance(value, str) and not re.fullmatch(AMOUNT_PATTERN, value):
        raise InvalidInput(
            "monthly_spend_limit must be an amount in USD, e.g. 25 or 12.50",
            field="monthly_spend_limit",
        )
    try:
        return parse_usd(value, at_most=MAX_MONTHLY_SPEND_USD)
    except ValueError as exc:
        raise InvalidInput(f"monthly_spend_limit {exc}", field="monthly_spend_limit") from None


def _per_minute(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PER_MINUTE:
        raise InvalidInput(f"{name} must be a whole number from 1 to {MAX_PER_MINUTE}", field=name)
    return value
