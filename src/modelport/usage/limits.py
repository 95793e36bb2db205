"""Per-key limits on the data plane: requests and tokens a minute, and monthly spend.

The counters live behind the infra Protocols (Redis for several replicas, memory for one).
A request is admitted before any upstream call and settled after it, with its real cost.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from modelport import metrics
from modelport.core.clock import utcnow
from modelport.core.money import usd
from modelport.db.engine import Database
from modelport.errors import RateLimited
from modelport.infra.ratelimit import Allowance, RateLimiter
from modelport.infra.spend import SettledLoader, SpendLedger
from modelport.keys.verifier import KeyIdentity
from modelport.usage.repository import UsageRepository

Headers = list[tuple[bytes, bytes]]
WINDOW = 60
_DAYS_4 = timedelta(days=4)  # from the 28th, always into the next month


@dataclass(slots=True)
class Admission:
    """What an admitted request holds until it settles."""

    key_id: uuid.UUID
    request_id: str
    tpm_limit: int | None = None
    month: str | None = None
    reserved: int = 0
    settled: bool = field(default=False)


class KeyLimiter:
    def __init__(self, limiter: RateLimiter, spend: SpendLedger) -> None:
        self._limiter = limiter
        self._spend = spend

    async def admit(
        self, identity: KeyIdentity, request_id: str, estimated_cost: int, headers: Headers
    ) -> Admission:
        """Admit a request, appending the `x-ratelimit-*` headers to `headers`.

        Raises RateLimited (429, with `retry_after`) past the key's requests or tokens a
        minute, or once its spend this month has reached its limit.
        """
        admission = Admission(identity.key_id, request_id, identity.tpm_limit)
        key = identity.key_id.hex
        if identity.rpm_limit is not None:
            requests = await self._limiter.hit(f"rpm:{key}", identity.rpm_limit, WINDOW)
            headers.extend(_headers("requests", requests))
            if not requests.allowed:
                metrics.KEY_REFUSALS.inc("rate_limited")
                raise _too_fast(requests, f"{identity.rpm_limit} requests a minute")
        if identity.tpm_limit is not None:
            tokens = await self._limiter.hit(f"tpm:{key}", identity.tpm_limit, WINDOW, cost=0)
            headers.extend(_headers("tokens", tokens))
            if tokens.remaining <= 0:
                metrics.KEY_REFUSALS.inc("rate_limited")
                raise _too_fast(tokens, f"{identity.tpm_limit} tokens a minute")
        if identity.spend_limit_picousd is not None:
            month = utcnow().strftime("%Y-%m")
            limit = identity.spend_limit_picousd
            if not await self._spend.reserve(
                identity.key_id, month, limit, estimated_cost, request_id
            ):
                metrics.KEY_REFUSALS.inc("spend_limited")
                raise RateLimited(
                    f"This key has reached its monthly spend limit of ${usd(limit)}; "
                    "it resets at the start of next month (UTC), or raise the limit.",
                    retry_after=_seconds_to_next_month(),
                )
            admission.month, admission.reserved = month, estimated_cost
        return admission

    async def settle(self, admission: Admission, tokens: int, cost: int) -> None:
        """Count the request's real tokens and cost; once only."""
        if admission.settled:
            return
        admission.settled = True
        if admission.tpm_limit is not None and tokens:
            key = admission.key_id.hex
            await self._limiter.hit(f"tpm:{key}", admission.tpm_limit, WINDOW, cost=tokens)
        if admission.month is not None:
            await self._spend.settle(
                admission.key_id, admission.month, admission.request_id, admission.reserved, cost
            )


def settled_loader(database: Database) -> SettledLoader:
    """Reads a key's spend in a month from the usage rows: the truth the counters start from."""

    async def load(key_id: uuid.UUID, month: str) -> int:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
        end = (start.replace(day=28) + _DAYS_4).replace(day=1)
        async with database.read() as unit:
            return await UsageRepository(unit.session).key_spend(key_id, start, end)

    return load


def _headers(kind: str, allowance: Allowance) -> Headers:
    reset = allowance.retry_after(utcnow().timestamp())
    return [
        (f"x-ratelimit-limit-{kind}".encode(), str(allowance.limit).encode()),
        (f"x-ratelimit-remaining-{kind}".encode(), str(max(0, allowance.remaining)).encode()),
        (f"x-ratelimit-reset-{kind}".encode(), f"{reset}s".encode()),
    ]


def _too_fast(allowance: Allowance, what: str) -> RateLimited:
    retry = allowance.retry_after(utcnow().timestamp())
    return RateLimited(f"This key is limited to {what}; retry in {retry}s.", retry_after=retry)


def _seconds_to_next_month() -> int:
    now = utcnow()
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start.replace(day=28) + _DAYS_4).replace(day=1)
    return max(1, int((following - now).total_seconds()))
