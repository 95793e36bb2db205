"""`GET /metrics`: this replica's metrics in Prometheus' text format.

Under `serve --workers N` one scrape shows the whole server: the worker that answers asks
each other worker for its metrics (on a Unix socket in the workers' private folder) and
shows every series with a `worker` label. Per worker, not summed: a replaced worker's
counters start again from zero, which Prometheus reads as the counter reset it is (a sum
would go backwards), and the cost counter stays each worker's exact total. `sum()` them
in queries, as over replicas.

Open unless `MODELPORT_METRICS_TOKEN` is set; then it needs `Authorization: Bearer <that>`.
The numbers hold no secret, digest or key id, but they do show traffic and model names, so
keep the endpoint off the public side of the load balancer (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import os
from collections.abc import Iterable, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families

from modelport import metrics
from modelport.api.context import bearer_token
from modelport.components import Components
from modelport.errors import Unauthenticated
from modelport.hub.deps import ComponentsDep
from modelport.infra.ratelimit import RedisRateLimiter
from modelport.infra.shared_state import WorkerLink

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def scrape(request: Request, hub: ComponentsDep) -> Response:
    """Raises Unauthenticated (401) when a metrics token is set and not presented."""
    expected = hub.settings.metrics_token
    if expected is not None:
        given = bearer_token(request.scope) or ""
        if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
            raise Unauthenticated("/metrics needs 'Authorization: Bearer <metrics token>'.")
    own = generate_latest(Scrape(hub))
    if hub.worker is not None:
        own = await whole_server(hub.worker, own, hub.settings.workers)
    return Response(own, media_type=metrics.CONTENT_TYPE)


PEER_SECONDS = 2.0
"""How long a scrape waits for another worker; one that does not answer is left out."""


async def serve_peers(hub: Components) -> asyncio.Server:
    """Answer the other workers' scrapes with this worker's metrics."""
    assert hub.worker is not None
    path = hub.worker.metrics(hub.worker.index)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # left by the worker this one replaces

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(generate_latest(Scrape(hub)))
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(answer, path=path)
    os.chmod(path, 0o600)
    return server


async def whole_server(link: WorkerLink, own: bytes, workers: int) -> bytes:
    """Every worker's metrics, each series labelled with its worker's number."""
    peers = [index for index in range(workers) if index != link.index]
    answers = await asyncio.gather(*(_peer(link.metrics(index)) for index in peers))
    texts = {link.index: own, **{i: a for i, a in zip(peers, answers, strict=True) if a}}
    return generate_latest(_Labelled(texts))


async def _peer(path: os.PathLike[str]) -> bytes | None:
    try:
        async with asyncio.timeout(PEER_SECONDS):
            reader, writer = await asyncio.open_unix_connection(path)
            try:
                return await reader.read()
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return None  # dead, or being replaced


class _Labelled:
    def __init__(self, texts: Mapping[int, bytes]) -> None:
        self._texts = texts

    def collect(self) -> Iterable[Metric]:
        families: dict[str, Metric] = {}
        for index, text in sorted(self._texts.items()):
            for family in text_string_to_metric_families(text.decode()):
                merged = families.setdefault(
                    family.name, Metric(family.name, family.documentation, family.type, family.unit)
                )
                merged.samples += [
                    sample._replace(labels={**sample.labels, "worker": str(index)})
                    for sample in family.samples
                ]
        return families.values()


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
        "1 while revocations reach other replicas through Redis (as of the last call to it), "
        "or the other workers of this server (backend workers); 0 when only this process "
        "hears of them (single node, or Redis unreachable: keys are then checked in the "
        "database).",
        labels=("backend",),
    )
    backend = "redis" if hub.redis is not None else "workers" if hub.link else "memory"
    # A holding lease is Redis answering too; with one, the ledger itself is rarely asked.
    shared.add_metric((backend,), int(ledger.shared or hub.lease.holds))
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
