"""Wire shapes of the audit log API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from modelport.api.paging import Paged
from modelport.db.tables import AuditEvent


class AuditEventInfo(BaseModel):
    at: datetime
    actor: str
    action: str
    target_uuid: uuid.UUID | None
    target_name: str | None
    client_addr: str | None
    request_id: str | None
    detail: str | None
    """More about the event, where the action alone does not say: a top-up's amount, the URL
    where a leaked key was found."""

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventInfo:
        return cls(
            at=event.at,
            actor=event.actor,
            action=event.action,
            target_uuid=event.target_id,
            target_name=event.target_name,
            client_addr=event.client_addr,
            request_id=event.request_id,
            detail=event.detail,
        )


class AuditEventListResponse(Paged):
    audit_events: list[AuditEventInfo]
