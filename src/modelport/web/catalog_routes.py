"""The Model catalog page: the table, a side-by-side comparison, and each model's examples."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from modelport.errors import InvalidInput, NotFound
from modelport.web import examples
from modelport.web.catalog_view import PICK_TO_COMPARE, catalog_view, to_compare
from modelport.web.deps import PanelDep, SignedIn
from modelport.web.panel import Panel
from modelport.web.routing import PanelRoute

router = APIRouter(route_class=PanelRoute, include_in_schema=False)

Text = Annotated[str, Query()]


def _table(
    panel: Panel, team: str, type_: str, provider: str, sort: str, order: str
) -> dict[str, object]:
    models = panel.hub.catalog.all()
    return {
        "view": catalog_view(models, type_, provider, sort, order),
        "pick_hint": PICK_TO_COMPARE,
        "error": None,
        "team": team,
    }


@router.get("/catalog")
async def catalog_page(
    request: Request,
    member: SignedIn,
    panel: PanelDep,
    type: Text = "",
    provider: Text = "",
    sort: Text = "",
    order: Text = "asc",
) -> Response:
    context = _table(panel, member.team_name, type, provider, sort, order)
    return panel.pages.render(request, "catalog.html", context)


@router.get("/catalog/compare")
async def compare(
    request: Request,
    member: SignedIn,
    panel: PanelDep,
    models: Annotated[list[str] | None, Query()] = None,
) -> Response:
    try:
        chosen = to_compare(panel.hub.catalog.all(), models or [])
    except InvalidInput as exc:
        context = {**_table(panel, member.team_name, "", "", "", "asc"), "error": exc.message}
        return panel.pages.render(request, "catalog.html", context, status=400)
    return panel.pages.render(request, "catalog_compare.html", {"models": chosen})


@router.get("/catalog/models/{model_id:path}")
async def model_page(
    request: Request, model_id: str, member: SignedIn, panel: PanelDep
) -> Response:
    model = panel.hub.catalog.find(model_id)
    if model is None:
        raise NotFound(f"There is no model {model_id!r} in the catalog.")
    base = str(request.base_url).rstrip("/")
    context = {
        "model": model,
        "dedicated": model.dedicated_to(member.team_name),
        "team": member.team_name,
        "curl": examples.curl(base, model),
        "python": examples.python(base, model),
    }
    return panel.pages.render(request, "catalog_model.html", context)
