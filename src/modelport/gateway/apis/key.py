"""`GET /v1/key`: the calling key's own state, for an app to pace itself by.

Its name, hint, models, limits, this month's spend and what remains of its limit, and its
requests and tokens this minute. The key that authenticates is the only key it tells about,
and it never shows a secret (only the hint the key list shows). Like `GET /v1/models`, it is
neither metered nor rate limited: reading it costs nothing and counts against none of the
key's limits, so polling it never uses up what it reports.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from modelport.core.clock import utcnow
from modelport.core.money import usd
from modelport.db.engine import Database
from modelport.db.tables import ModelKey
from modelport.errors import NotFound, Unauthenticated
from modelport.gateway.access import Access
from modelport.gateway.requests import Headers
from modelport.gateway.respond import send_json
from modelport.infra.ratelimit import Allowance
from modelport.keys.limits import KeyLimits
from modelport.keys.service import KeyCredit, key_credit, live_key
from modelport.keys.verifier import INVALID_KEY
from modelport.usage.admission import KeyLimiter, Minute
from modelport.usage.period import month_bounds
from modelport.usage.service import UsageService

NO_STORE = (b"cache-control", b"no-store")


@dataclass(frozen=True, slots=True)
class KeyState:
    """What the answer tells, read at one moment: the key's row, its spend this month
    (picodollars, from its usage rows) and its per-minute counters."""

    key: ModelKey
    now: datetime
    spent: int
    minute: Minute
    credit: KeyCredit | None


def described(state: KeyState) -> dict[str, Any]:
    """The answer's body (schema `ModelportKey` in `gateway/openapi.py`). A field added to
    keys goes here and in that schema."""
    key, limits = state.key, KeyLimits.of(state.key)
    limit = limits.monthly_spend_picousd
    return {
        "object": "key",
        "uuid": str(key.id),
        "name": key.name,
        "hint": "…" + key.hint,
        "created_at": _moment(key.created_at),
        "expires_at": None if limits.expires_at is None else _moment(limits.expires_at),
        "models": key.models,
        "allowed_ips": key.allowed_ips,
        "limits": {
            "monthly_spend_usd": None if limit is None else usd(limit),
            "rpm": limits.rpm_limit,
            "tpm": limits.tpm_limit,
        },
        "spend": {
            "month": state.now.strftime("%Y-%m"),
            "this_month_usd": usd(state.spent),
            "remaining_usd": None if limit is None else usd(max(0, limit - state.spent)),
        },
        "credit": None
        if state.credit is None
        else {
            "granted_usd": usd(state.credit.granted),
            "spent_usd": usd(state.credit.spent),
            "remaining_usd": usd(state.credit.remaining),
        },
        "rate_limits": {
            "requests": _window(state.minute.requests, state.now),
            "tokens": _window(state.minute.tokens, state.now),
        },
    }


class KeyApi:
    def __init__(self, access: Access, database: Database, limiter: KeyLimiter) -> None:
        self._access = access
        self._database = database
        self._limiter = limiter

    async def get(self, scope: Scope, receive: Receive, send: Send, _: Headers) -> None:
        """The calling key's state; Unauthenticated (401) for no key, a wrong, revoked or
        deleted one, KeyExpired for an expired one."""
        identity = await self._access.authorize(scope, x_api_key=True)
        key, spent, credit, now = await self._read(identity.team_id, identity.key_id)
        minute = await self._limiter.minute(key.id, KeyLimits.of(key))
        body = orjson.dumps(described(KeyState(key, now, spent, minute, credit)))
        await send_json(send, 200, body, [NO_STORE])

    async def _read(
        self, team_id: uuid.UUID, key_id: uuid.UUID
    ) -> tuple[ModelKey, int, KeyCredit | None, datetime]:
        """The key's row, its spend this month and its credit, in one read; Unauthenticated
        when it was deleted after it verified (from the verifier's cache)."""
        now = utcnow()
        start, end = month_bounds(now)
        try:
            async with self._database.read() as unit:
                key = await live_key(unit, team_id, key_id)
                spent = await UsageService(unit).key_spend(key_id, start, end)
                credit = await key_credit(unit, key)
        except NotFound:
            raise Unauthenticated(INVALID_KEY) from None
        return key, spent, credit, now


def _moment(value: datetime) -> str:
    """ISO 8601 in UTC, as /v2 writes its times: `2026-12-01T09:30:00Z`."""
    return value.isoformat().replace("+00:00", "Z")


def _window(allowance: Allowance | None, now: datetime) -> dict[str, int] | None:
    if allowance is None:
        return None
    return {
        "limit": allowance.limit,
        "remaining": max(0, allowance.remaining),
        "reset_seconds": allowance.retry_after(now.timestamp()),
    }
