"""The log of a real `modelport serve`: readable text lines on request, and a file that is
reopened when logrotate moves it away."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from modelport.logs import REOPEN_CHECK_SECONDS
from tests.support.databases import sqlite_url
from tests.support.dataplane import create_key
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.usage import wait_until

AGENT = "log-test/2.0 (rotation)"


@pytest.fixture(scope="module")
def texty(
    loop: BackgroundLoop, upstream_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hub]:
    folder: Path = tmp_path_factory.mktemp("text-log")
    server = Hub(
        sqlite_url(folder), folder / "hub", loop, {**upstream_env, "MODELPORT_LOG_FORMAT": "text"}
    )
    server.start()
    yield server
    server.stop()


def _chat(hub: Hub, secret: str) -> str:
    """A chat request's id."""
    response = httpx.post(
        hub.url + "/v1/chat/completions",
        json={"model": "test-chat", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {secret}", "User-Agent": AGENT},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.headers["x-request-id"]


def _line_of(text: str, request_id: str) -> str | None:
    return next((x for x in text.splitlines() if f"request_id={request_id}" in x), None)


def test_a_text_access_line_is_readable_and_names_model_and_user_agent(texty: Hub) -> None:
    with texty.client(texty.new_team().token) as api:
        secret = create_key(api)["secret_key"]
    request_id = _chat(texty, secret)
    wait_until(lambda: _line_of(texty.logs(), request_id) is not None, "the access line")
    line = _line_of(texty.logs(), request_id)
    assert line is not None
    assert not line.startswith("{")
    assert " INFO    modelport.access: request  " in line
    for field in ("method=POST", "path=/v1/chat/completions", "status=200", "model=test-chat"):
        assert f" {field} " in f" {line} ", field
    assert f'user_agent="{AGENT}"' in line
    assert secret not in texty.logs()
    assert secret[3:] not in texty.logs()


def test_the_log_file_is_reopened_after_logrotate_moves_it(texty: Hub) -> None:
    with texty.client(texty.new_team().token) as api:
        secret = create_key(api)["secret_key"]
    before = _chat(texty, secret)
    wait_until(lambda: _line_of(texty.logs(), before) is not None, "the first line")
    rotated = texty.log_path.with_name(texty.log_path.name + ".1")
    texty.log_path.rename(rotated)  # what logrotate does without copytruncate
    time.sleep(REOPEN_CHECK_SECONDS)  # the handler looks for a move once a second
    after = _chat(texty, secret)
    wait_until(lambda: _line_of(texty.logs(), after) is not None, "a line in a new file")
    assert _line_of(rotated.read_text(), after) is None
    assert _line_of(rotated.read_text(), before) is not None
    assert _line_of(texty.logs(), before) is None
