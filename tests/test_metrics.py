"""The registry's exposition: correct types, and a cost counter that sums exactly."""

from __future__ import annotations

from decimal import Decimal

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from modelport import metrics
from modelport.metrics import ExactCounter


def _exposed(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def test_the_exact_counter_renders_the_exact_decimal_sum() -> None:
    registry = CollectorRegistry()
    cost = ExactCounter("cost_usd", "USD.", ("model",), scale=12)
    registry.register(cost)
    cost.inc("m", amount=1)  # one picodollar
    cost.inc("m", amount=25_000_000_000_000)
    lines = _exposed(registry).splitlines()
    assert lines[1] == "# TYPE cost_usd_total counter"
    assert lines[2] == 'cost_usd_total{model="m"} 25.000000000001'


def test_many_small_costs_add_up_exactly_where_floats_drift() -> None:
    """A million requests at $0.0000001 each: $0.1 exactly; a float counter is off."""
    registry = CollectorRegistry()
    cost = ExactCounter("cost_usd", "USD.", ("model",), scale=12)
    registry.register(cost)
    drifting = 0.0
    for _ in range(1_000_000):
        cost.inc("m", amount=100_000)
        drifting += 1e-7
    assert drifting != 0.1
    (family,) = text_string_to_metric_families(_exposed(registry))
    (sample,) = family.samples
    assert Decimal(repr(sample.value)) == Decimal("0.1")


def test_the_process_registry_has_no_gauge_named_total_and_counts_cpu_as_a_counter() -> None:
    families = {f.name: f for f in text_string_to_metric_families(_exposed(metrics.REGISTRY))}
    assert families["process_cpu_seconds"].type == "counter"
    assert families["modelport_cost_usd"].type == "counter"
    assert families["modelport_build_info"].type == "gauge"
    for family in families.values():
        if family.type == "gauge":
            assert not any(s.name.endswith("_total") for s in family.samples), family.name
    refusals = {s.labels["reason"] for s in families["modelport_key_refusals"].samples}
    assert refusals == set(metrics.REFUSAL_REASONS)  # at 0 from the start
