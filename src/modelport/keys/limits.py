"""Per-key limits: when a key expires, what it may spend a month, how fast it may go, and
from which addresses it may be used.

`KeyLimits` is what a key has; `KeyLimitsUpdate` a checked change to it, where each limit is
a value, None (no limit) or UNCHANGED. The /v2 routes and the panel build the update with
`KeyLimitsUpdate.given`, the one place the rules are judged; the service and the repository
apply it; the verifier hands a key's `KeyLimits` to the data plane's admission.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final, TypeVar

from modelport.core.addresses import Networks, parse_networks
from modelport.core.clock import utcnow
from modelport.core.money import MANTISSA, parse_usd
from modelport.db.tables import ModelKey
from modelport.errors import InvalidInput


class Unchanged(enum.Enum):
    """The marker of a limit an update leaves as it is (None would clear it)."""

    UNCHANGED = "unchanged"


UNCHANGED: Final = Unchanged.UNCHANGED
T = TypeVar("T")

MAX_PER_MINUTE = 1_000_000_000
MAX_TOP_UP_USD = 1_000_000
MAX_CREDIT_USD = 5_000_000
"""The most credit a key may hold in all: picodollars stay well inside a 64-bit integer."""
MAX_CREDIT_PICOUSD = MAX_CREDIT_USD * 10**12
TOP_UP_DECIMALS = 6
"""A top-up is whole micro-dollars: what a card or an invoice can carry, and then some."""
MAX_MONTHLY_SPEND_USD = 1_000_000
"""Far above any real budget, and in picodollars well inside the database's 64-bit integers."""
AMOUNT_PATTERN = rf"^({MANTISSA})([eE][+-]?[0-9]+)?(?!\n)$"
"""An amount as text: a plain decimal number, as `str(Decimal)` writes one (`6.25E-7`).
`(?!\n)` makes Python's `$` mean what JSON Schema's (ECMA-262) does: the very end, not
before a final line feed; clients generating from the document would send "5\n" otherwise."""


@dataclass(frozen=True, slots=True)
class KeyLimits:
    """A key's limits; None is no limit."""

    expires_at: datetime | None = None
    monthly_spend_picousd: int | None = None
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    allowed_ips: Networks | None = None
    """The networks requests may come from, parsed once; None: anywhere."""
    credit_picousd: int | None = None
    """Prepaid credit granted in all; it never resets (`parse_top_up`)."""

    @classmethod
    def of(cls, key: ModelKey) -> KeyLimits:
        return cls(
            key.expires_at,
            key.monthly_spend_limit_picousd,
            key.rpm_limit,
            key.tpm_limit,
            allowed_ips=stored_networks(key.allowed_ips),
            credit_picousd=key.credit_picousd,
        )


NO_LIMITS: Final = KeyLimits()


@dataclass(frozen=True, slots=True)
class KeyLimitsUpdate:
    """A checked change to a key's limits: each a value, None (no limit) or UNCHANGED.

    Build it with `given`, which checks what a caller gave; the default changes nothing.
    """

    expires_at: datetime | Unchanged | None = UNCHANGED
    monthly_spend_picousd: int | Unchanged | None = UNCHANGED
    rpm_limit: int | Unchanged | None = UNCHANGED
    tpm_limit: int | Unchanged | None = UNCHANGED
    allowed_ips: Networks | Unchanged | None = UNCHANGED

    @classmethod
    def given(
        cls,
        *,
        expires_at: object = UNCHANGED,
        monthly_spend_limit: object = UNCHANGED,
        rpm_limit: object = UNCHANGED,
        tpm_limit: object = UNCHANGED,
        allowed_ips: object = UNCHANGED,
    ) -> KeyLimitsUpdate:
        """The change a caller asks for (`monthly_spend_limit` in USD); InvalidInput naming
        the first bad limit, in this order."""
        return cls(
            _keep(expires_at, _expiry),
            _keep(monthly_spend_limit, _spend),
            _keep(rpm_limit, lambda value: _per_minute("rpm_limit", value)),
            _keep(tpm_limit, lambda value: _per_minute("tpm_limit", value)),
            _keep(allowed_ips, _networks),
        )

    @property
    def empty(self) -> bool:
        """Whether it changes nothing."""
        return self == NO_CHANGE

    def applied_to(self, limits: KeyLimits) -> KeyLimits:
        """`limits` with this update's changes."""
        return KeyLimits(
            _pick(self.expires_at, limits.expires_at),
            _pick(self.monthly_spend_picousd, limits.monthly_spend_picousd),
            _pick(self.rpm_limit, limits.rpm_limit),
            _pick(self.tpm_limit, limits.tpm_limit),
            _pick(self.allowed_ips, limits.allowed_ips),
        )


NO_CHANGE: Final = KeyLimitsUpdate()


def _keep(value: object, check: Callable[[object], T]) -> T | Unchanged:
    return UNCHANGED if value is UNCHANGED else check(value)


def _pick(change: T | Unchanged, current: T) -> T:
    return current if isinstance(change, Unchanged) else change


def _expiry(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput("expires_at must be a date-time with a time zone", field="expires_at")
    if value <= utcnow():
        raise InvalidInput("expires_at must be in the future", field="expires_at")
    return value


def _spend(value: object) -> int | None:
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


def _per_minute(name: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PER_MINUTE:
        raise InvalidInput(f"{name} must be a whole number from 1 to {MAX_PER_MINUTE}", field=name)
    return value


def _networks(value: object) -> Networks | None:
    if value is None:
        return None
    if not isinstance(value, list | tuple) or not value:
        raise InvalidInput(
            "allowed_ips must be a non-empty list of IP addresses and CIDR ranges, "
            "or null for any address",
            field="allowed_ips",
        )
    try:
        return parse_networks(value, what="allowed_ips")
    except ValueError as exc:
        raise InvalidInput(str(exc), field="allowed_ips") from None


def stored_networks(value: list[str] | None) -> Networks | None:
    """A key's `allowed_ips` column as networks (it holds only what `_networks` accepted)."""
    return None if value is None else parse_networks(value, what="allowed_ips")


def parse_top_up(value: object) -> int:
    """A credit top-up (`amount_usd`, text or number) as picodollars; InvalidInput naming
    `amount_usd` unless it is more than 0, at most MAX_TOP_UP_USD, with at most 6 decimals."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise InvalidInput("amount_usd must be an amount in USD, e.g. 10.50", field="amount_usd")
    if isinstance(value, str) and not re.fullmatch(AMOUNT_PATTERN, value):
        raise InvalidInput(
            "amount_usd must be a positive amount in USD, e.g. 10.50", field="amount_usd"
        )
    try:
        amount = parse_usd(value, at_most=MAX_TOP_UP_USD)
    except ValueError as exc:
        reason = str(exc)
        if "decimal" in reason:
            reason = f"must have at most {TOP_UP_DECIMALS} decimal places"
        raise InvalidInput(f"amount_usd {reason}", field="amount_usd") from None
    if amount % 10 ** (12 - TOP_UP_DECIMALS):  # `parse_usd` allows 12
        raise InvalidInput(
            f"amount_usd must have at most {TOP_UP_DECIMALS} decimal places", field="amount_usd"
        )
    if amount == 0:
        raise InvalidInput("amount_usd must be more than 0", field="amount_usd")
    return amount
