"""The Usage and charges page: totals, a chart of cost per day, the same figures as a table
and as CSV, for a chosen period (this month so far by default)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from modelport.auth.member import Member
from modelport.db.uow import UnitOfWork
from modelport.errors import InvalidInput
from modelport.hub.deps import ReadUnit
from modelport.usage.period import parse_period
from modelport.usage.service import Series
from modelport.web.deps import PanelDep, SignedIn
from modelport.web.panel import Panel
from modelport.web.routing import PanelRoute
from modelport.web.usage_view import UsageView, build, csv_text, key_ids, key_label

router = APIRouter(route_class=PanelRoute, include_in_schema=False)

Day = Annotated[str | None, Query()]
By = Annotated[Series, Query()]


async def _view(
    panel: Panel, unit: UnitOfWork, member: Member, start: str | None, end: str | None, by: Series
) -> UsageView:
    """The period's figures; InvalidInput for a bad or too long period."""
    begin, finish = parse_period(start or None, end or None)
    daily = await panel.services.usage(unit).daily(member.team_id, begin, finish, by)
    names: dict[str, str] = {}
    if by == "key":
        keys = await panel.services.keys(unit).by_ids(member.team_id, key_ids(daily))
        names = {str(key.id): key_label(key) for key in keys}
    return build(begin, finish, by, daily, names)


@router.get("/usage")
async def usage_page(
    request: Request,
    member: SignedIn,
    panel: PanelDep,
    unit: ReadUnit,
    start: Day = None,
    end: Day = None,
    by: By = "key",
) -> Response:
    errors: dict[str, str] = {}
    try:
        view = await _view(panel, unit, member, start, end, by)
    except InvalidInput as exc:
        errors[exc.field or "start"] = exc.message
        view = await _view(panel, unit, member, None, None, by)
    context = {"view": view, "errors": errors, "start": start or "", "end": end or ""}
    return panel.pages.render(request, "usage.html", context, status=400 if errors else 200)


@router.get("/usage.csv")
async def usage_csv(
    member: SignedIn,
    panel: PanelDep,
    unit: ReadUnit,
    start: Day = None,
    end: Day = None,
    by: By = "key",
) -> Response:
    view = await _view(panel, unit, member, start, end, by)
    name = f"modelport-usage-{view.first_day}-{view.last_day}-by-{by}.csv"
    return Response(
        csv_text(view),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
