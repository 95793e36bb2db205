"""The request context: every log line of a request carries its id, and no secret."""

from __future__ import annotations

import asyncio
import contextvars
import io
import logging
import time
from pathlib import Path

import httpx
import openai
import orjson
import pytest
from starlette.types import Message, Receive, Scope, Send

from modelport.api.context import RequestContextMiddleware
from modelport.core import secrets
from modelport.logs import JsonFormatter
from tests.support.catalog import write_test_catalog
from tests.support.databases import sqlite_url
from tests.support.dataplane import MESSAGES, create_key, sdk
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.ports import free_port
from tests.support.upstream import FakeUpstream


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


@pytest.mark.parametrize("prefix", secrets.PREFIXES)
def test_a_secret_pasted_into_a_path_is_not_logged(hub: Hub, prefix: str) -> None:
    secret = secrets.generate(prefix)
    hub.issued.add(secret)  # the check at the end looks for its body alone too
    body = secret[len(prefix) :]
    for pasted in (secret, body):
        for path in (
            f"/v2/gen-ai/models/api_keys/{pasted}",
            f"/v1/{pasted}/chat",
            f"/v1/models/{pasted}",
            f"/{pasted}",
        ):
            response = httpx.get(hub.url + path, timeout=10)
            request_id = response.headers["x-request-id"]
            line = _logged(hub, request_id, '"modelport.access"')
            assert body not in line
            assert "[redacted]" in line


def test_a_secret_in_a_logged_field_is_not_logged(
    loop: BackgroundLoop, upstream: FakeUpstream, upstream_env: dict[str, str], tmp_path: Path
) -> None:
    """A model whose id is a key's body, on an upstream that is down: its failure is logged
    with the model's id in a field of its own."""
    secret = secrets.generate(secrets.MODEL_KEY_PREFIX)
    body = secret[len(secrets.MODEL_KEY_PREFIX) :]
    down = {body: f"http://127.0.0.1:{free_port()}/v1"}
    catalog = write_test_catalog(tmp_path / "catalog.toml", upstream.url, down)
    env = {**upstream_env, "MODELPORT_CATALOG": str(catalog)}
    server = Hub(sqlite_url(tmp_path), tmp_path / "hub", loop, env)
    server.issued.add(secret)
    server.start()
    try:
        with server.client(server.new_team().token) as api:
            key = create_key(api)
        with pytest.raises(openai.InternalServerError) as failed:
            sdk(server, key["secret_key"]).chat.completions.create(model=body, messages=MESSAGES)
        request_id = failed.value.response.headers["x-request-id"]
        line = _logged(server, request_id, '"upstream error"')
    finally:
        server.stop()
    assert orjson.loads(line)["model"] == "[redacted]"
    assert body not in server.logs()


def _logged(hub: Hub, request_id: str, marker: str) -> str:
    """The line of the request's that holds `marker`, once the hub has written it."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in hub.logs().splitlines():
            if request_id in line and marker in line:
                return line
        time.sleep(0.05)
    raise AssertionError(f"no {marker} line for {request_id}")
