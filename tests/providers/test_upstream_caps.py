"""Caps on what an answer may make the hub hold: a large answer, a gzip bomb, a huge event.

Each is an UpstreamError ("too large") rather than memory spent: an answer read whole may be
at most `max_body` bytes after decompression, decompressed bit by bit so that a bomb never
inflates past the cap; one server-sent event may be at most as large, while a stream of
small events may go on for as long as it likes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import tracemalloc

import pytest

from modelport.errors import UpstreamError
from modelport.providers.sse import ServerSentEvent
from modelport.providers.upstream import Target, UpstreamResponse
from tests.support.scripted import chunked, client, response, server

CAP = 64 * 1024


async def _read(answer: bytes, *, max_body: int = CAP) -> bytes:
    async with (
        server(answer) as scripted,
        client(max_body=max_body) as c,
        c.post(Target(scripted.url), "/chat/completions", b"{}") as reply,
    ):
        return await reply.read()


async def test_an_answer_up_to_the_cap_is_read() -> None:
    body = b"x" * CAP
    assert await _read(response(body, f"Content-Length: {CAP}")) == body


async def test_a_declared_length_past_the_cap_is_refused_before_its_body() -> None:
    """The server announces 1 GiB and sends none of it: the head is enough to refuse."""
    with pytest.raises(
        UpstreamError, match="answer is too large: the answer is larger than 64 KiB"
    ):
        await _read(response(b"", f"Content-Length: {1 << 30}"))


async def test_a_chunked_answer_past_the_cap_is_too_large() -> None:
    body = chunked(*[b"y" * 16384] * 5)
    with pytest.raises(UpstreamError, match="answer is too large: the answer is larger than"):
        await _read(response(body, "Transfer-Encoding: chunked"))


async def test_a_gzip_bomb_is_refused_without_inflating_it() -> None:
    """50 MiB of zeros in 0.2 MiB of gzip, against a 1 MiB cap: the memory the client
    allocates meanwhile stays near the cap, far below what inflating the answer would take."""
    bomb = gzip.compress(bytes(50 << 20), 1)
    answer = response(bomb, "Content-Encoding: gzip", f"Content-Length: {len(bomb)}")
    tracemalloc.start()
    try:
        with pytest.raises(
            UpstreamError, match="answer is too large: the answer is larger than 1 MiB"
        ):
            await _read(answer, max_body=1 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"{peak / 2**20:.1f} MiB allocated while reading the bomb"


async def test_an_event_past_the_cap_breaks_the_stream() -> None:
    """The event arrives in pieces, each read as it comes: the event, not what waits, grows."""
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    pieces = [b"data: {}\n\n", b"data: " + b"z" * (CAP // 2), b"z" * (CAP // 2), b"z\n\n"]

    async def paced(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(head)
        for piece in pieces:
            writer.write(chunked(piece)[: -len(b"0\r\n\r\n")])
            await writer.drain()
            await asyncio.sleep(0.02)
        with contextlib.suppress(ConnectionError):
            await reader.read()
        writer.close()

    listening = await asyncio.start_server(paced, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}/v1"
    got: list[ServerSentEvent] = []

    async def receive(reply: UpstreamResponse) -> None:
        async for batch in reply.events():
            got.extend(batch)

    async with (
        listening,
        client(max_body=CAP) as c,
        c.post(Target(url), "/chat/completions", b"{}") as reply,
    ):
        with pytest.raises(UpstreamError, match="an event is larger than 64 KiB"):
            await receive(reply)
    assert [e.data for e in got] == [b"{}"], "what came before the huge event was passed on"


async def test_a_stream_may_carry_more_than_the_cap_in_small_events() -> None:
    """2 MB of 1 kB events, all sent at once, against a 1 MiB cap: reading pauses at 256 KiB
    waiting, so what waits stays under the cap, and the stream is whole."""
    events = [b"data: " + b"w" * 1000 + b"\n\n"] * 2000
    answer = response(chunked(*events, b"data: [DONE]\n\n"), "Transfer-Encoding: chunked")
    async with (
        server(answer) as scripted,
        client(max_body=1 << 20) as c,
        c.post(Target(scripted.url), "/chat/completions", b"{}") as reply,
    ):
        got = [event async for batch in reply.events() for event in batch]
    assert len(got) == 2001
