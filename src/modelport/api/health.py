"""Liveness: `GET /healthz` answers once the server can serve."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(tags=["Health"])


class Health(BaseModel):
    status: str


@router.get("/healthz", operation_id="modelport_healthz", summary="The server is up")
async def healthz() -> Health:
    return Health(status="ok")
