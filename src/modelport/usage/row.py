"""A usage row as the gateway hands it to the recorder."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Status = Literal["ok", "upstream_error", "upstream_timeout", "client_disconnect"]


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
