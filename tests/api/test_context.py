"""The request context: every log line of a request carries its id, a failing one included."""

from __future__ import annotations

import asyncio
import contextvars
import io
import logging

import orjson
import pytest
from starlette.types import Message, Receive, Scope, Send

from modelport.api.context import RequestContextMiddleware
from modelport.logs import JsonFormatter


async def _failing(scope: Scope, receive: Receive, send: Send) -> None:
    logging.getLogger("modelport.gateway").warning("upstream error")
    raise RuntimeError("a bug")


async def _serve_one() -> None:
    """What uvicorn does: the app in a task of its own, then its own line about the error."""
    scope: Scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions"}
    scope["headers"] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        return None

    with pytest.raises(RuntimeError):
        await RequestContextMiddleware(_failing)(scope, receive, send)
    logging.getLogger("uvicorn.error").error("Exception in ASGI application")


def test_every_line_of_a_failing_request_carries_its_id() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        contextvars.Context().run(asyncio.run, _serve_one())
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["logger"] for line in lines] == [
        "modelport.gateway",
        "modelport.access",
        "uvicorn.error",
    ]
    ids = {line["request_id"] for line in lines}
    assert len(ids) == 1
    assert None not in ids
