"""OpenAI's error envelope, for chat completions, embeddings, responses and models.

`{"error": {"message", "type", "code", "param"}}` with OpenAI's status codes, so the `openai`
SDK raises the matching exception; in a stream, the same object as a `data:` event (the SDK
raises on it), or as an `error` event for the Responses API.
"""

from __future__ import annotations

import orjson

from modelport import errors

# (status, OpenAI error type, code) per error class; the first match wins.
_ERRORS: list[tuple[type[errors.ModelportError], int, str, str]] = [
    (errors.KeyExpired, 401, "invalid_request_error", "key_expired"),
    (errors.Unauthenticated, 401, "invalid_request_error", "invalid_api_key"),
    (errors.AddressNotAllowed, 403, "permission_error", "address_not_allowed"),
    (errors.Forbidden, 403, "permission_error", "model_not_allowed"),
    (errors.NotFound, 404, "invalid_request_error", "not_found"),
    (errors.InvalidInput, 400, "invalid_request_error", "invalid_request"),
    (errors.RateLimited, 429, "rate_limit_error", "rate_limit_exceeded"),
    (errors.OutOfCredit, 402, "insufficient_quota", "insufficient_credit"),
    (errors.ModelUnavailable, 503, "server_error", "model_unavailable"),
    (errors.StorageUnavailable, 503, "server_error", "service_unavailable"),
    (errors.ShuttingDown, 503, "server_error", "draining"),
    (errors.UpstreamTimeout, 504, "server_error", "upstream_timeout"),
    (errors.UpstreamBusy, 503, "server_error", "upstream_busy"),
    (errors.UpstreamError, 502, "server_error", "upstream_error"),
]


def shape(exc: errors.ModelportError) -> tuple[int, str, str, str | None]:
    """Status, type, code and param of `exc` in OpenAI's terms."""
    for kind, status, error_type, code in _ERRORS:
        if isinstance(exc, kind):
            if isinstance(exc, errors.InvalidInput):
                return status, error_type, exc.code or code, exc.field
            if isinstance(exc, errors.NotFound) and exc.code:
                return status, error_type, exc.code, None
            return status, error_type, code, None
    return 500, "server_error", "internal_error", None


def envelope(message: str, error_type: str, code: str, param: str | None = None) -> bytes:
    return orjson.dumps(
        {"error": {"message": message, "type": error_type, "code": code, "param": param}}
    )


class OpenAIErrors:
    """Errors as OpenAI's API sends them; a stream ends with a `data:` error event."""

    def body(self, exc: errors.ModelportError) -> tuple[int, bytes]:
        status, error_type, code, param = shape(exc)
        return status, envelope(exc.message, error_type, code, param)

    def event(self, exc: errors.ModelportError) -> bytes:
        _, error_type, code, param = shape(exc)
        return b"data: " + envelope(exc.message, error_type, code, param) + b"\n\n"


class ResponsesErrors(OpenAIErrors):
    """The Responses API ends a stream with an `error` event of its own shape."""

    def event(self, exc: errors.ModelportError, sequence_number: int = 0) -> bytes:
        _, _, code, param = shape(exc)
        payload = {
            "type": "error",
            "code": code,
            "message": exc.message,
            "param": param,
            "sequence_number": sequence_number,
        }
        return b"event: error\ndata: " + orjson.dumps(payload) + b"\n\n"
