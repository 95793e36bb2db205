"""The period a usage report covers: this month so far unless the caller says otherwise."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from modelport.core.clock import utcnow
from modelport.errors import InvalidInput


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the calendar month (UTC) holding `now`: what a spend limit counts."""
    start = month_start(now)
    return start, (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def parse_period(start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """[start, end) in UTC; InvalidInput naming the bad parameter.

    A date means the whole day: `start=2026-11-01&end=2026-11-30` covers both days.
    A date-time is taken as given (UTC unless it says otherwise).
    """
    now = utcnow()
    begin = month_start(now) if start is None else _moment(start, "start", end_of_day=False)
    finish = now if end is None else _moment(end, "end", end_of_day=True)
    if finish <= begin:
        raise InvalidInput("end must be after start", field="end")
    return begin, finish


def _moment(text: str, name: str, *, end_of_day: bool) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end_of_day else moment
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except ValueError:
        raise InvalidInput(
            f"{name} must be a date (2026-11-01) or a date-time (2026-11-01T09:00:00Z)",
            field=name,
        ) from None
    except OverflowError:  # the day after 9999-12-31, or year 1 moved across midnight UTC
        raise InvalidInput(f"{name} is out of range", field=name) from None
