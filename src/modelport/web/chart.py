"""A stacked bar chart of cost per day, laid out on the server and drawn as SVG.

Costs stay integer picodollars: floats appear only as pixel positions, never as money.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from modelport.core.money import PICO_PER_USD

# Distinguishable for common colour blindness (Okabe-Ito), and dark enough on white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#6B6B6B")
OTHER_COLOR = "#2B2B2B"
OTHERS = "Other"
WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 84, 12, 12, 36
MAX_DAY_LABELS = 10


@dataclass(frozen=True, slots=True)
class Bar:
    """One series' cost on one day: a segment of that day's stack."""

    x: float
    y: float
    width: float
    height: float
    color: str
    day: date
    series: str
    cost: int


@dataclass(frozen=True, slots=True)
class Mark:
    """A label on an axis at `at` (x for days, y for money)."""

    at: float
    label: str


@dataclass(frozen=True, slots=True)
class Swatch:
    series: str
    color: str
    cost: int


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[Mark]
    days: list[Mark]
    legend: list[Swatch]
    total: int


def stacked(days: Sequence[date], cells: Mapping[tuple[date, str], int]) -> Chart:
    """The chart of `cells` (picodollars per day and series) over `days`.

    The largest series get their own colour; the rest are stacked together as `Other`, so
    each day's stack and the chart's total still hold every cent.
    """
    colors = _colors(cells)
    top = _nice_top(max((_day_total(cells, day) for day in days), default=0))
    slot = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    scale = (HEIGHT - TOP - BOTTOM) / top
    bars: list[Bar] = []
    for index, day in enumerate(days):
        base = float(HEIGHT - BOTTOM)
        for series, cost in _stack(cells, day, colors):
            height = cost * scale
            base -= height
            x = LEFT + index * slot + slot * 0.15
            bars.append(Bar(x, base, slot * 0.7, height, colors[series], day, series, cost))
    legend = [Swatch(s, c, sum(b.cost for b in bars if b.series == s)) for s, c in colors.items()]
    return Chart(
        WIDTH,
        HEIGHT,
        bars,
        _ticks(top, scale),
        _day_marks(days, slot),
        legend,
        sum(cells.values()),
    )


def usd_label(picousd: int) -> str:
    """An axis label: a dollar amount with no trailing zeros."""
    value = (Decimal(picousd) / PICO_PER_USD).normalize()
    return f"${value:f}"


def _day_total(cells: Mapping[tuple[date, str], int], day: date) -> int:
    return sum(cost for (on, _), cost in cells.items() if on == day)


def _colors(cells: Mapping[tuple[date, str], int]) -> dict[str, str]:
    totals: dict[str, int] = {}
    for (_, series), cost in cells.items():
        totals[series] = totals.get(series, 0) + cost
    ranked = sorted(totals, key=lambda s: (-totals[s], s))
    if len(ranked) <= len(PALETTE):
        return dict(zip(ranked, PALETTE, strict=False))
    colors = dict(zip(ranked, PALETTE[:-1], strict=False))
    colors[OTHERS] = OTHER_COLOR
    return colors


def _stack(
    cells: Mapping[tuple[date, str], int], day: date, colors: Mapping[str, str]
) -> list[tuple[str, int]]:
    """That day's segments, bottom first, in legend order; the unnamed series merged."""
    costs: dict[str, int] = {}
    for (on, series), cost in cells.items():
        if on == day and cost > 0:
            name = series if series in colors else OTHERS
            costs[name] = costs.get(name, 0) + cost
    return [(series, costs[series]) for series in colors if series in costs]


def _nice_top(largest: int) -> int:
    """The axis maximum: four steps of 1, 2 or 5 times a power of ten, at or above
    `largest` picodollars (a cent when there is nothing to draw)."""
    if largest <= 0:
        return PICO_PER_USD // 100
    step, factors = 1, itertools.cycle((2, 2.5, 2))
    while step * 4 < largest:
        step = round(step * next(factors))
    return step * 4


def _ticks(top: int, scale: float) -> list[Mark]:
    return [Mark(HEIGHT - BOTTOM - top * i / 4 * scale, usd_label(top * i // 4)) for i in range(5)]


def _day_marks(days: Sequence[date], slot: float) -> list[Mark]:
    every = max(1, -(-len(days) // MAX_DAY_LABELS))
    return [
        Mark(LEFT + index * slot + slot / 2, f"{day:%b} {day.day}")
        for index, day in enumerate(days)
        if index % every == 0
    ]
