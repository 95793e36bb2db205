"""The metrics registry renders Prometheus' text format exactly."""

from __future__ import annotations

import pytest

from modelport.metrics import Registry, gauge


def test_counters_render_per_label_values_with_escaping() -> None:
    registry = Registry()
    counter = registry.counter("x_total", "Things.\nCounted.", ("model", "kind"))
    counter.inc("m1", "a")
    counter.inc("m1", "a", amount=2)
    counter.inc('we"ird\\', "b")
    assert registry.render().splitlines() == [
        "# HELP x_total Things.\\nCounted.",
        "# TYPE x_total counter",
        'x_total{model="m1",kind="a"} 3',
        'x_total{model="we\\"ird\\\\",kind="b"} 1',
    ]


def test_a_counter_without_labels_shows_zero_from_the_start() -> None:
    registry = Registry()
    registry.counter("failures_total", "Failures.")
    assert registry.render().splitlines()[-1] == "failures_total 0"


def test_a_scaled_counter_renders_an_exact_decimal() -> None:
    registry = Registry()
    cost = registry.counter("cost_usd_total", "USD.", ("model",), scale=-12)
    cost.inc("m", amount=1)  # one picodollar
    cost.inc("m", amount=25_000_000_000_000)
    assert registry.render().splitlines()[-1] == 'cost_usd_total{model="m"} 25.000000000001'


def test_histogram_buckets_are_cumulative_and_inclusive() -> None:
    registry = Registry()
    histogram = registry.histogram("d_seconds", "Durations.", ("route",), (0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0):
        histogram.observe(value, "/r")
    lines = registry.render().splitlines()[2:]
    assert lines == [
        'd_seconds_bucket{route="/r",le="0.1"} 2',
        'd_seconds_bucket{route="/r",le="1.0"} 3',
        'd_seconds_bucket{route="/r",le="+Inf"} 4',
        'd_seconds_count{route="/r"} 4',
        'd_seconds_sum{route="/r"} 3.65',
    ]
    assert histogram.count("/r") == 4


def test_scrape_time_gauges_and_duplicate_names() -> None:
    registry = Registry()
    registry.counter("a_total", "A.")
    with pytest.raises(ValueError, match="defined twice"):
        registry.counter("a_total", "A again.")
    text = registry.render([gauge("up", "Up.", 1, backend="redis")])
    assert text.endswith('# TYPE up gauge\nup{backend="redis"} 1\n')
