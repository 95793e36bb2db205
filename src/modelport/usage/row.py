"""A usage row as the gateway hands it to the recorder.

`prompt_tokens` counts every input token and `completion_tokens` every output token, whatever
the upstream's convention; the cached, cache-written and reasoning counts are parts of them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Status = Literal["ok", "upstream_error", "upstream_timeout", "client_disconnect", "server_shutdown"]


@dataclass(frozen=True, slots=True)
class UsageRow:
    request_id: str
    team_id: uuid.UUID
    key_id: uuid.UUID
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_picousd: int
    status: Status
    estimated: bool
    latency_ms: int
    created_at: datetime
    cached_prompt_tokens: int = 0
    """Of `prompt_tokens`, those read from the upstream's prompt cache."""
    cache_write_tokens: int = 0
    """Of `prompt_tokens`, those written to the upstream's prompt cache."""
    reasoning_tokens: int = 0
    """Of `completion_tokens`, those spent reasoning."""
    deployment: str | None = None
    """The deployment that served (`<model>#<name>`), or the last one tried if none did."""
