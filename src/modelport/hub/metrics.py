"""`GET /metrics`: this replica's metrics in Prometheus' text format.

Open unless `MODELPORT_METRICS_TOKEN` is set; then it needs `Authorization: Bearer <that>`.
The numbers hold no secret, digest or key id, but they do show traffic and model names, so
keep the endpoint off the public side of the load balancer (docs/deploy.md).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from modelport import metrics
from modelport.api.context import bearer_token
from modelport.components import Components
from modelport.errors import Unauthenticated
from modelport.hub.deps import ComponentsDep
from modelport.infra.ratelimit import RedisRateLimiter

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def scrape(request: Request, hub: ComponentsDep) -> Response:
    """Raises Unauthenticated (401) when a metrics token is set and not presented."""
    expected = hub.settings.metrics_token
    if expected is not None:
        given = bearer_token(request.scope) or ""
        if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
            raise Unauthenticated("/metrics needs 'Authorization: Bearer <metrics token>'.")
    return Response(generate_latest(Scrape(hub)), media_type=metrics.CONTENT_TYPE)


class Scrape:
    """What one scrape shows: the process's metrics, then the hub's state read now."""

    def __init__(self, hub: Components) -> None:
        self._hub = hub

    def collect(self) -> Iterable[Metric]:
        yield from metrics.REGISTRY.collect()
        yield from hub_state(self._hub)


def hub_state(hub: Components) -> list[Metric]:
    """What the hub's parts know right now, read at scrape time (nothing on the hot path)."""
    ledger = hub.ledger
    shared = GaugeMetricFamily(
        "modelport_revocation_ledger_shared",
        "1 while revocations reach other replicas through Redis (as of the last call to it); "
        "0 when only this process hears of them (single node, or Redis unreachable: keys are "
        "then checked in the database).",
        labels=("backend",),
    )
    # A holding lease is Redis answering too; with one, the ledger itself is rarely asked.
    shared_now = ledger.shared or hub.lease.holds
    shared.add_metric(("redis" if hub.redis is not None else "memory",), int(shared_now))
    return [
        shared,
        GaugeMetricFamily(
            "modelport_redis_fallback",
            "1 while Redis is configured but unreachable (as of the last call to it), and this "
            "replica runs on its fallbacks: its own rate counters, keys checked in the database.",
            value=int(on_fallback(hub)),
        ),
        GaugeMetricFamily(
            "modelport_revocation_ledger_epoch",
            "Times this replica forgot every cached key (Redis lost or came back).",
            value=ledger.epoch,
        ),
        GaugeMetricFamily(
            "modelport_key_cache_lease",
            "1 while this replica's cache lease holds: cached keys are trusted with no Redis "
            "round trip. 0 without Redis, or while the lease lapsed or a peer is silent (keys "
            "are then checked in the ledger or the database).",
            value=int(hub.lease.holds),
        ),
        GaugeMetricFamily(
            "modelport_key_cache_entries", "Verified keys cached now.", value=hub.verifier.cached
        ),
        GaugeMetricFamily(
            "modelport_usage_backlog_rows",
            "Usage rows waiting to be written (they grow while the database is away).",
            value=hub.recorder.backlog,
        ),
        GaugeMetricFamily(
            "modelport_upstream_connections_idle",
            "Pooled upstream connections waiting for a request now.",
            value=hub.upstream.idle(),
        ),
        _in_use(hub),
    ]


def _in_use(hub: Components) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(
        "modelport_upstream_connections_in_use",
        "Upstream connections in use now, by origin (scheme://host:port); at most "
        "MODELPORT_UPSTREAM_MAX_CONNECTIONS each, or a deployment's own limit.",
        labels=["origin"],
    )
    for origin, count in hub.upstream.in_use().items():
        gauge.add_metric([origin], count)
    return gauge


def on_fallback(hub: Components) -> bool:
    """Whether Redis is configured and the last call the revocation ledger or the rate limiter
    made to it failed. The ledger counts once it has been asked at all (epoch 0: not yet),
    and not while the cache lease holds (Redis answered it within the last lease)."""
    if hub.redis is None:
        return False
    ledger_lost = hub.ledger.epoch > 0 and not hub.ledger.shared and not hub.lease.holds
    limiter = hub.rate_limiter
    return ledger_lost or (isinstance(limiter, RedisRateLimiter) and limiter.on_fallback)
