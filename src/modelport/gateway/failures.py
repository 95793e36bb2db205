"""An upstream's failures in our terms: errors for the client, kinds for metrics and logs."""

from __future__ import annotations

import logging

from modelport import metrics
from modelport.errors import (
    InvalidInput,
    ModelportError,
    RateLimited,
    UpstreamError,
    UpstreamTimeout,
)
from modelport.providers.dialects import Dialect
from modelport.providers.scrub import Scrubber
from modelport.usage.row import Status

log = logging.getLogger("modelport.gateway")
MAX_DETAIL = 300


class UpstreamReportedError(UpstreamError):
    """The upstream sent an error event in the middle of its stream."""


def upstream_failure(
    status: int, data: bytes, model_id: str, dialect: Dialect, scrubber: Scrubber
) -> ModelportError:
    """Our error for an upstream's error answer; its message is kept only for request faults,
    scrubbed of the credential and of anything shaped like a secret."""
    if status in (400, 404, 413, 422):
        detail = scrubber.scrub_text(dialect.error_message(data) or "no details given")
        return InvalidInput(
            f"The upstream provider rejected the request: {detail[:MAX_DETAIL]}",
            code="upstream_rejected",
        )
    if status == 429:
        return RateLimited(
            "The upstream provider is rate limiting this model; retry shortly.", retry_after=1
        )
    return UpstreamError(f"The upstream provider for {model_id} answered HTTP {status}.")


def count_failure(request_id: str, model_id: str, kind: str) -> None:
    """Count and log an upstream failure (the model and the kind; never the upstream's body)."""
    metrics.UPSTREAM_ERRORS.labels(model_id, kind).inc()
    log.warning("upstream error", extra={"request_id": request_id, "model": model_id, "kind": kind})


def failure_kind(exc: UpstreamError, *, started: bool) -> str:
    if isinstance(exc, UpstreamTimeout):
        return "timeout"
    if isinstance(exc, UpstreamReportedError):
        return "error_event"
    return "stream_broken" if started else "connection"


def failure_status(exc: ModelportError) -> Status:
    return "upstream_timeout" if isinstance(exc, UpstreamTimeout) else "upstream_error"
