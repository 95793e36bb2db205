"""A key's limits in the panel: the list's summary, and the limit fields of the key windows.

The fields are text (`LimitTexts`). They become values here (empty is no limit; times are
UTC, as the panel shows them), and `KeyLimitsUpdate.given` judges them: the keys' rules and
messages, only worded with the panel's labels.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.datastructures import FormData

from modelport.db.tables import ModelKey
from modelport.errors import InvalidInput
from modelport.keys.limits import UNCHANGED, KeyLimits, KeyLimitsUpdate
from modelport.web.pages import moment, money, number

SUBJECTS = {
    "expires_at": "The expiry",
    "monthly_spend_limit": "The monthly spend limit",
    "rpm_limit": "Requests per minute",
    "tpm_limit": "Tokens per minute",
    "allowed_ips": "Allowed addresses",
}
"""How the panel names each limit when the service's message names its field."""
NOT_A_TIME = "The expiry must be a date and time, e.g. 2027-01-31T18:00."
WHOLE = re.compile(r"[0-9]{1,12}")
"""A count the panel turns into a number; anything else goes to the service as typed, to be
refused there (twelve digits: far past the limits' maximum, far short of int()'s)."""


@dataclass(frozen=True, slots=True)
class LimitTexts:
    """The limit fields' text, as a window shows them or as they were posted."""

    expires_at: str = ""
    monthly_spend_limit: str = ""
    rpm_limit: str = ""
    tpm_limit: str = ""
    allowed_ips: str = ""
    """Addresses and CIDR ranges, separated by commas or spaces."""


def summary(key: ModelKey, spent: int, now: datetime) -> list[str]:
    """The key's limits, one short line each, for the list; empty when it has none."""
    lines = []
    if key.expires_at is not None:
        verb = "Expired" if key.expires_at <= now else "Expires"
        lines.append(f"{verb} {moment(key.expires_at)}")
    if key.monthly_spend_limit_picousd is not None:
        lines.append(f"{money(spent)} of {money(key.monthly_spend_limit_picousd)} this month")
    if key.credit_picousd is not None:
        lines.append(f"{money(key.credit_picousd)} prepaid credit")
    if key.rpm_limit is not None:
        lines.append(f"{number(key.rpm_limit)} requests/min")
    if key.tpm_limit is not None:
        lines.append(f"{number(key.tpm_limit)} tokens/min")
    if key.allowed_ips is not None:
        lines.append("From " + ", ".join(key.allowed_ips))
    return lines


def shown(key: ModelKey | None) -> LimitTexts:
    """The limit fields as a window first shows them: the key's limits, or all empty."""
    if key is None:
        return LimitTexts()
    limits = KeyLimits.of(key)
    expiry, spend = limits.expires_at, limits.monthly_spend_picousd
    return LimitTexts(
        "" if expiry is None else _input_time(expiry),
        "" if spend is None else money(spend).removeprefix("$"),
        "" if limits.rpm_limit is None else str(limits.rpm_limit),
        "" if limits.tpm_limit is None else str(limits.tpm_limit),
        "" if key.allowed_ips is None else ", ".join(key.allowed_ips),
    )


def typed(form: FormData) -> LimitTexts:
    """The limit fields as posted, trimmed; a missing one is empty."""

    def posted(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    return LimitTexts(
        posted("expires_at"),
        posted("monthly_spend_limit"),
        posted("rpm_limit"),
        posted("tpm_limit"),
        posted("allowed_ips"),
    )


def changed_limits(key: ModelKey | None, entered: LimitTexts) -> KeyLimitsUpdate:
    """The limits whose fields differ from what the window showed (`shown(key)`), so that an
    untouched expiry already past, say, is not judged again; an emptied field is None (no
    limit). InvalidInput if the expiry is not a date and time at all, or a limit is wrong."""
    was = shown(key)

    def read(text: str, before: str, value: Callable[[str], object]) -> object:
        return UNCHANGED if text == before else value(text) if text else None

    return KeyLimitsUpdate.given(
        expires_at=read(entered.expires_at, was.expires_at, _utc_time),
        monthly_spend_limit=read(entered.monthly_spend_limit, was.monthly_spend_limit, _amount),
        rpm_limit=read(entered.rpm_limit, was.rpm_limit, _count),
        tpm_limit=read(entered.tpm_limit, was.tpm_limit, _count),
        allowed_ips=read(entered.allowed_ips, was.allowed_ips, _addresses),
    )


def in_panel_words(exc: InvalidInput) -> InvalidInput:
    """The service's error, naming the field by its panel label rather than its API name."""
    field = exc.field or ""
    if field in SUBJECTS and exc.message.startswith((field + " ", field + ":")):
        message = SUBJECTS[field] + exc.message.removeprefix(field)
        return InvalidInput(message, field=field, code=exc.code)
    return exc


def _amount(text: str) -> str:
    return text.removeprefix("$").strip()


def _addresses(text: str) -> list[str]:
    return text.replace(",", " ").split()


def _count(text: str) -> int | str:
    return int(text) if WHOLE.fullmatch(text) else text


def _utc_time(text: str) -> datetime:
    """A date-time input's value (`2027-01-31T18:00`), read as UTC unless it names its zone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(NOT_A_TIME, field="expires_at") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _input_time(value: datetime) -> str:
    """A time as a date-time input's value, in UTC: to the minute, or the second if it has one."""
    utc = value.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M}" if utc.second == 0 else f"{utc:%Y-%m-%dT%H:%M:%S}"
