"""Sending OpenAI-shaped responses and errors over raw ASGI."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from starlette.types import Send

from modelport import errors

JSON = (b"content-type", b"application/json")
Headers = Sequence[tuple[bytes, bytes]]

# (status, OpenAI error type, code) per error class; the first match wins.
_ERRORS: list[tuple[type[errors.ModelportError], int, str, str]] = [
    (errors.KeyExpired, 401, "invalid_request_error", "key_expired"),
    (errors.Unauthenticated, 401, "invalid_request_error", "invalid_api_key"),
    (errors.Forbidden, 403, "permission_error", "model_not_allowed"),
    (errors.NotFound, 404, "invalid_request_error", "model_not_found"),
    (errors.InvalidInput, 400, "invalid_request_error", "invalid_request"),
    (errors.RateLimited, 429, "rate_limit_error", "rate_limit_exceeded"),
    (errors.ModelUnavailable, 503, "server_error", "model_unavailable"),
    (errors.StorageUnavailable, 503, "server_error", "service_unavailable"),
    (errors.UpstreamTimeout, 504, "server_error", "upstream_timeout"),
    (errors.UpstreamError, 502, "server_error", "upstream_error"),
]


def error_shape(exc: errors.ModelportError) -> tuple[int, str, str]:
    for kind, status, error_type, code in _ERRORS:
        if isinstance(exc, kind):
            return status, error_type, code
    return 500, "server_error", "internal_error"


async def send_json(send: Send, status: int, body: bytes, headers: Headers = ()) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [JSON, (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


def error_body(message: str, error_type: str, code: str, param: str | None = None) -> bytes:
    """The OpenAI error envelope, so the `openai` SDK raises the matching exception."""
    return orjson.dumps(
        {"error": {"message": message, "type": error_type, "code": code, "param": param}}
    )


async def send_error(send: Send, exc: errors.ModelportError, headers: Headers = ()) -> None:
    status, error_type, code = error_shape(exc)
    if isinstance(exc, errors.InvalidInput) and exc.code:
        code = exc.code
    param = exc.field if isinstance(exc, errors.InvalidInput) else None
    extra = list(headers)
    if isinstance(exc, errors.RateLimited):
        extra.append((b"retry-after", str(exc.retry_after).encode()))
    await send_json(send, status, error_body(exc.message, error_type, code, param), extra)
