"""One admitted /v1 request on its way through: what it calls, and what it has used so far."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from modelport import metrics, tracing
from modelport.catalog.deployment import Deployment
from modelport.catalog.model import CatalogModel
from modelport.core.clock import utcnow
from modelport.core.pricing import Tokens
from modelport.gateway.exchange import Stream
from modelport.gateway.requests import estimate_tokens
from modelport.keys.verifier import KeyIdentity
from modelport.providers.dialects import StreamMeter
from modelport.usage.admission import Admission
from modelport.usage.row import Status, UsageRow


@dataclass(slots=True)
class Call:
    request_id: str
    identity: KeyIdentity
    model: CatalogModel
    prompt_chars: int
    started: float = field(default_factory=time.perf_counter)
    tokens: Tokens | None = None
    """The upstream's own count for the whole request, once it has reported it."""
    meter: StreamMeter | None = None
    """The stream's reader, for a streamed request."""
    stream: Stream | None = None
    """The client's stream, once its first byte is sent."""
    usage_row: UsageRow | None = None
    """The row recorded for this request, once it is."""
    admission: Admission | None = None
    deployment: Deployment | None = None
    """The deployment being tried, and once recorded, the one that served."""
    attempting: bool = False
    """Whether an upstream is being asked right now (not between failed attempts)."""
    first_sent: float | None = None
    """When the stream's first piece was sent on (perf_counter), once it was."""

    def retarget(self, model: CatalogModel, deployment: Deployment, prompt_chars: int) -> None:
        """Another route is tried: the request is now that model's, on that deployment."""
        self.model, self.deployment, self.prompt_chars = model, deployment, prompt_chars

    def sent(self) -> None:
        """A piece of the stream went to the client: the first one times the first token."""
        if self.first_sent is None:
            self.first_sent = time.perf_counter()
            first_token = metrics.series(metrics.TIME_TO_FIRST_TOKEN, self.model.id)
            first_token.observe(self.first_sent - self.started)

    def streamed(self) -> None:
        """The stream ended whole: time per output token, after the first."""
        tokens = 0 if self.usage_row is None else self.usage_row.completion_tokens
        if self.first_sent is not None and tokens > 1:
            seconds = (time.perf_counter() - self.first_sent) / (tokens - 1)
            metrics.series(metrics.TIME_PER_OUTPUT_TOKEN, self.model.id).observe(seconds)

    def row(self, status: Status, *, completion_chars: int = 0, charge: bool = True) -> UsageRow:
        """The usage row: the upstream's own counts, or estimates marked as such.

        A request cut short (the client left, the server stopped, the upstream failed
        mid-stream) is charged for its prompt and what was generated before the cut.
        """
        if not charge:
            tokens, estimated = Tokens(0, 0), False
        elif self.tokens is not None:
            tokens, estimated = self.tokens, False
        else:
            tokens, estimated = self._estimate(completion_chars), True
        if self.deployment is not None:
            tracing.generation(
                self.deployment.dialect,
                self.deployment.upstream_model,
                tokens.prompt,
                tokens.completion,
            )
        return UsageRow(
            request_id=self.request_id,
            team_id=self.identity.team_id,
            key_id=self.identity.key_id,
            model=self.model.id,
            prompt_tokens=tokens.prompt,
            completion_tokens=tokens.completion,
            cost_picousd=self.model.prices.cost(tokens),
            status=status,
            estimated=estimated,
            latency_ms=int((time.perf_counter() - self.started) * 1000),
            created_at=utcnow(),
            cached_prompt_tokens=tokens.cached_prompt,
            cache_write_tokens=tokens.cache_write,
            reasoning_tokens=tokens.reasoning,
            deployment=None if self.deployment is None else self.deployment.id,
        )

    def _estimate(self, completion_chars: int) -> Tokens:
        """The prompt as the upstream reported it (if it did) or as estimated, and the pieces
        generated so far (or the answer's length) as completion."""
        known = self.meter.prompt if self.meter is not None else None
        pieces = self.meter.pieces if self.meter is not None else 0
        completion = pieces or estimate_tokens(completion_chars)
        if known is None:
            return Tokens(estimate_tokens(self.prompt_chars), completion)
        return Tokens(
            known.prompt,
            completion,
            cached_prompt=known.cached_prompt,
            cache_write=known.cache_write,
        )


def recorded_tokens(row: UsageRow) -> Tokens:
    """The tokens a recorded row holds."""
    return Tokens(
        row.prompt_tokens,
        row.completion_tokens,
        cached_prompt=row.cached_prompt_tokens,
        cache_write=row.cache_write_tokens,
        reasoning=row.reasoning_tokens,
    )


TEXT_KEYS = frozenset(("content", "text", "arguments"))


def answer_chars(answer: Any) -> int:
    """Characters of generated text in an answer, for estimating what it cost without usage."""
    if isinstance(answer, dict):
        return sum(
            len(value) if key in TEXT_KEYS and isinstance(value, str) else answer_chars(value)
            for key, value in answer.items()
        )
    if isinstance(answer, list):
        return sum(answer_chars(item) for item in answer)
    return 0
