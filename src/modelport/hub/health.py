"""Liveness (`/healthz`: the process serves) and readiness (`/readyz`: what it depends on)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel
from redis.exceptions import RedisError

from modelport.hub.deps import ComponentsDep

router = APIRouter(tags=["Health"])


class Health(BaseModel):
    status: str


@router.get("/healthz", operation_id="modelport_healthz", summary="The server is up")
async def healthz() -> Health:
    return Health(status="ok")


class Readiness(BaseModel):
    status: Literal["ready", "degraded", "unavailable", "draining"]
    database: Literal["ok", "unavailable"]
    redis: Literal["ok", "unavailable", "not configured"]
    revocation: str


@router.get(
    "/readyz",
    operation_id="modelport_readyz",
    summary="Database and Redis health; 503 while the database is unreachable or the server drains",
    responses={
        503: {
            "model": Readiness,
            "description": "The database is unreachable, or the server is shutting down.",
        }
    },
)
async def readyz(hub: ComponentsDep, response: Response) -> Readiness:
    database_ok = await hub.database.ping()
    redis: Literal["ok", "unavailable", "not configured"] = "not configured"
    if hub.redis is not None:
        redis = "ok" if await _redis_answers(hub) else "unavailable"
    if redis == "unavailable":
        revocation = "checked in the database on every request until Redis returns"
    elif redis == "ok":
        revocation = "shared through Redis"
    elif hub.settings.is_sqlite and hub.link is not None:
        revocation = f"shared by this server's {hub.settings.workers} workers (single node)"
    elif hub.settings.is_sqlite:
        revocation = "this process only (single node)"
    else:
        revocation = "checked in the database on every request (no Redis)"
    status: Literal["ready", "degraded", "unavailable", "draining"] = "ready"
    if hub.drain.draining:
        status = "draining"
    elif not database_ok:
        status = "unavailable"
    elif redis == "unavailable":
        status = "degraded"
    body = Readiness(
        status=status,
        database="ok" if database_ok else "unavailable",
        redis=redis,
        revocation=revocation,
    )
    ready = database_ok and not hub.drain.draining
    response.status_code = 200 if ready else 503
    return body


async def _redis_answers(hub: ComponentsDep) -> bool:
    assert hub.redis is not None
    try:
        return bool(await hub.redis.ping())
    except (RedisError, OSError):
        return False
