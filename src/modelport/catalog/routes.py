"""`GET /v2/gen-ai/models`: the catalog, paged, filtered by use case."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from modelport.api.paging import page_request
from modelport.api.v2_errors import ERROR_RESPONSES
from modelport.catalog.schemas import ModelListResponse, ModelPublic, Usecase
from modelport.core.paging import PageRequest, page_of
from modelport.hub.deps import ComponentsDep, ModelsReader

router = APIRouter(prefix="/v2/gen-ai/models", tags=["Model catalog"])


@router.get(
    "",
    operation_id="genai_list_models",
    summary="List the catalog's models with capabilities, context window and pricing",
    responses=ERROR_RESPONSES,
)
async def list_models(
    request: Request,
    caller: ModelsReader,
    hub: ComponentsDep,
    wanted: Annotated[PageRequest, Depends(page_request)],
    usecases: Annotated[
        list[Usecase] | None, Query(description="Only models for any of these use cases.")
    ] = None,
    public_only: Annotated[
        bool | None, Query(description="Accepted for compatibility; every model is public.")
    ] = None,
) -> ModelListResponse:
    page = page_of(hub.catalog.with_usecases(usecases or []), wanted)
    team = caller.principal.team_name
    return ModelListResponse.of(
        request, wanted, page, models=[ModelPublic.of(m, team) for m in page.items]
    )
