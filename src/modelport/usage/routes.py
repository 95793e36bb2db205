"""Usage and charges: per key, and team-wide."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from modelport.api.v2_errors import ERROR_RESPONSES
from modelport.hub.deps import ReadUnit, ServicesDep, UsageReader
from modelport.usage.period import parse_period
from modelport.usage.schemas import UsageResponse

router = APIRouter(prefix="/v2/gen-ai", tags=["Usage"])

# Documented, and parsed by `parse_period`, whose messages say what is wrong.
_MOMENT = {"anyOf": [{"type": "string", "format": f} for f in ("date", "date-time")]}
Start = Annotated[
    str | None,
    Query(
        description="Date or date-time (UTC); the start of this month by default.",
        json_schema_extra=_MOMENT,
    ),
]
End = Annotated[
    str | None,
    Query(description="Date (inclusive) or date-time; now by default.", json_schema_extra=_MOMENT),
]


@router.get(
    "/models/api_keys/{api_key_uuid}/usage",
    operation_id="modelport_get_model_api_key_usage",
    summary="One key's requests, tokens and cost, by day or by model",
    responses=ERROR_RESPONSES,
)
async def key_usage(
    api_key_uuid: Annotated[uuid.UUID, Path(description="The key's uuid.")],
    caller: UsageReader,
    unit: ReadUnit,
    services: ServicesDep,
    start: Start = None,
    end: End = None,
    group_by: Annotated[Literal["day", "model"], Query()] = "day",
) -> UsageResponse:
    begin, finish = parse_period(start, end)
    await services.keys(unit).ensure_owned(caller.team_id, api_key_uuid)
    report = await services.usage(unit).report(
        caller.team_id, begin, finish, group_by, key_id=api_key_uuid
    )
    return UsageResponse.of(report, begin, finish, group_by)


@router.get(
    "/usage",
    operation_id="modelport_get_usage",
    summary="The team's requests, tokens and cost, by day, model or key",
    responses=ERROR_RESPONSES,
)
async def team_usage(
    caller: UsageReader,
    unit: ReadUnit,
    services: ServicesDep,
    start: Start = None,
    end: End = None,
    group_by: Annotated[Literal["day", "model", "key"], Query()] = "day",
) -> UsageResponse:
    begin, finish = parse_period(start, end)
    report = await services.usage(unit).report(caller.team_id, begin, finish, group_by)
    return UsageResponse.of(report, begin, finish, group_by)
