"""The /v2 error model: `{"id", "message", "request_id"}`, rendered in one place."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import Match
from starlette.types import Scope

from modelport import errors
from modelport.api.context import CLIENT_CLOSED, mark_client_gone, request_id_of
from modelport.api.wire import Omitted

log = logging.getLogger("modelport.api")

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")

MIDDLEWARE_HEADERS = "middleware_headers"
"""The scope state key where /v2 middleware leaves the headers it adds to every response."""

_STATUS: list[tuple[type[errors.ModelportError], int]] = [
    (errors.InvalidInput, 400),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.RateLimited, 429),
    (errors.OutOfCredit, 402),
    (errors.StorageUnavailable, 503),
    (errors.ShuttingDown, 503),
    (errors.ModelUnavailable, 503),
    (errors.UpstreamTimeout, 504),
    (errors.UpstreamBusy, 503),
    (errors.UpstreamError, 502),
]

ERROR_IDS = {
    400: "bad_request",
    401: "unauthorized",
    402: "payment_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


class ErrorBody(BaseModel):
    """The error body of every /v2 response that is not a success."""

    id: str
    message: str
    request_id: Omitted[str] = Field(default=None)


def error_response(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = ErrorBody(
        id=ERROR_IDS.get(status, "error"),
        message=message,
        request_id=request_id_of(request.scope),
    )
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def status_of(exc: errors.ModelportError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 500


async def _modelport_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.ModelportError)
    headers = None
    if exc.retry_after is not None:
        headers = {"retry-after": str(exc.retry_after)}
    return error_response(request, status_of(exc), exc.message, headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(request, 400, describe_validation(exc.errors()))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    headers = exc.headers
    if exc.status_code == 404:
        message = "The resource you requested could not be found."
    if exc.status_code == 405:
        headers = {"allow": _allowed_methods(request)}
    return error_response(request, exc.status_code, message, headers)


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    )


async def _client_gone(request: Request, exc: Exception) -> Response:
    """The client left before its body arrived: nobody to answer, nothing done, no error."""
    mark_client_gone(request.scope)
    return Response(status_code=CLIENT_CLOSED)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A 500. Starlette sends it from outside every middleware, so it adds their headers here."""
    request_id = request_id_of(request.scope)
    log.error(
        "unhandled error", exc_info=exc, extra={"request_id": request_id, "path": request.url.path}
    )
    headers = {name.decode(): value.decode() for name, value in _middleware_headers(request.scope)}
    if request_id is not None:
        headers["x-request-id"] = request_id
    return error_response(request, 500, "Unexpected server-side error", headers)


def _middleware_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    state = scope.get("state") or {}
    headers: list[tuple[bytes, bytes]] = state.get(MIDDLEWARE_HEADERS, [])
    return headers


def describe_validation(problems: Any) -> str:
    """One readable sentence for the first validation problem, naming the input."""
    if not problems:
        return "error parsing request body"
    first = problems[0]
    if first.get("type") == "json_invalid":
        return "error parsing request body: not valid JSON"
    location = tuple(first.get("loc", ()))
    message = str(first.get("msg", "invalid value"))
    if location == ("body",):
        if first.get("type") == "missing":
            return "the request body is required: a JSON object"
        return f"the request body must be a JSON object ({message})"
    where = ".".join(str(part) for part in location if part != "body")
    return f"{where}: {message}" if where else message


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.ModelportError, _modelport_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "The request is malformed or breaks a rule."),
        (401, "Authentication failed due to invalid credentials."),
        (403, "The credential may not do this (for example, a read-only token writing)."),
        (404, "The resource was not found."),
        (413, "The request body is larger than the hub accepts."),
        (429, "The API rate limit has been exceeded."),
        (500, "There was a server error."),
        (503, "The database is unavailable."),
    )
}
