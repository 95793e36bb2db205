"""What the Redis stores that reserve and settle share (`infra/key_counters.py`,
`infra/credit.py`): the counters every replica sees, this process's own while Redis fails,
and the repair of what settlements Redis missed meanwhile left wrong.

Each store keeps a counter of what is spent (rebuilt from the database whenever it is
missing) and a sorted set of the holds of requests in flight, whose members are
`hold_member`s; one script reserves, another settles.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Generic, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from modelport.infra.breaker import Breaker

MISSED_AT_MOST = 10_000
"""Missed settlements remembered until Redis is back; past that, counters heal on their own
when they expire (`COUNTER_SECONDS`)."""

Load = TypeVar("Load")
Fallback = TypeVar("Fallback")


class RedisHolds(ABC, Generic[Load, Fallback]):
    """A subclass brings its two scripts and `_fresh_fallback`; `load` reads the database's
    figures when a counter is missing, and `fallback`, this process's own store, answers
    while the breaker is open (for a pause after each failure)."""

    reserve_script: ClassVar[str]
    settle_script: ClassVar[str]

    def __init__(self, client: aioredis.Redis, load: Load, fallback: Fallback) -> None:
        self._client = client
        self._load = load
        self._fallback = fallback
        self._breaker = Breaker()
        self._reserve = client.register_script(self.reserve_script)
        self._settle = client.register_script(self.settle_script)
        self._missed: list[tuple[str, str, str]] = []
        """(counter, reservations, member) of each settlement Redis did not get."""
        self._recovered = False
        """Whether Redis has served since the fallback last counted."""

    @abstractmethod
    def _fresh_fallback(self) -> Fallback:
        """A new store of this process's own, which loads what it needs from the database."""

    def _served(self) -> None:
        """Redis answered a reservation."""
        self._recovered = True

    def _lost(self) -> None:
        """Redis failed. An outage after Redis has served again starts from the database's
        figures, not from what this process counted in an earlier one: meanwhile the key
        spent through Redis, which that count never saw."""
        if self._recovered:
            self._fallback = self._fresh_fallback()
            self._recovered = False
        self._breaker.trip()

    def _note_missed(self, counter: str, reservations: str, member: str) -> None:
        """Remember a settlement Redis did not get (the fallback counted it), for `_repair`."""
        if len(self._missed) < MISSED_AT_MOST:
            self._missed.append((counter, reservations, member))

    async def _repair(self) -> None:
        """Before Redis counts again, drop what the missed settlements left wrong.

        Each one left its counter short of the cost (the usage row has it) and its hold
        held. Deleting the counter makes the next reservation rebuild it from the database,
        and the hold goes. Raises RedisError or OSError, keeping them for the next try.
        """
        if not self._missed:
            return
        missed, self._missed = self._missed, []
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.delete(*{counter for counter, _, _ in missed})
                for _, reservations, member in missed:
                    pipe.zrem(reservations, member)
                await pipe.execute()
        except (RedisError, OSError):
            self._missed = missed + self._missed
            raise


def hold_member(request_id: str, amount: int) -> str:
    """A hold's member of its reservations: the scripts sum the amounts after the last ':'."""
    return f"{request_id}:{amount}"
