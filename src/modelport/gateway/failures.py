"""An upstream's failures in our terms: errors for the client, kinds for metrics and logs."""

from __future__ import annotations

import logging
import time
from datetime import UTC
from email.utils import parsedate_to_datetime

from modelport import metrics
from modelport.errors import (
    InvalidInput,
    ModelportError,
    RateLimited,
    UpstreamBusy,
    UpstreamError,
    UpstreamTimeout,
)
from modelport.infra.cooldown import MAX_RETRY_AFTER
from modelport.providers.dialects import Dialect
from modelport.providers.scrub import Scrubber
from modelport.providers.upstream import UpstreamResponse
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


def count_failure(request_id: str, model_id: str, deployment: str, kind: str) -> None:
    """Count and log an upstream failure (the model, the deployment and the kind; never the
    upstream's body)."""
    metrics.UPSTREAM_ERRORS.labels(model_id, deployment, kind).inc()
    log.warning(
        "upstream error",
        extra={"request_id": request_id, "model": model_id, "deployment": deployment, "kind": kind},
    )


def retryable(status: int) -> bool:
    """Whether another deployment may answer where this status came back: rate limits and
    server errors are the deployment's, not the request's."""
    return status == 429 or status >= 500


def retry_after_seconds(response: UpstreamResponse) -> float | None:
    """The upstream's `Retry-After` in seconds (delta-seconds or an HTTP date), capped as
    cooldowns are; None when it sent none or none that parses."""
    value = response.header("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            at = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if at.tzinfo is None:  # "-0000": a date in UTC, says RFC 5322
            at = at.replace(tzinfo=UTC)
        seconds = at.timestamp() - time.time()
    if seconds != seconds or seconds < 0:  # NaN or in the past
        return None
    return min(seconds, MAX_RETRY_AFTER)


def failure_kind(exc: UpstreamError, *, started: bool) -> str:
    if isinstance(exc, UpstreamTimeout):
        return "timeout"
    if isinstance(exc, UpstreamBusy):
        return "busy"
    if isinstance(exc, UpstreamReportedError):
        return "error_event"
    return "stream_broken" if started else "connection"


def failure_status(exc: ModelportError) -> Status:
    return "upstream_timeout" if isinstance(exc, UpstreamTimeout) else "upstream_error"
