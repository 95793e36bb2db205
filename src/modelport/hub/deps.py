"""FastAPI dependencies that read as permissions: `KeysWriter`, `AuditReader`, `WriteUnit`;
and the running hub's components and services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from modelport.api.context import bearer_token, request_id_of
from modelport.auth.principal import Caller, Principal, Scope
from modelport.components import Components
from modelport.db.uow import UnitOfWork
from modelport.errors import Forbidden, Unauthenticated
from modelport.hub.services import Services


async def components(request: Request) -> Components:
    hub: Components = request.app.state.components
    return hub


ComponentsDep = Annotated[Components, Depends(components)]


async def services(request: Request) -> Services:
    built: Services = request.app.state.services
    return built


ServicesDep = Annotated[Services, Depends(services)]


async def _read_unit(hub: ComponentsDep) -> AsyncIterator[UnitOfWork]:
    async with hub.database.read() as unit:
        yield unit


async def _write_unit(hub: ComponentsDep) -> AsyncIterator[UnitOfWork]:
    async with hub.database.write() as unit:
        yield unit


# scope="function": the unit commits before the response is sent, never after.
ReadUnit = Annotated[UnitOfWork, Depends(_read_unit, scope="function")]
WriteUnit = Annotated[UnitOfWork, Depends(_write_unit, scope="function")]


async def authenticate(request: Request, hub: ComponentsDep, built: ServicesDep) -> Principal:
    """The caller's principal from its bearer token; Unauthenticated otherwise."""
    token = bearer_token(request.scope)
    if token is None:
        raise Unauthenticated("Unable to authenticate you.")
    async with hub.database.read() as unit:
        return await built.tokens(unit).authenticate(token)


def require(scope: Scope) -> Callable[..., Awaitable[Caller]]:
    """A dependency giving the caller if its principal holds `scope`; Forbidden otherwise."""

    async def dependency(
        request: Request, principal: Annotated[Principal, Depends(authenticate)]
    ) -> Caller:
        if not principal.can(scope):
            raise Forbidden(f"This credential is read-only: it lacks {scope}.")
        client = request.client
        return Caller(
            principal=principal,
            client_addr=client.host if client else None,
            request_id=request_id_of(request.scope),
        )

    return dependency


KeysReader = Annotated[Caller, Depends(require("keys:read"))]
KeysWriter = Annotated[Caller, Depends(require("keys:write"))]
AuditReader = Annotated[Caller, Depends(require("audit:read"))]
ModelsReader = Annotated[Caller, Depends(require("models:read"))]
UsageReader = Annotated[Caller, Depends(require("usage:read"))]
