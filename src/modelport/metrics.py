"""Prometheus metrics: every metric modelport exports is defined here, and rendered here.

Metrics are process-wide, like loggers: each module that has something to count imports the
metric it needs and calls `inc` or `observe`. Each replica exports its own numbers (scrape
every replica, not the load balancer). All updates happen on the event loop's thread, so a
counter is a plain dict increment: no locks, well under a microsecond per update.

Labels are drawn from small fixed sets only: API family, route template (never a raw path),
status code, catalog model id, and short reason words. Never a secret, a digest or a key id.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import TypeVar

from modelport import __version__

LabelValues = tuple[object, ...]
Sample = tuple[str, Sequence[tuple[str, object]], object]
"""(name suffix, labels, value) for one exposition line."""

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MODEL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class Counter:
    """A monotonically increasing count per label values. `scale` renders 10**scale units."""

    kind = "counter"

    def __init__(self, name: str, help: str, labels: Sequence[str], scale: int = 0) -> None:
        self.name, self.help, self.labels, self._scale = name, help, tuple(labels), scale
        self._values: dict[LabelValues, int | float] = {} if labels else {(): 0}

    def inc(self, *values: object, amount: int | float = 1) -> None:
        self._values[values] = self._values.get(values, 0) + amount

    def value(self, *values: object) -> int | float:
        return self._values.get(values, 0)

    def samples(self) -> Iterable[Sample]:
        for values, count in list(self._values.items()):
            shown = Decimal(count).scaleb(self._scale) if self._scale else count
            yield "", tuple(zip(self.labels, values, strict=True)), shown


class Histogram:
    """Observations per label values, counted in cumulative `le` buckets (seconds)."""

    kind = "histogram"

    def __init__(
        self, name: str, help: str, labels: Sequence[str], buckets: Sequence[float]
    ) -> None:
        self.name, self.help, self.labels = name, help, tuple(labels)
        self._bounds = tuple(buckets)
        self._series: dict[LabelValues, list[float]] = {}
        """Per label values: one count per bucket, +Inf's, then the sum."""

    def observe(self, value: float, *values: object) -> None:
        series = self._series.get(values)
        if series is None:
            series = self._series[values] = [0] * (len(self._bounds) + 2)
        series[bisect_left(self._bounds, value)] += 1
        series[-1] += value

    def count(self, *values: object) -> int:
        series = self._series.get(values)
        return 0 if series is None else int(sum(series[:-1]))

    def samples(self) -> Iterable[Sample]:
        for values, series in list(self._series.items()):
            labels = tuple(zip(self.labels, values, strict=True))
            running = 0
            for bound, count in zip((*self._bounds, "+Inf"), series[:-1], strict=True):
                running += int(count)
                yield "_bucket", (*labels, ("le", bound)), running
            yield "_count", labels, running
            yield "_sum", labels, series[-1]


class Gauge:
    """A value read when scraped, by a callback per label values."""

    kind = "gauge"

    def __init__(self, name: str, help: str, read: Callable[[], Iterable[Sample]]) -> None:
        self.name, self.help, self._read = name, help, read

    def samples(self) -> Iterable[Sample]:
        return self._read()


Metric = Counter | Histogram | Gauge
_M = TypeVar("_M", Counter, Histogram, Gauge)


class Registry:
    """The metrics of this process, rendered in Prometheus' text format (0.0.4)."""

    def __init__(self) -> None:
        self._metrics: dict[str, Metric] = {}

    def counter(self, name: str, help: str, labels: Sequence[str] = (), scale: int = 0) -> Counter:
        return self._add(Counter(name, help, labels, scale))

    def histogram(
        self, name: str, help: str, labels: Sequence[str], buckets: Sequence[float]
    ) -> Histogram:
        return self._add(Histogram(name, help, labels, buckets))

    def _add(self, metric: _M) -> _M:
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} is defined twice")
        self._metrics[metric.name] = metric
        return metric

    def render(self, extra: Iterable[Metric] = ()) -> str:
        """Every metric (and the scrape-time `extra` ones) as exposition text."""
        lines: list[str] = []
        for metric in (*self._metrics.values(), *extra):
            lines.append(f"# HELP {metric.name} {_escape_help(metric.help)}")
            lines.append(f"# TYPE {metric.name} {metric.kind}")
            for suffix, labels, value in metric.samples():
                lines.append(f"{metric.name}{suffix}{_labels(labels)} {_number(value)}")
        return "\n".join(lines) + "\n"


def gauge(name: str, help: str, value: float | int, **labels: object) -> Gauge:
    """A gauge with one value known now (for scrape-time state)."""
    return Gauge(name, help, lambda: [("", tuple(labels.items()), value)])


def process_metrics() -> list[Gauge]:
    """Standard process metrics: CPU seconds, resident memory, start time, build."""
    return [
        gauge("process_cpu_seconds_total", "CPU time used by this process.", time.process_time()),
        gauge("process_resident_memory_bytes", "Resident memory size.", _resident_bytes()),
        gauge("process_start_time_seconds", "Start time (Unix seconds).", _STARTED),
        gauge("modelport_build_info", "The running version.", 1, version=__version__),
    ]


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _labels(pairs: Sequence[tuple[str, object]]) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{name}="{_escape(value)}"' for name, value in pairs) + "}"


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, bool):
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


_STARTED = time.time()

REGISTRY = Registry()

HTTP_REQUESTS = REGISTRY.counter(
    "modelport_http_requests_total",
    "HTTP requests answered, by API family (v1, v2, panel, ops), route template and status.",
    ("family", "route", "status"),
)
HTTP_DURATION = REGISTRY.histogram(
    "modelport_http_request_duration_seconds",
    "Time from request to the end of the response (streams included), by family and route.",
    ("family", "route"),
    HTTP_BUCKETS,
)
KEY_VERIFICATIONS = REGISTRY.counter(
    "modelport_key_verifications_total",
    "Model access keys accepted, by where the answer came from (cache or database).",
    ("source",),
)
REFUSAL_REASONS = (
    "missing",
    "invalid",
    "revoked_or_unknown",
    "expired",
    "rate_limited",
    "spend_limited",
)
KEY_REFUSALS = REGISTRY.counter(
    "modelport_key_refusals_total",
    "/v1 requests refused for their key: missing, invalid, revoked_or_unknown, expired, "
    "rate_limited, spend_limited.",
    ("reason",),
)
UPSTREAM_ERRORS = REGISTRY.counter(
    "modelport_upstream_errors_total",
    "Upstream failures by model, deployment and kind (timeout, busy, connection, "
    "stream_broken, http_<status>); failed attempts another deployment then served included.",
    ("model", "deployment", "kind"),
)
UPSTREAM_CONNECTION_WAITS = REGISTRY.counter(
    "modelport_upstream_connection_waits_total",
    "Upstream requests that waited for a connection, all those allowed to the origin being in "
    "use, by origin (scheme://host:port).",
    ("origin",),
)
UPSTREAM_CONNECTION_REFUSALS = REGISTRY.counter(
    "modelport_upstream_connection_refusals_total",
    "Upstream requests refused (503) after waiting the connect timeout for a connection, by "
    "origin (scheme://host:port).",
    ("origin",),
)
MODEL_DURATION = REGISTRY.histogram(
    "modelport_model_request_duration_seconds",
    "Duration of /v1 requests that reached an upstream, by model and outcome, as recorded.",
    ("model", "status"),
    MODEL_BUCKETS,
)
TOKENS = REGISTRY.counter(
    "modelport_tokens_total",
    "Tokens recorded in usage rows, by model and kind (prompt, completion).",
    ("model", "kind"),
)
COST = REGISTRY.counter(
    "modelport_cost_usd_total",
    "Cost recorded in usage rows, in USD at catalog prices (exact decimal), by model.",
    ("model",),
    scale=-12,  # counted in picodollars
)
USAGE_ROWS = REGISTRY.counter(
    "modelport_usage_rows_written_total",
    "Usage rows committed to the database, by request outcome.",
    ("status",),
)
USAGE_WRITE_FAILURES = REGISTRY.counter(
    "modelport_usage_write_failures_total",
    "Usage batch writes that failed (the rows are kept and retried).",
)
for _reason in REFUSAL_REASONS:  # shown at 0 from the start, so that rate() works at once
    KEY_REFUSALS.inc(_reason, amount=0)
for _source in ("cache", "database"):
    KEY_VERIFICATIONS.inc(_source, amount=0)
