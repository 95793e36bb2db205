"""`GET /v2/gen-ai/audit_events`: the team's audit log, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from modelport.api.paging import page_request
from modelport.api.v2_errors import ERROR_RESPONSES
from modelport.audit.schemas import AuditEventInfo, AuditEventListResponse
from modelport.core.paging import PageRequest
from modelport.hub.deps import AuditReader, ReadUnit, ServicesDep

router = APIRouter(prefix="/v2/gen-ai/audit_events", tags=["Audit log"])


@router.get(
    "",
    operation_id="modelport_list_audit_events",
    summary="List the team's audit events, newest first",
    responses=ERROR_RESPONSES,
)
async def list_audit_events(
    request: Request,
    caller: AuditReader,
    unit: ReadUnit,
    services: ServicesDep,
    wanted: Annotated[PageRequest, Depends(page_request)],
) -> AuditEventListResponse:
    page = await services.audit(unit).page(caller.team_id, wanted)
    return AuditEventListResponse.of(
        request, wanted, page, audit_events=[AuditEventInfo.of(e) for e in page.items]
    )
