"""`GET /metrics`: this replica's metrics in Prometheus' text format.

Open unless `MODELPORT_METRICS_TOKEN` is set; then it needs `Authorization: Bearer <that>`.
The numbers hold no secret, digest or key id, but they do show traffic and model names, so
keep the endpoint off the public side of the load balancer (docs/deploy.md).
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from modelport import metrics
from modelport.api.context import bearer_token
from modelport.components import Components
from modelport.errors import Unauthenticated
from modelport.hub.deps import ComponentsDep

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def scrape(request: Request, hub: ComponentsDep) -> PlainTextResponse:
    """Raises Unauthenticated (401) when a metrics token is set and not presented."""
    expected = hub.settings.metrics_token
    if expected is not None:
        given = bearer_token(request.scope) or ""
        if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
            raise Unauthenticated("/metrics needs 'Authorization: Bearer <metrics token>'.")
    text = metrics.REGISTRY.render([*metrics.process_metrics(), *_state(hub)])
    return PlainTextResponse(text, media_type=metrics.CONTENT_TYPE)


def _state(hub: Components) -> list[metrics.Gauge]:
    """What the hub's parts know right now, read at scrape time (nothing on the hot path)."""
    ledger = hub.ledger
    return [
        metrics.gauge(
            "modelport_revocation_ledger_shared",
            "1 while revocations reach other replicas through Redis (as of the last call to "
            "it); 0 when only this process hears of them (single node, or Redis unreachable: "
            "keys are then checked in the database).",
            int(ledger.shared),
            backend="redis" if hub.redis is not None else "memory",
        ),
        metrics.gauge(
            "modelport_revocation_ledger_epoch",
            "Times this replica forgot every cached key (Redis lost or came back).",
            ledger.epoch,
        ),
        metrics.gauge(
            "modelport_key_cache_entries", "Verified keys cached now.", hub.verifier.cached
        ),
        metrics.gauge(
            "modelport_usage_backlog_rows",
            "Usage rows waiting to be written (they grow while the database is away).",
            hub.recorder.backlog,
        ),
    ]
