"""FastAPI dependencies that read as permissions: `KeysWriter`, `AuditReader`, `WriteUnit`;
and the running hub's components and services."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from modelport.api.context import bearer_token, request_id_of
from modelport.auth.principal import READ_SCOPES, Caller, Principal, Scope
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


async def _principal(request: Request, unit: UnitOfWork, built: Services) -> Principal:
    """The caller's principal from its bearer token; Unauthenticated otherwise."""
    token = bearer_token(request.scope)
    if token is None:
        raise Unauthenticated("Unable to authenticate you.")
    return await built.tokens(unit).authenticate(token)


# The token is read in the request's own unit of work (FastAPI gives the route the same one):
# one transaction per request, not one for the token and another for the work. A unit that
# no statement uses opens no connection, so a request without a token costs no database.
# On SQLite a write route's check runs under the write lock its unit takes (BEGIN
# IMMEDIATE): a refused token holds it for one indexed read, and the /v2 rate limiter counts
# refusals against the client's address.
async def _reading_principal(request: Request, unit: ReadUnit, built: ServicesDep) -> Principal:
    return await _principal(request, unit, built)


async def _writing_principal(request: Request, unit: WriteUnit, built: ServicesDep) -> Principal:
    return await _principal(request, unit, built)


ReadingPrincipal = Annotated[Principal, Depends(_reading_principal)]
WritingPrincipal = Annotated[Principal, Depends(_writing_principal)]


def require(scope: Scope) -> Callable[..., Awaitable[Caller]]:
    """A dependency giving the caller if its principal holds `scope`; Forbidden otherwise.

    A read scope authenticates in the route's `ReadUnit`, a write scope in its `WriteUnit`.
    """

    async def reading(request: Request, principal: ReadingPrincipal) -> Caller:
        return _caller(request, principal, scope)

    async def writing(request: Request, principal: WritingPrincipal) -> Caller:
        return _caller(request, principal, scope)

    return reading if scope in READ_SCOPES else writing


def _caller(request: Request, principal: Principal, scope: Scope) -> Caller:
    if not principal.can(scope):
        raise Forbidden(f"This credential is read-only: it lacks {scope}.")
    client = request.client
    return Caller(
        principal=principal,
        client_addr=client.host if client else None,
        request_id=request_id_of(request.scope),
    )


KeysReader = Annotated[Caller, Depends(require("keys:read"))]
KeysWriter = Annotated[Caller, Depends(require("keys:write"))]
AuditReader = Annotated[Caller, Depends(require("audit:read"))]
ModelsReader = Annotated[Caller, Depends(require("models:read"))]
UsageReader = Annotated[Caller, Depends(require("usage:read"))]
