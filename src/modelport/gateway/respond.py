"""Sending answers over raw ASGI: JSON bodies, event streams, and the error model each API
family renders its errors with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from starlette.types import Send

from modelport import errors

Header = tuple[bytes, bytes]
JSON = (b"content-type", b"application/json")
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class ErrorModel(Protocol):
    """How one API family shows an error: as a response, and as a stream's last event."""

    def body(self, exc: errors.ModelportError) -> tuple[int, bytes]:
        """The status and JSON body for `exc`."""

    def event(self, exc: errors.ModelportError) -> bytes:
        """A server-sent event that ends a stream with `exc`."""


async def send_json(send: Send, status: int, body: bytes, headers: Sequence[Header] = ()) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [JSON, (b"content-length", str(len(body)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def send_error(send: Send, model: ErrorModel, exc: errors.ModelportError) -> None:
    """The error response, with `retry-after` when waiting helps and `connection: close`
    when the server is draining."""
    status, body = model.body(exc)
    headers: list[Header] = []
    if isinstance(exc, errors.ShuttingDown):
        headers += [(b"retry-after", b"1"), (b"connection", b"close")]
    elif exc.retry_after is not None:
        headers.append((b"retry-after", str(exc.retry_after).encode()))
    await send_json(send, status, body, headers)


async def start_stream(send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})


async def send_more(send: Send, body: bytes) -> None:
    await send({"type": "http.response.body", "body": body, "more_body": True})


async def end_stream(send: Send, body: bytes = b"") -> None:
    await send({"type": "http.response.body", "body": body, "more_body": False})
