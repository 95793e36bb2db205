"""Admitting a data-plane request against its key's limits: requests and tokens a minute,
monthly spend, and prepaid credit.

The counters live behind `KeyLimitStore` (`infra/key_counters.py`: Redis for several
replicas, memory for one). A request is admitted before any upstream call and settled after
it, with its real cost: one store call each, one Redis round trip each. A key with prepaid
credit takes one more each, last, from `CreditLedger` (`infra/credit.py`, the same way).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from modelport import metrics
from modelport.core.clock import utcnow
from modelport.core.money import usd
from modelport.db.engine import Database
from modelport.errors import OutOfCredit, RateLimited
from modelport.infra.credit import CreditLedger, CreditLoader
from modelport.infra.key_counters import KeyLimitStore, LimitCheck, SpendHold, Verdict
from modelport.infra.ratelimit import Allowance
from modelport.infra.spend import SettledLoader
from modelport.keys.limits import KeyLimits
from modelport.keys.repository import KeyRepository
from modelport.keys.verifier import KeyIdentity
from modelport.usage.repository import UsageRepository

Headers = list[tuple[bytes, bytes]]
_DAYS_4 = timedelta(days=4)  # from the 28th, always into the next month


@dataclass(slots=True)
class Admission:
    """What an admitted request holds until it settles."""

    check: LimitCheck
    request_id: str = ""
    credit_hold: int | None = None
    """The estimated cost reserved of the key's credit, if it has credit."""
    settled: bool = field(default=False)


@dataclass(frozen=True, slots=True)
class Minute:
    """A key's per-minute allowances now; None where the key has no such limit."""

    requests: Allowance | None
    tokens: Allowance | None


class KeyLimiter:
    def __init__(self, store: KeyLimitStore, credit: CreditLedger) -> None:
        self._store = store
        self._credit = credit

    async def admit(
        self, identity: KeyIdentity, request_id: str, estimated_cost: int, headers: Headers
    ) -> Admission:
        """Admit a request, appending the `x-ratelimit-*` headers to `headers`.

        Raises RateLimited (429, with `retry_after`) past the key's requests or tokens a
        minute, or once its spend this month has reached its limit; OutOfCredit (402) once
        a key with credit has spent it.
        """
        limits, hold = identity.limits, None
        if limits.monthly_spend_picousd is not None:
            month = utcnow().strftime("%Y-%m")
            hold = SpendHold(month, limits.monthly_spend_picousd, estimated_cost, request_id)
        check = LimitCheck(identity.key_id, limits.rpm_limit, limits.tpm_limit, hold)
        verdict = await self._store.admit(check)
        for kind, allowance in (("requests", verdict.requests), ("tokens", verdict.tokens)):
            if allowance is not None:
                headers.extend(_headers(kind, allowance))
        if verdict.refused is not None:
            raise _refusal(verdict, check)
        granted = limits.credit_picousd
        if granted is None:
            return Admission(check)
        try:
            reserved = await self._credit.reserve(
                identity.key_id, granted, estimated_cost, request_id
            )
        except BaseException:
            await self._store.settle(check, 0, 0)  # frees the spend hold, if any
            raise
        if not reserved:
            await self._store.settle(check, 0, 0)  # frees the spend hold, if any
            metrics.KEY_REFUSALS.labels("out_of_credit").inc()
            raise OutOfCredit(
                f"This key has no credit left of the ${usd(granted)} granted to it; "
                "top it up to continue."
            )
        return Admission(check, request_id, estimated_cost)

    async def settle(self, admission: Admission, tokens: int, cost: int) -> None:
        """Count the request's real tokens and cost; once only."""
        if admission.settled:
            return
        admission.settled = True
        await self._store.settle(admission.check, tokens, cost)
        if admission.credit_hold is not None:
            key_id, held = admission.check.key_id, admission.credit_hold
            await self._credit.settle(key_id, admission.request_id, held, cost)

    async def minute(self, key_id: uuid.UUID, limits: KeyLimits) -> Minute:
        """The key's requests and tokens a minute as the next admission would find them;
        counts nothing (`GET /v1/key`)."""
        counts = await self._store.minute(key_id)
        return Minute(
            _allowance(limits.rpm_limit, counts.requests, counts.reset_at),
            _allowance(limits.tpm_limit, counts.tokens, counts.reset_at),
        )


def settled_loader(database: Database) -> SettledLoader:
    """Reads a key's spend in a month from the usage rows: the truth the counters start from."""

    async def load(key_id: uuid.UUID, month: str) -> int:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
        end = (start.replace(day=28) + _DAYS_4).replace(day=1)
        async with database.read() as unit:
            return await UsageRepository(unit.session).key_spend(key_id, start, end)

    return load


def _allowance(limit: int | None, counted: int, reset_at: int) -> Allowance | None:
    return None if limit is None else Allowance(limit, limit - counted, reset_at)


def credit_loader(database: Database) -> CreditLoader:
    """Reads what a key's usage cost since its first top-up: the truth the credit counters
    start from."""

    async def load(key_id: uuid.UUID) -> int:
        async with database.read() as unit:
            return await KeyRepository(unit.session).credit_spent(key_id)

    return load


def _headers(kind: str, allowance: Allowance) -> Headers:
    reset = allowance.retry_after(utcnow().timestamp())
    return [
        (f"x-ratelimit-limit-{kind}".encode(), str(allowance.limit).encode()),
        (f"x-ratelimit-remaining-{kind}".encode(), str(max(0, allowance.remaining)).encode()),
        (f"x-ratelimit-reset-{kind}".encode(), f"{reset}s".encode()),
    ]


def _refusal(verdict: Verdict, check: LimitCheck) -> RateLimited:
    """The 429 for a refused request, counted in the metrics."""
    if verdict.refused == "requests" and verdict.requests is not None:
        metrics.KEY_REFUSALS.labels("rate_limited").inc()
        return _too_fast(verdict.requests, f"{check.rpm_limit} requests a minute")
    if verdict.refused == "tokens" and verdict.tokens is not None:
        metrics.KEY_REFUSALS.labels("rate_limited").inc()
        return _too_fast(verdict.tokens, f"{check.tpm_limit} tokens a minute")
    assert check.spend is not None  # only a hold is refused for spend
    metrics.KEY_REFUSALS.labels("spend_limited").inc()
    return RateLimited(
        f"This key has reached its monthly spend limit of ${usd(check.spend.limit)}; "
        "it resets at the start of next month (UTC), or raise the limit.",
        retry_after=_seconds_to_next_month(),
    )


def _too_fast(allowance: Allowance, what: str) -> RateLimited:
    retry = allowance.retry_after(utcnow().timestamp())
    return RateLimited(f"This key is limited to {what}; retry in {retry}s.", retry_after=retry)


def _seconds_to_next_month() -> int:
    now = utcnow()
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start.replace(day=28) + _DAYS_4).replace(day=1)
    return max(1, int((following - now).total_seconds()))
