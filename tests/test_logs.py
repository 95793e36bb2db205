"""JSON log lines carry the request id; the end-of-run leak check finds what it must."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sys

import orjson

from modelport.core import secrets
from modelport.logs import JsonFormatter, bind_request_id
from tests.support.hub import find_leaks


def _line(message: str, **extra: object) -> dict[str, object]:
    record = logging.LogRecord("modelport.test", logging.WARNING, __file__, 1, message, None, None)
    record.__dict__.update(extra)
    entry: dict[str, object] = orjson.loads(JsonFormatter().format(record))
    return entry


def test_a_line_logged_during_a_request_carries_its_id() -> None:
    def in_request() -> None:
        bind_request_id("req-1")
        assert _line("upstream error")["request_id"] == "req-1"

    contextvars.Context().run(in_request)


def test_an_explicit_request_id_wins_and_none_is_invented_outside_a_request() -> None:
    def in_request() -> None:
        bind_request_id("req-1")
        assert _line("usage write failed", request_id="req-2")["request_id"] == "req-2"

    contextvars.Context().run(in_request)
    assert "request_id" not in contextvars.Context().run(_line, "started")


def test_concurrent_requests_keep_their_own_ids() -> None:
    async def request(request_id: str) -> object:
        bind_request_id(request_id)
        await asyncio.sleep(0.01)
        return _line("done")["request_id"]

    async def both() -> list[object]:
        return list(await asyncio.gather(request("a"), request("b")))

    assert contextvars.Context().run(asyncio.run, both()) == ["a", "b"]


def test_the_leak_check_finds_a_secret_it_was_told_of() -> None:
    secret = "sk-upstream-credential-0123456789"
    log = f'{{"message": "upstream error", "detail": "Bearer {secret}"}}\n'
    assert find_leaks(log, {secret, "never-logged"}) == [secret]


def test_the_leak_check_finds_a_key_no_test_saw() -> None:
    key = secrets.generate(secrets.MODEL_KEY_PREFIX)
    token = secrets.generate(secrets.API_TOKEN_PREFIX)
    log = f'{{"message": "request", "authorization": "{key}"}}\n{{"token": "{token}"}}\n'
    assert find_leaks(log, ()) == sorted([key, token])


def test_the_leak_check_passes_clean_logs() -> None:
    log = '{"message": "request", "request_id": "0b7c...", "path": "/v1/chat/completions"}\n'
    assert find_leaks(log, {"mp_not-in-there"}) == []


def test_a_secret_without_its_prefix_is_cut_out_of_every_part_of_a_line() -> None:
    bodies = [secrets.generate(prefix)[len(prefix) :] for prefix in secrets.PREFIXES]
    key, token, invitation, session = bodies
    try:
        raise ValueError(f"bad code {invitation}")
    except ValueError:
        record = logging.LogRecord(
            "modelport.test", logging.ERROR, __file__, 1, "got %s", (key,), sys.exc_info()
        )
    record.__dict__.update(path=f"/v1/models/{token}", ids=[session, "kept"], after=f"\n{key}")
    line = JsonFormatter().format(record)
    entry = orjson.loads(line)
    assert not [body for body in bodies if body in line]
    assert entry["message"] == "got [redacted]"
    assert entry["path"] == "/v1/models/[redacted]"
    assert entry["ids"] == ["[redacted]", "kept"]
    assert entry["after"] == "\n[redacted]"
    assert "bad code [redacted]" in entry["exception"]


def test_the_leak_check_finds_a_secret_it_was_told_of_without_its_prefix() -> None:
    key = secrets.generate(secrets.MODEL_KEY_PREFIX)
    log = f'{{"message": "request", "path": "/v1/models/{key[3:]}"}}\n'
    assert find_leaks(log, {key}) == [key]
