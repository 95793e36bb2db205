"""Bad requests get a clean 4xx in the OpenAI error shape, and never reach the upstream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest

from modelport.core import secrets as secret_format
from tests.support.dataplane import create_key
from tests.support.hub import Hub
from tests.support.upstream import FakeUpstream

CHAT = "/v1/chat/completions"
EMBED = "/v1/embeddings"
HI = [{"role": "user", "content": "hi"}]
MAX_BODY = 8 * 1_048_576


@dataclass(frozen=True)
class Case:
    """One bad request and the answer it must get."""

    status: int
    code: str
    body: Any = None
    """JSON to send; bytes are sent as they are."""
    path: str = CHAT
    method: str = "POST"
    auth: str | None = "key"
    """`key` for the test key, None for no header, anything else as the header itself."""
    param: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _chat(**fields: Any) -> dict[str, Any]:
    return {"model": "test-chat", "messages": HI, **fields}


CASES = {
    "no model": Case(400, "invalid_request", {"messages": HI}, param="model"),
    "empty model": Case(400, "invalid_request", _chat(model=""), param="model"),
    "model not a string": Case(400, "invalid_request", _chat(model=5), param="model"),
    "unknown model": Case(404, "model_not_found", _chat(model="no-such-model")),
    "stream not a boolean": Case(400, "invalid_request", _chat(stream="yes"), param="stream"),
    "messages not a list": Case(400, "invalid_request", _chat(messages="hi"), param="messages"),
    "messages empty": Case(400, "invalid_request", _chat(messages=[]), param="messages"),
    "message not an object": Case(
        400, "invalid_request", _chat(messages=[*HI, "hi"]), param="messages"
    ),
    "stream_options not an object": Case(
        400, "invalid_request", _chat(stream=True, stream_options="x"), param="stream_options"
    ),
    "max_tokens a string": Case(400, "invalid_request", _chat(max_tokens="10"), param="max_tokens"),
    "max_tokens zero": Case(400, "invalid_request", _chat(max_tokens=0), param="max_tokens"),
    "max_tokens a boolean": Case(
        400, "invalid_request", _chat(max_tokens=True), param="max_tokens"
    ),
    "max_tokens past the model's limit": Case(
        400, "max_tokens_too_large", _chat(model="test-small", max_tokens=51), param="max_tokens"
    ),
    "max_completion_tokens past the limit": Case(
        400,
        "max_tokens_too_large",
        _chat(model="test-small", max_completion_tokens=51),
        param="max_completion_tokens",
    ),
    "prompt past the context window": Case(
        400,
        "context_length_exceeded",
        _chat(model="test-small", messages=[{"role": "user", "content": "x" * 500}]),
        param="messages",
    ),
    "embedding model on chat": Case(400, "invalid_request", _chat(model="test-embed")),
    "chat model on embeddings": Case(
        400, "invalid_request", {"model": "test-chat", "input": "a"}, path=EMBED
    ),
    "embeddings without input": Case(
        400, "invalid_request", {"model": "test-embed"}, path=EMBED, param="input"
    ),
    "embeddings input a number": Case(
        400, "invalid_request", {"model": "test-embed", "input": 5}, path=EMBED, param="input"
    ),
    "embeddings input empty": Case(
        400, "invalid_request", {"model": "test-embed", "input": []}, path=EMBED, param="input"
    ),
    "invalid JSON": Case(400, "invalid_json", b'{"model": "test-chat", "messages": ['),
    "not UTF-8": Case(400, "invalid_json", b'{"model": "\xff"}'),
    "empty body": Case(400, "invalid_json", b""),
    "JSON array": Case(400, "invalid_json", [_chat()]),
    "JSON string": Case(400, "invalid_json", "test-chat"),
    "body too large": Case(
        400,
        "request_too_large",
        orjson.dumps(_chat(messages=[{"role": "user", "content": "x" * MAX_BODY}])),
    ),
    "no key": Case(401, "invalid_api_key", _chat(), auth=None),
    "malformed key": Case(401, "invalid_api_key", _chat(), auth="Bearer not-a-key"),
    "bearer without a key": Case(401, "invalid_api_key", _chat(), auth="Bearer"),
    "other scheme": Case(401, "invalid_api_key", _chat(), auth="Basic dXNlcjpwYXNz"),
    "unknown key": Case(
        401,
        "invalid_api_key",
        _chat(),
        auth="Bearer " + secret_format.generate(secret_format.MODEL_KEY_PREFIX),
    ),
    "no key on embeddings": Case(401, "invalid_api_key", {}, path=EMBED, auth=None),
    "no key on models": Case(401, "invalid_api_key", path="/v1/models", method="GET", auth=None),
    "GET chat": Case(405, "method_not_allowed", path=CHAT, method="GET"),
    "POST models": Case(405, "method_not_allowed", {}, path="/v1/models"),
    "unknown path": Case(404, "not_found", _chat(), path="/v1/nothing-here"),
    "legacy completions": Case(404, "not_found", {"model": "test-chat"}, path="/v1/completions"),
}


@pytest.fixture(scope="module")
def secret(hub: Hub) -> str:
    """One key for every case here: none of them may use it up or change it."""
    team = hub.new_team()
    with hub.client(team.token) as api:
        return str(create_key(api)["secret_key"])


@pytest.fixture(scope="module")
def raw(hub: Hub) -> Iterator[httpx.Client]:
    """Plain HTTP, since the SDK would refuse to send most of these."""
    with httpx.Client(base_url=hub.url, timeout=30) as client:
        yield client


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_request_is_refused_cleanly(
    raw: httpx.Client, secret: str, upstream: FakeUpstream, case: Case
) -> None:
    headers = {}
    if case.auth is not None:
        headers["Authorization"] = f"Bearer {secret}" if case.auth == "key" else case.auth
    if isinstance(case.body, bytes):
        content = case.body
    else:
        content = b"" if case.body is None else orjson.dumps(case.body)
        headers["Content-Type"] = "application/json"
    reached = len(upstream.seen.bodies)
    response = raw.request(case.method, case.path, content=content, headers=headers)
    assert response.status_code == case.status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["type"], str)
    assert error["type"]
    assert error["code"] == case.code
    if case.param is not None:
        assert error["param"] == case.param
    assert len(upstream.seen.bodies) == reached, "a refused request reached the upstream"


def test_a_content_part_of_an_odd_shape_is_not_a_server_error(
    raw: httpx.Client, secret: str
) -> None:
    """Only what metering needs is checked; a part it cannot count is passed on, not a 500."""
    odd = [{"role": "user", "content": [{"type": "text", "text": 5}, {"type": "text"}, "x"]}]
    response = raw.post(
        CHAT, json=_chat(messages=odd), headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 200, response.text
