"""The request context: every log line of a request carries its id, and no secret."""

from __future__ import annotations

import asyncio
import contextvars
import io
import logging
import time

import httpx
import orjson
import pytest
from starlette.types import Message, Receive, Scope, Send

from modelport.api.context import RequestContextMiddleware, loggable_path
from modelport.core import secrets
from modelport.logs import JsonFormatter
from tests.support.hub import Hub


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


def test_a_secret_pasted_into_a_path_is_not_logged(hub: Hub) -> None:
    key = secrets.generate(secrets.MODEL_KEY_PREFIX)
    hub.issued.add(key)
    for path in (f"/v2/gen-ai/models/api_keys/{key}", f"/v1/{key}/chat", f"/{key}"):
        response = httpx.get(hub.url + path, timeout=10)
        request_id = response.headers["x-request-id"]
        line = _access_line(hub, request_id)
        assert key not in line
        assert "[redacted]" in line


def _access_line(hub: Hub, request_id: str) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in hub.logs().splitlines():
            if request_id in line and '"modelport.access"' in line:
                return line
        time.sleep(0.05)
    raise AssertionError(f"no access log line for {request_id}")


def test_loggable_path_keeps_ordinary_paths() -> None:
    uuid_path = "/v2/gen-ai/models/api_keys/0b7c1e8a-3f0e-4d9a-9a57-1f0c5b9e2d11/usage"
    assert loggable_path(uuid_path) == uuid_path
    assert loggable_path("/v1/chat/completions") == "/v1/chat/completions"
    token = secrets.generate(secrets.API_TOKEN_PREFIX)
    assert loggable_path(f"/x/{token}/y") == "/x/[redacted]/y"
