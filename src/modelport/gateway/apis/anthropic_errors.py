"""Anthropic's error shape, for the Messages API.

`{"type": "error", "error": {"type", "message"}}` with Anthropic's status codes and error
types, so the `anthropic` SDK raises the matching exception; in a stream, an `error` event.
"""

from __future__ import annotations

import orjson

from modelport import errors

# (status, Anthropic error type) per error class; the first match wins.
_ERRORS: list[tuple[type[errors.ModelportError], int, str]] = [
    (errors.Unauthenticated, 401, "authentication_error"),
    (errors.Forbidden, 403, "permission_error"),
    (errors.NotFound, 404, "not_found_error"),
    (errors.InvalidInput, 400, "invalid_request_error"),
    (errors.RateLimited, 429, "rate_limit_error"),
    (errors.OutOfCredit, 402, "billing_error"),
    (errors.ModelUnavailable, 503, "overloaded_error"),
    (errors.StorageUnavailable, 503, "overloaded_error"),
    (errors.ShuttingDown, 503, "overloaded_error"),
    (errors.UpstreamTimeout, 504, "timeout_error"),
    (errors.UpstreamBusy, 503, "overloaded_error"),
    (errors.UpstreamError, 502, "api_error"),
]


def shape(exc: errors.ModelportError) -> tuple[int, str]:
    for kind, status, error_type in _ERRORS:
        if isinstance(exc, kind):
            if isinstance(exc, errors.InvalidInput) and exc.code == "request_too_large":
                return 413, "request_too_large"
            return status, error_type
    return 500, "api_error"


def envelope(error_type: str, message: str) -> bytes:
    return orjson.dumps({"type": "error", "error": {"type": error_type, "message": message}})


class AnthropicErrors:
    def body(self, exc: errors.ModelportError) -> tuple[int, bytes]:
        status, error_type = shape(exc)
        return status, envelope(error_type, exc.message)

    def event(self, exc: errors.ModelportError) -> bytes:
        _, error_type = shape(exc)
        return b"event: error\ndata: " + envelope(error_type, exc.message) + b"\n\n"
