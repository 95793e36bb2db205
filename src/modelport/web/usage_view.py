"""The Usage page's figures: one read of the team's usage per day, shaped three ways (the
chart, the table and the CSV), so that all three always agree."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from modelport.core.money import usd
from modelport.db.tables import ModelKey
from modelport.errors import InvalidInput
from modelport.usage.service import Bucket, Series
from modelport.web.chart import Chart, stacked

MAX_DAYS = 366
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Row:
    """Sums for one key or model (or the total) over the period."""

    series: str
    requests: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0
    cache_write_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    cost: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def plus(self, bucket: Bucket) -> Row:
        return Row(
            self.series,
            self.requests + bucket.requests,
            self.prompt_tokens + bucket.prompt_tokens,
            self.cached_prompt_tokens + bucket.cached_prompt_tokens,
            self.cache_write_tokens + bucket.cache_write_tokens,
            self.completion_tokens + bucket.completion_tokens,
            self.reasoning_tokens + bucket.reasoning_tokens,
            self.cost + bucket.cost_picousd,
        )


@dataclass(frozen=True, slots=True)
class UsageView:
    start: datetime
    end: datetime
    by: Series
    cells: list[tuple[date, str, Bucket]]
    rows: list[Row]
    totals: Row
    chart: Chart

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        """The period's last day, inclusive."""
        return (self.end - timedelta(microseconds=1)).date()


def key_label(key: ModelKey) -> str:
    """A key as the chart names it: names repeat, so the hint tells them apart."""
    deleted = ", deleted" if key.deleted_at is not None else ""
    return f"{key.name} (…{key.hint}{deleted})"


def build(
    start: datetime,
    end: datetime,
    by: Series,
    daily: Iterable[tuple[str, Bucket]],
    names: dict[str, str],
) -> UsageView:
    """The view of `daily` (the usage service's sums per day and key or model).
    InvalidInput if the period is longer than `MAX_DAYS`."""
    days = _days(start, end)
    cells = [(date.fromisoformat(day), names.get(b.label, b.label), b) for day, b in daily]
    rows: dict[str, Row] = {}
    totals = Row("Total")
    for _, series, bucket in cells:
        rows[series] = rows.get(series, Row(series)).plus(bucket)
        totals = totals.plus(bucket)
    costs: dict[tuple[date, str], int] = {}
    for day, series, bucket in cells:
        costs[(day, series)] = costs.get((day, series), 0) + bucket.cost_picousd
    ordered = sorted(rows.values(), key=lambda r: (-r.cost, r.series))
    return UsageView(start, end, by, cells, ordered, totals, stacked(days, costs))


def key_ids(daily: Iterable[tuple[str, Bucket]]) -> set[uuid.UUID]:
    return {uuid.UUID(bucket.label) for _, bucket in daily}


def csv_text(view: UsageView) -> str:
    """One line per day and key (or model), then the total: the same sums as the page. The
    token details come last, so that the columns older files had keep their places."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "date",
            view.by,
            "requests",
            "prompt_tokens",
            "completion_tokens",
            "total_tokens",
            "cost_usd",
            "cached_prompt_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
        ]
    )
    for day, series, bucket in view.cells:
        row = Row(series).plus(bucket)
        writer.writerow([day.isoformat(), _cell(series), *_figures(row)])
    writer.writerow(["total", "", *_figures(view.totals)])
    return out.getvalue()


def _figures(row: Row) -> list[str | int]:
    return [
        row.requests,
        row.prompt_tokens,
        row.completion_tokens,
        row.total_tokens,
        usd(row.cost),
        row.cached_prompt_tokens,
        row.cache_write_tokens,
        row.reasoning_tokens,
    ]


def _cell(text: str) -> str:
    """A name a spreadsheet will show as text, never run as a formula."""
    return "'" + text if text.startswith(CSV_FORMULA_START) else text


def _days(start: datetime, end: datetime) -> list[date]:
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise InvalidInput(f"choose a period of at most {MAX_DAYS} days", field="start")
    return [first + timedelta(days=n) for n in range(count)]
