"""A key's limits in the panel: the list's summary, and the limit fields of the key windows.

The fields are text. They become the service's values here (empty is no limit; times are
UTC, as the panel shows them), and the service judges them: its rules, its messages, only
worded with the panel's labels.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData

from modelport.db.tables import ModelKey
from modelport.errors import InvalidInput
from modelport.keys.limits import LIMIT_FIELDS
from modelport.web.pages import moment, money, number

SUBJECTS = {
    "expires_at": "The expiry",
    "monthly_spend_limit": "The monthly spend limit",
    "rpm_limit": "Requests per minute",
    "tpm_limit": "Tokens per minute",
}
"""How the panel names each limit when the service's message names its field."""
NOT_A_TIME = "The expiry must be a date and time, e.g. 2027-01-31T18:00."
WHOLE = re.compile(r"[0-9]{1,12}")
"""A count the panel turns into a number; anything else goes to the service as typed, to be
refused there (twelve digits: far past the limits' maximum, far short of int()'s)."""


def summary(key: ModelKey, spent: int, now: datetime) -> list[str]:
    """The key's limits, one short line each, for the list; empty when it has none."""
    lines = []
    if key.expires_at is not None:
        verb = "Expired" if key.expires_at <= now else "Expires"
        lines.append(f"{verb} {moment(key.expires_at)}")
    if key.monthly_spend_limit_picousd is not None:
        lines.append(f"{money(spent)} of {money(key.monthly_spend_limit_picousd)} this month")
    if key.rpm_limit is not None:
        lines.append(f"{number(key.rpm_limit)} requests/min")
    if key.tpm_limit is not None:
        lines.append(f"{number(key.tpm_limit)} tokens/min")
    return lines


def shown(key: ModelKey | None) -> dict[str, str]:
    """The limit fields as a window first shows them: the key's limits, or all empty."""
    if key is None:
        return dict.fromkeys(LIMIT_FIELDS, "")
    expiry = key.expires_at
    spend = key.monthly_spend_limit_picousd
    return {
        "expires_at": "" if expiry is None else _input_time(expiry),
        "monthly_spend_limit": "" if spend is None else money(spend).removeprefix("$"),
        "rpm_limit": "" if key.rpm_limit is None else str(key.rpm_limit),
        "tpm_limit": "" if key.tpm_limit is None else str(key.tpm_limit),
    }


def typed(form: FormData) -> dict[str, str]:
    """The limit fields as posted, trimmed; a missing one is empty."""
    values = {name: form.get(name) for name in LIMIT_FIELDS}
    return {name: value.strip() if isinstance(value, str) else "" for name, value in values.items()}


def limits(entered: Mapping[str, str]) -> dict[str, Any]:
    """The service's `limits` for what was typed; empty fields are None (no limit).
    InvalidInput if the expiry is not a date and time at all."""
    return {name: _value(name, entered[name]) for name in LIMIT_FIELDS}


def changed_limits(key: ModelKey, entered: Mapping[str, str]) -> dict[str, Any]:
    """The service's changes: only the fields that differ from what the window showed, so
    that an untouched expiry already past, say, is not judged again. InvalidInput as `limits`."""
    before = shown(key)
    return {
        name: _value(name, entered[name]) for name in LIMIT_FIELDS if entered[name] != before[name]
    }


def in_panel_words(exc: InvalidInput) -> InvalidInput:
    """The service's error, naming the field by its panel label rather than its API name."""
    field = exc.field or ""
    if field in SUBJECTS and exc.message.startswith(field + " "):
        message = SUBJECTS[field] + exc.message.removeprefix(field)
        return InvalidInput(message, field=field, code=exc.code)
    return exc


def _value(name: str, text: str) -> Any:
    if not text:
        return None
    if name == "expires_at":
        return _utc_time(text)
    if name == "monthly_spend_limit":
        return text.removeprefix("$").strip()
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
