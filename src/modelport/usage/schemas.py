"""Wire shapes of the usage API. Money is a decimal string in USD, exact, never a float."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from modelport.api.wire import Omitted
from modelport.core.money import usd
from modelport.usage.repository import Bucket, GroupBy
from modelport.usage.service import UsageReport


class UsageBucket(BaseModel):
    """A bucket carries only the label it is grouped by (a wrap serializer would hide the
    fields from the OpenAPI document)."""

    date: Omitted[str] = Field(default=None, description="The UTC day, when grouped by day.")
    model: Omitted[str] = Field(default=None, description="The model, when grouped by model.")
    api_key_uuid: Omitted[str] = Field(default=None, description="The key, when grouped by key.")
    requests: int
    prompt_tokens: int = Field(description="Every input token, cached or not.")
    cached_prompt_tokens: int = Field(
        description="Of prompt_tokens, those read from the upstream's prompt cache; "
        "charged at the model's cached-input price (its input price if it sets none)."
    )
    cache_write_tokens: int = Field(
        description="Of prompt_tokens, those written to the upstream's prompt cache; "
        "charged at the model's cache-write price (its input price if it sets none)."
    )
    completion_tokens: int = Field(description="Every output token, reasoning included.")
    reasoning_tokens: int = Field(
        description="Of completion_tokens, those spent reasoning; charged as output tokens."
    )
    total_tokens: int
    cost: str = Field(description="USD, exact, as a decimal string.", examples=["0.0000125"])

    @classmethod
    def of(cls, bucket: Bucket, group_by: GroupBy | None) -> UsageBucket:
        labels = {"day": "date", "model": "model", "key": "api_key_uuid"}
        label = {labels[group_by]: bucket.label} if group_by else {}
        return cls(
            **label,
            requests=bucket.requests,
            prompt_tokens=bucket.prompt_tokens,
            cached_prompt_tokens=bucket.cached_prompt_tokens,
            cache_write_tokens=bucket.cache_write_tokens,
            completion_tokens=bucket.completion_tokens,
            reasoning_tokens=bucket.reasoning_tokens,
            total_tokens=bucket.prompt_tokens + bucket.completion_tokens,
            cost=usd(bucket.cost_picousd),
        )


class UsageResponse(BaseModel):
    start: datetime
    end: datetime
    group_by: str
    usage: list[UsageBucket]
    totals: UsageBucket = Field(description="Exactly the sum of the buckets.")

    @classmethod
    def of(
        cls, report: UsageReport, start: datetime, end: datetime, group_by: GroupBy
    ) -> UsageResponse:
        return cls(
            start=start,
            end=end,
            group_by=group_by,
            usage=[UsageBucket.of(b, group_by) for b in report.buckets],
            totals=UsageBucket.of(report.totals, None),
        )
