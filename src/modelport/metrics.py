"""Prometheus metrics: every metric modelport exports is defined here, on `REGISTRY`.

Metrics are process-wide, like loggers: each module that has something to count imports the
metric it needs and updates it. They are prometheus_client's, on a registry of our own (not
the library's global one, so nothing another library registers leaks into /metrics, and a
test can scrape a registry it made). Each replica exports its own numbers (scrape every
replica, not the load balancer). An update is about a microsecond (prometheus_client locks
per series); the hub's state (Redis, caches, connections) is read at scrape time instead,
by `hub/metrics.py`'s collector, so it costs nothing per request.

Labels are drawn from small fixed sets only: API family, route template (never a raw path),
HTTP method (known ones, else "other"), status code, catalog model id, and short reason
words. Never a secret, a digest or a key id.

Defining and updating a metric (the home-made registry this replaced had its own calls;
code written against it converts one for one):

    X = REGISTRY.counter("a_total", "Help.", ("l1", "l2"))
        -> X = Counter("a_total", "Help.", ("l1", "l2"), registry=REGISTRY)
    X = REGISTRY.histogram("d_seconds", "Help.", ("l1",), BUCKETS)
        -> X = Histogram("d_seconds", "Help.", ("l1",), buckets=BUCKETS, registry=REGISTRY)
    X.inc(v1, v2)                  -> X.labels(v1, v2).inc()
    X.inc(v1, v2, amount=n)        -> X.labels(v1, v2).inc(n)
    X.observe(seconds, v1)         -> X.labels(v1).observe(seconds)
    X.inc() (no labels)            -> X.inc()
    metrics.gauge(...) at scrape   -> a GaugeMetricFamily yielded by hub/metrics.py's HubState
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.metrics import MetricWrapperBase

from modelport import __version__

# A `<name>_created` series per counter and histogram would double what every scrape holds,
# for a start time the process's own `process_start_time_seconds` already gives.
disable_created_metrics()  # type: ignore[no-untyped-call]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MODEL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
FIRST_TOKEN_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
TOKEN_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
"""HTTP methods counted by name; any other is counted as "other" (a client picks the method,
and a label must not take values without bound)."""


class ExactCounter:
    """A counter of integer units, per label values, rendered as `value / 10**scale`.

    For money: `modelport_cost_usd_total` counts picodollars as Python integers, so the
    total is exact however many requests add to it (a float counter would drift, since
    prices like $0.15 per million tokens have no exact binary form, and add rounding on
    every request). At scrape time the integer is divided once, correctly rounded to the
    nearest float (Prometheus holds float64 values anyway): the text shows the exact decimal
    while the total has up to 15 significant digits ($999.999999999999), and the nearest
    float beyond that, never an error that grows with the number of requests.
    """

    def __init__(self, name: str, help: str, labels: tuple[str, ...], scale: int) -> None:
        self.name, self.help, self.labels, self._unit = name, help, labels, 10**scale
        self._totals: dict[tuple[str, ...], int] = {}

    def inc(self, *values: str, amount: int) -> None:
        self._totals[values] = self._totals.get(values, 0) + amount

    def describe(self) -> Iterable[Metric]:
        return [CounterMetricFamily(self.name, self.help, labels=self.labels)]

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(self.name, self.help, labels=self.labels)
        for values, total in list(self._totals.items()):
            family.add_metric(values, total / self._unit)  # int / int: correctly rounded
        return [family]


REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)  # process_cpu_seconds_total (a counter), memory, fds, start
Info("modelport_build", "The running version.", registry=REGISTRY).info({"version": __version__})

HTTP_REQUESTS = Counter(
    "modelport_http_requests_total",
    "HTTP requests answered, by API family (v1, v2, panel, ops), route template, method and "
    "status.",
    ("family", "route", "method", "status"),
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "modelport_http_request_duration_seconds",
    "Time from request to the end of the response (streams included), by family, route and method.",
    ("family", "route", "method"),
    buckets=HTTP_BUCKETS,
    registry=REGISTRY,
)
IN_FLIGHT = Gauge(
    "modelport_http_requests_in_flight",
    "HTTP requests being served now (streams until their last byte), by API family.",
    ("family",),
    registry=REGISTRY,
)
FAMILIES = ("v1", "v2", "panel", "ops")
IN_FLIGHT_OF = {family: IN_FLIGHT.labels(family) for family in FAMILIES}
"""Each family's series, looked up once (`labels()` takes a lock and builds a key each call)."""
_HTTP_SERIES: dict[tuple[str, str, str, int], tuple[Counter, Histogram]] = {}


def count_request(family: str, route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered HTTP request. Its two series are looked up once and kept: on the
    /v1 path, `labels()` on every request cost about 2 µs more than a dict lookup."""
    key = (family, route, method, status)
    series = _HTTP_SERIES.get(key)
    if series is None:
        series = _HTTP_SERIES[key] = (
            HTTP_REQUESTS.labels(family, route, method, status),
            HTTP_DURATION.labels(family, route, method),
        )
    series[0].inc()
    series[1].observe(seconds)


M = TypeVar("M", bound=MetricWrapperBase)
_SERIES: dict[tuple[MetricWrapperBase, tuple[str, ...]], MetricWrapperBase] = {}


def series(metric: M, *values: str) -> M:
    """`metric.labels(*values)`, looked up once and kept: `labels()` takes a lock and builds
    its key on every call (about 2 us). Label values come from small fixed sets (see the
    module's docstring), so what is kept stays small."""
    key = (metric, values)
    found = _SERIES.get(key)
    if found is None:
        found = _SERIES[key] = metric.labels(*values)
    return found  # type: ignore[return-value]  # the child of an M is an M


KEY_VERIFICATIONS = Counter(
    "modelport_key_verifications_total",
    "Model access keys accepted, by where the answer came from (cache or database).",
    ("source",),
    registry=REGISTRY,
)
REFUSAL_REASONS = (
    "missing",
    "invalid",
    "revoked_or_unknown",
    "expired",
    "rate_limited",
    "spend_limited",
    "address_not_allowed",
    "out_of_credit",
)
KEY_REFUSALS = Counter(
    "modelport_key_refusals_total",
    "/v1 requests refused for their key: missing, invalid, revoked_or_unknown, expired, "
    "rate_limited, spend_limited, address_not_allowed, out_of_credit.",
    ("reason",),
    registry=REGISTRY,
)
UPSTREAM_ERRORS = Counter(
    "modelport_upstream_errors_total",
    "Upstream failures by model, deployment and kind (timeout, busy, connection, "
    "stream_broken, http_<status>); failed attempts another deployment then served included.",
    ("model", "deployment", "kind"),
    registry=REGISTRY,
)
UPSTREAM_CONNECTION_WAITS = Counter(
    "modelport_upstream_connection_waits_total",
    "Upstream requests that waited for a connection, all those allowed to the origin being in "
    "use, by origin (scheme://host:port).",
    ("origin",),
    registry=REGISTRY,
)
UPSTREAM_CONNECTION_REFUSALS = Counter(
    "modelport_upstream_connection_refusals_total",
    "Upstream requests refused (503) after waiting the connect timeout for a connection, by "
    "origin (scheme://host:port).",
    ("origin",),
    registry=REGISTRY,
)
MODEL_DURATION = Histogram(
    "modelport_model_request_duration_seconds",
    "Duration of /v1 requests that reached an upstream, by model and outcome, as recorded.",
    ("model", "status"),
    buckets=MODEL_BUCKETS,
    registry=REGISTRY,
)
TIME_TO_FIRST_TOKEN = Histogram(
    "modelport_time_to_first_token_seconds",
    "Streams: time from the start of the call (key checked, body read) to the first piece of "
    "the answer sent on, by model.",
    ("model",),
    buckets=FIRST_TOKEN_BUCKETS,
    registry=REGISTRY,
)
TIME_PER_OUTPUT_TOKEN = Histogram(
    "modelport_time_per_output_token_seconds",
    "Streams that ended whole: (end - first piece) / (completion tokens - 1), by model.",
    ("model",),
    buckets=TOKEN_BUCKETS,
    registry=REGISTRY,
)
TOKENS = Counter(
    "modelport_tokens_total",
    "Tokens recorded in usage rows, by model and kind (prompt, completion).",
    ("model", "kind"),
    registry=REGISTRY,
)
COST = ExactCounter(
    "modelport_cost_usd",
    "Cost recorded in usage rows, in USD at catalog prices (summed exactly), by model.",
    ("model",),
    scale=12,  # counted in picodollars
)
REGISTRY.register(COST)
USAGE_ROWS = Counter(
    "modelport_usage_rows_written_total",
    "Usage rows committed to the database, by request outcome.",
    ("status",),
    registry=REGISTRY,
)
USAGE_WRITE_FAILURES = Counter(
    "modelport_usage_write_failures_total",
    "Usage batch writes that failed (the rows are kept and retried).",
    registry=REGISTRY,
)
for _reason in REFUSAL_REASONS:  # shown at 0 from the start, so that rate() works at once
    KEY_REFUSALS.labels(_reason)
for _source in ("cache", "database"):
    KEY_VERIFICATIONS.labels(_source)
