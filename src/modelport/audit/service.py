"""Records and reads the audit log. Recording joins the caller's unit of work."""

from __future__ import annotations

import uuid

from modelport.audit.repository import AuditRepository
from modelport.auth.principal import Caller
from modelport.core.clock import utcnow
from modelport.core.paging import Page, PageRequest
from modelport.db.tables import AuditEvent
from modelport.db.uow import UnitOfWork


class AuditService:
    def __init__(self, unit: UnitOfWork) -> None:
        self._events = AuditRepository(unit.session)

    async def record(
        self,
        caller: Caller,
        action: str,
        *,
        target_id: uuid.UUID | None = None,
        target_name: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Write an event in the current transaction: it commits or rolls back with the change."""
        await self._events.add(
            team_id=caller.team_id,
            at=utcnow(),
            actor=caller.principal.actor,
            action=action,
            target_id=target_id,
            target_name=target_name,
            client_addr=caller.client_addr,
            request_id=caller.request_id,
            detail=detail,
        )

    async def page(self, team_id: uuid.UUID, request: PageRequest) -> Page[AuditEvent]:
        """One page of the team's events, newest first; empty past the end.

        A page past the end is not read at all: its offset may not fit the database's integers.
        """
        total = await self._events.count(team_id)
        if request.offset >= total:
            return Page([], total)
        events = await self._events.newest_first(
            team_id, offset=request.offset, limit=request.per_page
        )
        return Page(events, total)
