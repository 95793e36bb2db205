"""One admitted /v1 request on its way through: what it calls, and what it has used so far."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from modelport.catalog.model import CatalogModel
from modelport.core.clock import utcnow
from modelport.core.pricing import Tokens
from modelport.gateway.requests import estimate_tokens
from modelport.gateway.sse import Usage
from modelport.keys.verifier import KeyIdentity
from modelport.providers.upstream import Target
from modelport.usage.limits import Admission
from modelport.usage.row import Status, UsageRow


@dataclass(slots=True)
class Call:
    request_id: str
    identity: KeyIdentity
    model: CatalogModel
    body: bytes
    prompt_chars: int
    include_usage: bool = False
    started: float = field(default_factory=time.perf_counter)
    pieces: int = 0
    """Completion pieces streamed so far (about a token each)."""
    usage: Usage | None = None
    usage_row: UsageRow | None = None
    """The row recorded for this request, once it is."""
    admission: Admission | None = None

    @property
    def target(self) -> Target:
        assert self.model.base_url is not None  # only available models are admitted
        return Target(self.model.base_url, self.model.api_key)

    def row(self, status: Status, *, completion_chars: int = 0, charge: bool = True) -> UsageRow:
        """The usage row: the upstream's own counts, or estimates marked as such."""
        if not charge:
            prompt, completion, estimated = 0, 0, False
        elif self.usage is not None and status == "ok":
            prompt, completion, estimated = (
                self.usage.prompt_tokens,
                self.usage.completion_tokens,
                False,
            )
        else:
            prompt = self.usage.prompt_tokens if self.usage else estimate_tokens(self.prompt_chars)
            completion = self.pieces or estimate_tokens(completion_chars)
            estimated = True
        return UsageRow(
            request_id=self.request_id,
            team_id=self.identity.team_id,
            key_id=self.identity.key_id,
            model=self.model.id,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_picousd=self.model.prices.cost(Tokens(prompt, completion)),
            status=status,
            estimated=estimated,
            latency_ms=int((time.perf_counter() - self.started) * 1000),
            created_at=utcnow(),
        )


def upstream_payload(
    payload: dict[str, Any], model: CatalogModel, *, stream: bool
) -> dict[str, Any]:
    """The client's payload as the upstream needs it: its model name, and usage in streams."""
    upstream = dict(payload)
    upstream["model"] = model.upstream_model
    if stream:
        options = payload.get("stream_options")
        upstream["stream_options"] = {**(options or {}), "include_usage": True}
    return upstream
