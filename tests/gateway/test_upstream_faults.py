"""An upstream that fails, stalls or hangs up gives the client a clean error, the usage row
says what happened, and the upstream's credential never reaches the client or the logs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from tests.support.dataplane import MESSAGES, create_key, sdk
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.upstream import CREDENTIAL, FakeUpstream
from tests.support.usage import UsageRows, wait_until

READ_TIMEOUT = 0.5


@pytest.fixture(scope="module")
def impatient_hub(
    database_url: str,
    loop: BackgroundLoop,
    upstream_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Hub]:
    """A second hub on the same database that gives up on a silent upstream after 0.5 s."""
    env = {**upstream_env, "MODELPORT_UPSTREAM_READ_TIMEOUT": str(READ_TIMEOUT)}
    server = Hub(database_url, Path(tmp_path_factory.mktemp("impatient")), loop, env)
    server.start()
    yield server
    server.stop()
    assert not server.leaked_secrets()
    assert CREDENTIAL not in server.logs() + server.stderr()


def _assert_clean(error: openai.APIStatusError, status: int, code: str) -> None:
    """The OpenAI error envelope with our code, and nothing of the upstream's secret."""
    assert error.status_code == status
    assert error.code == code
    assert isinstance(error.body, dict)
    assert isinstance(error.body.get("message"), str)
    assert CREDENTIAL not in error.response.text


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_500_is_a_502(
    client: openai.OpenAI, usage_rows: UsageRows, model_key: dict[str, str], stream: bool
) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="test-500", messages=MESSAGES, stream=stream)
    _assert_clean(caught.value, 502, "upstream_error")
    assert "HTTP 500" in caught.value.message
    [row] = usage_rows.of_key(model_key["uuid"])
    assert (row.model, row.status) == ("test-500", "upstream_error")
    assert (row.prompt_tokens, row.completion_tokens, row.cost_picousd) == (0, 0, 0)


def test_dropped_connection_is_a_502(
    client: openai.OpenAI, usage_rows: UsageRows, model_key: dict[str, str]
) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="test-drop", messages=MESSAGES)
    _assert_clean(caught.value, 502, "upstream_error")
    [row] = usage_rows.of_key(model_key["uuid"])
    assert (row.status, row.cost_picousd) == ("upstream_error", 0)


def test_stream_dropped_after_two_chunks_ends_in_an_error_event(
    client: openai.OpenAI, usage_rows: UsageRows, model_key: dict[str, str]
) -> None:
    """The SDK raises on the error event; what was streamed before it is charged, estimated."""
    stream = client.chat.completions.create(model="test-drop", messages=MESSAGES, stream=True)
    received: list[str] = []
    with pytest.raises(openai.APIError) as caught:
        received.extend(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert "upstream" in caught.value.message
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["code"] == "upstream_error"
    assert "".join(received) == "tok " * 2
    [row] = usage_rows.of_key(model_key["uuid"])
    assert (row.status, row.estimated, row.completion_tokens) == ("upstream_error", True, 2)


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_401_is_a_502_without_the_credential(
    hub: Hub, client: openai.OpenAI, usage_rows: UsageRows, model_key: dict[str, str], stream: bool
) -> None:
    """The upstream refusing our credential is our fault, not the client's: 502, not 401."""
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="test-401", messages=MESSAGES, stream=stream)
    _assert_clean(caught.value, 502, "upstream_error")
    assert usage_rows.of_key(model_key["uuid"])[0].status == "upstream_error"
    assert CREDENTIAL not in hub.logs() + hub.stderr()


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_400_passes_its_reason_on_redacted(
    hub: Hub, client: openai.OpenAI, stream: bool
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="test-400", messages=MESSAGES, stream=stream)
    _assert_clean(caught.value, 400, "upstream_rejected")
    assert "bad parameter" in caught.value.message
    assert "[redacted]" in caught.value.message
    assert CREDENTIAL not in hub.logs() + hub.stderr()


def test_silent_upstream_is_a_504(
    impatient_hub: Hub, upstream: FakeUpstream, loop: BackgroundLoop
) -> None:
    """A timed-out upstream call is abandoned, and the row says it timed out."""
    rows = UsageRows(impatient_hub.database_url, loop)
    cancelled = upstream.seen.cancelled
    with impatient_hub.client(impatient_hub.new_team().token) as api:
        key = create_key(api)
    try:
        with sdk(impatient_hub, key["secret_key"]) as client:
            with pytest.raises(openai.InternalServerError) as caught:
                client.chat.completions.create(model="test-slow", messages=MESSAGES)
            _assert_clean(caught.value, 504, "upstream_timeout")
            stream = client.chat.completions.create(
                model="test-slowstream", messages=MESSAGES, stream=True
            )
            with pytest.raises(openai.APIError) as broken:
                list(stream)
            assert isinstance(broken.value.body, dict)
            assert broken.value.body["code"] == "upstream_timeout"
        wait_until(lambda: upstream.seen.cancelled >= cancelled + 2, "both calls abandoned")
        statuses = [(r.model, r.status) for r in rows.of_key(key["uuid"])]
    finally:
        rows.close()
    assert statuses == [("test-slow", "upstream_timeout"), ("test-slowstream", "upstream_timeout")]
