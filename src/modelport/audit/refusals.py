"""The audit events of /v1 requests refused for their address, written off the request's path.

A key used from outside its `allowed_ips` is refused on the data plane, where writing an
audit row per request would let a leaked key (or a misconfigured client retrying in a loop)
turn refused requests into database writes. So the refusal is noted in memory and written
in the background, at most once a minute per key and client address (later ones within
the minute are counted in metrics only), and no more than `MAX_PENDING` wait at once.
Best effort: an event the database refuses, or one still waiting when the process stops,
is logged and dropped.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from modelport.audit.repository import AuditRepository
from modelport.core.clock import utcnow
from modelport.db.engine import Database
from modelport.keys.repository import KeyRepository

log = logging.getLogger("modelport.audit")

ACTION = "key.address_not_allowed"
MAX_PENDING = 1_000
MAX_REMEMBERED = 10_000
"""Key and address pairs remembered for the once-a-minute rule; past it, old ones go."""


@dataclass(frozen=True, slots=True)
class Refusal:
    team_id: uuid.UUID
    key_id: uuid.UUID
    client_addr: str | None
    request_id: str | None
    at: datetime


class RefusalAudit:
    """Audits requests refused for their address; `close()` at shutdown writes what waits."""

    def __init__(self, database: Database, *, every: float = 60.0) -> None:
        self._database = database
        self._every = every
        self._last: dict[tuple[uuid.UUID, str | None], float] = {}
        self._pending: list[Refusal] = []
        self._task: asyncio.Task[None] | None = None

    def refused(
        self,
        team_id: uuid.UUID,
        key_id: uuid.UUID,
        client_addr: str | None,
        request_id: str | None,
    ) -> None:
        """Note a refusal; written soon unless this key was refused this address this minute."""
        now = time.monotonic()
        seen = (key_id, client_addr)
        last = self._last.get(seen)
        if last is not None and now - last < self._every:
            return
        if len(self._last) >= MAX_REMEMBERED:
            horizon = now - self._every
            self._last = {pair: at for pair, at in self._last.items() if at > horizon}
        if len(self._pending) >= MAX_PENDING:
            return  # the writer is behind: the metric still counts every refusal
        self._last[seen] = now
        self._pending.append(Refusal(team_id, key_id, client_addr, request_id, utcnow()))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write(), name="refusal-audit")

    async def close(self) -> None:
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
            except TimeoutError:
                log.warning("address refusals left unaudited", extra={"events": len(self._pending)})

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                async with self._database.write() as unit:
                    keys, events = KeyRepository(unit.session), AuditRepository(unit.session)
                    for refusal in batch:
                        found = await keys.by_ids(refusal.team_id, [refusal.key_id])
                        name = found[0].name if found else None
                        await events.add(
                            team_id=refusal.team_id,
                            at=refusal.at,
                            actor=f"key:{name}" if name else "key",
                            action=ACTION,
                            target_id=refusal.key_id,
                            target_name=name,
                            client_addr=refusal.client_addr,
                            request_id=refusal.request_id,
                            detail=None,
                        )
            except Exception as exc:  # best effort: a failure must not end the writer
                log.warning(
                    "address refusals could not be audited",
                    extra={"events": len(batch), "error": type(exc).__name__},
                )
