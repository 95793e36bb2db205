"""The pooled upstream client against scripted HTTP servers: framings, reuse and failures.

The data plane's tests drive it through a real hub; these pin what they do not reach: each
way an answer can be framed, gzip, connection reuse, and failures before any byte is sent.
"""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from modelport.errors import UpstreamError, UpstreamTimeout
from modelport.providers.upstream import Target, UpstreamResponse
from tests.support.scripted import Scripted, chunked, client, response, server


def _target(scripted: Scripted, api_key: str | None = "sk-test") -> Target:
    return Target.bearer(scripted.url, api_key)


@asynccontextmanager
async def answered(answer: bytes, *, close: bool = False) -> AsyncIterator[UpstreamResponse]:
    """The response to one request sent to a server that writes `answer` back."""
    async with (
        server(answer, close=close) as scripted,
        client() as upstream,
        upstream.post(_target(scripted), "/chat/completions", b"{}") as reply,
    ):
        yield reply


async def test_a_sized_answer_is_read_whole_and_its_connection_reused() -> None:
    answer = response(b'{"ok":true}', "Content-Length: 11")
    async with server(answer) as scripted, client() as upstream:
        for _ in range(3):
            async with upstream.post(_target(scripted), "/chat/completions", b"{}") as reply:
                assert (reply.status, await reply.read()) == (200, b'{"ok":true}')
    assert (scripted.connections, len(scripted.requests)) == (1, 3)
    assert scripted.requests[0].startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer sk-test\r\n" in scripted.requests[0]


async def test_a_chunked_stream_arrives_as_events() -> None:
    events = [b"data: {}\n\n", b"data: {}\n\n", b"data: [DONE]\n\n"]
    answer = response(chunked(*events), "Transfer-Encoding: chunked")
    async with answered(answer) as reply:
        got = [event async for batch in reply.events() for event in batch]
    assert [e.data for e in got] == [b"{}", b"{}", b"[DONE]"]


async def test_an_answer_that_ends_with_its_connection_is_whole() -> None:
    answer = response(b"the whole body", "Connection: close")
    async with answered(answer, close=True) as reply:
        assert await reply.read() == b"the whole body"


async def test_a_gzipped_answer_is_decoded() -> None:
    packed = gzip.compress(b'{"usage":{}}')
    answer = response(packed, "Content-Encoding: gzip", f"Content-Length: {len(packed)}")
    async with answered(answer) as reply:
        assert await reply.read() == b'{"usage":{}}'


async def test_an_answer_cut_short_is_an_upstream_error() -> None:
    answer = response(b"only part", "Content-Length: 100")
    async with answered(answer, close=True) as reply:
        with pytest.raises(UpstreamError, match="ended early"):
            await reply.read()


async def test_silence_past_the_read_timeout_is_an_upstream_timeout() -> None:
    async with server(b"") as scripted, client(read_timeout=0.2) as upstream:
        with pytest.raises(UpstreamTimeout):
            async with upstream.post(_target(scripted), "/chat/completions", b"{}"):
                pass


async def test_nobody_listening_is_an_upstream_error() -> None:
    async with server(b"") as scripted:
        pass  # closed: nobody listens on its port now
    async with client() as upstream:
        with pytest.raises(UpstreamError, match="cannot be reached"):
            async with upstream.post(_target(scripted), "/chat/completions", b"{}"):
                pass


async def test_a_credential_that_would_split_headers_is_refused_before_sending() -> None:
    async with server(b"") as scripted, client() as upstream:
        with pytest.raises(UpstreamError, match="not a valid header value"):
            async with upstream.post(_target(scripted, "sk\r\nX-Evil: 1"), "/x", b"{}"):
                pass
    assert scripted.connections == 0, "nothing reached the server"
