"""Monthly spend per key: what is settled, plus what requests in flight have reserved.

A request may start only while settled + reserved is below the key's limit; it reserves its
estimated cost before calling the upstream and settles its real cost after. So concurrent
requests overshoot the limit by no more than the requests already in flight when it was
reached. The settled figure comes from the usage rows in the database (via `load`) whenever
the counter is missing, so it survives restarts and is the same for every replica.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

SettledLoader = Callable[[uuid.UUID, str], Awaitable[int]]
"""Picodollars a key spent in a month ('YYYY-MM'), from the database."""

RESERVATION_SECONDS = 900
"""A reservation whose request never settles (a crashed replica) frees itself after this."""
COUNTER_SECONDS = 600
"""The Redis counter is rebuilt from the database this often, healing any drift."""


class MemorySpendLedger:
    """The ledger of a single process, loaded from the database per key and month.

    The Redis version, which every replica shares, is part of `RedisKeyLimitStore`
    (`infra/key_counters.py`): its scripts reserve and settle along with the other limits.
    """

    def __init__(self, load: SettledLoader) -> None:
        self._load = load
        self._settled: dict[tuple[uuid.UUID, str], int] = {}
        self._reserved: dict[tuple[uuid.UUID, str], dict[str, tuple[int, float]]] = {}

    async def reserve(
        self, key_id: uuid.UUID, month: str, limit: int, amount: int, request_id: str
    ) -> bool:
        """Reserve `amount` for a request if the key is below `limit`; False if it is not."""
        slot = (key_id, month)
        if slot not in self._settled:
            loaded = await self._load(key_id, month)
            # Another request may have loaded (and settled) meanwhile: keep its figure.
            self._settled.setdefault(slot, loaded)
        now = time.monotonic()
        held = {rid: item for rid, item in self._reserved.get(slot, {}).items() if item[1] > now}
        self._reserved[slot] = held
        if self._settled[slot] + sum(item[0] for item in held.values()) >= limit:
            return False
        held[request_id] = (amount, now + RESERVATION_SECONDS)
        return True

    async def settle(
        self, key_id: uuid.UUID, month: str, request_id: str, amount: int, cost: int
    ) -> None:
        """Replace the request's reservation of `amount` by its real `cost`."""
        slot = (key_id, month)
        self._reserved.get(slot, {}).pop(request_id, None)
        if slot in self._settled:
            self._settled[slot] += cost
