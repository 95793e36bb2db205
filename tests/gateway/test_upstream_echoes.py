"""An upstream that echoes its credential (or anything shaped like a secret) never gets it to
the client: not in an answer that is not JSON, not in an error event mid-stream, not in the
text it generates. Each case is recorded once, as it should be charged."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests.support.dataplane import MESSAGES, create_key
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.scripted_upstream import Script, hub_on
from tests.support.upstream import CREDENTIAL
from tests.support.usage import UsageRows

OPENAI_KEY = "sk-proj-" + "Q" * 40
"""Another provider's key in the text an upstream generates."""
OUR_KEY = "mp_" + "A" * 38
"""Shaped like one of our model access keys."""


def chunk(content: str) -> bytes:
    choice = {"index": 0, "delta": {"content": content}, "finish_reason": None}
    payload = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}
    return b"data: " + orjson.dumps({**payload, "choices": [choice]}) + b"\n\n"


def completion(content: str) -> bytes:
    message = {"role": "assistant", "content": content}
    return orjson.dumps(
        {
            "id": "c",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
        }
    )


SCRIPTS = {
    "html-200": Script([b"<html>upstream proxy error; key={key}</html>"], content_type="text/html"),
    "error-event": Script(
        [
            chunk("one "),
            chunk("two "),
            b'event: error\ndata: {"error": {"message": "bad key {key}", "type": "x"}}\n\n',
        ]
    ),
    "error-data": Script(
        [chunk("one "), b'data: {"error": {"message": "quota for {key} exceeded"}}\n\n']
    ),
    "echo-stream": Script(
        [chunk("your key is {key} "), chunk(f"and {OPENAI_KEY} and {OUR_KEY}"), b"data: [DONE]\n\n"]
    ),
    "echo-plain": Script(
        [completion(f"your key is {{key}}, {OPENAI_KEY}, {OUR_KEY}")],
        content_type="application/json",
    ),
}


@pytest.fixture(scope="module")
def echo_hub(loop: BackgroundLoop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with hub_on(SCRIPTS, loop, tmp_path_factory.mktemp("echoes")) as (hub, _):
        yield hub


@pytest.fixture
def key(echo_hub: Hub) -> dict[str, str]:
    with echo_hub.client(echo_hub.new_team().token) as api:
        return create_key(api)


@pytest.fixture
def rows(echo_hub: Hub, loop: BackgroundLoop) -> Iterator[UsageRows]:
    reader = UsageRows(echo_hub.database_url, loop)
    yield reader
    reader.close()


def post(hub: Hub, key: dict[str, str], model: str, *, stream: bool) -> httpx.Response:
    with httpx.Client(base_url=hub.url, timeout=30) as client:
        return client.post(
            "/v1/chat/completions",
            headers={"Authorization": f"Bearer {key['secret_key']}"},
            json={"model": model, "messages": MESSAGES, "stream": stream},
        )


def assert_clean(text: str) -> None:
    for secret in (CREDENTIAL, OPENAI_KEY, OUR_KEY):
        assert secret not in text


def test_a_non_json_answer_is_a_502_and_costs_nothing(
    echo_hub: Hub, key: dict[str, str], rows: UsageRows
) -> None:
    answer = post(echo_hub, key, "s-html-200", stream=False)
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"]["code"] == "upstream_error"
    assert_clean(answer.text)
    [row] = rows.of_key(key["uuid"])
    assert (row.status, row.cost_picousd, row.prompt_tokens) == ("upstream_error", 0, 0)


@pytest.mark.parametrize("model", ["s-error-event", "s-error-data"])
def test_an_upstream_error_event_becomes_our_own(
    echo_hub: Hub, key: dict[str, str], rows: UsageRows, model: str
) -> None:
    answer = post(echo_hub, key, model, stream=True)
    assert answer.status_code == 200
    assert_clean(answer.text)
    last = answer.text.strip().split("\n\n")[-1]
    error = orjson.loads(last.removeprefix("data: "))["error"]
    assert (error["type"], error["code"]) == ("server_error", "upstream_error")
    assert "mid-stream" in error["message"]
    [row] = rows.of_key(key["uuid"])
    assert (row.status, row.estimated) == ("upstream_error", True)
    assert row.completion_tokens == answer.text.count("content")
    assert row.cost_picousd > 0, "charged for what was delivered"


@pytest.mark.parametrize(("model", "stream"), [("s-echo-stream", True), ("s-echo-plain", False)])
def test_secrets_in_generated_text_are_redacted(
    echo_hub: Hub, key: dict[str, str], model: str, stream: bool
) -> None:
    answer = post(echo_hub, key, model, stream=stream)
    assert answer.status_code == 200
    assert_clean(answer.text)
    assert answer.text.count("[redacted]") == 3
