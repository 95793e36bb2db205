"""Connections per origin: a cap on those in use, a bounded wait past it, per-target overrides.

A slow provider holds its own connections, not every connection the hub has; a request past
the cap waits at most the connect timeout for one, then is refused (UpstreamBusy, a 503)
instead of waiting without a word. Waits and refusals are counted for /metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
import time
from contextlib import AsyncExitStack

import pytest

from modelport import metrics
from modelport.errors import UpstreamBusy, UpstreamTimeout
from modelport.providers.upstream import Target, UpstreamClient
from tests.support.scripted import Scripted, client, response, server

SIZED = response(b'{"ok":true}', "Content-Length: 11")


def _origin(scripted: Scripted) -> str:
    return scripted.url.removesuffix("/v1")


def counted(name: str, origin: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, {"origin": origin}) or 0.0


async def _hold(stack: AsyncExitStack, upstream: UpstreamClient, target: Target) -> None:
    """Send a request and keep its connection in use until `stack` closes."""
    await stack.enter_async_context(upstream.post(target, "/chat/completions", b"{}"))


async def test_past_the_limit_a_request_waits_the_connect_timeout_then_is_refused() -> None:
    async with server(SIZED) as scripted, client(max_connections=2, connect_timeout=0.3) as c:
        origin, target = _origin(scripted), Target.bearer(scripted.url, "sk-test")
        waits = counted("modelport_upstream_connection_waits_total", origin)
        refusals = counted("modelport_upstream_connection_refusals_total", origin)
        async with AsyncExitStack() as stack:
            await _hold(stack, c, target)
            await _hold(stack, c, target)
            assert c.in_use() == {origin: 2}
            started = time.monotonic()
            with pytest.raises(UpstreamBusy, match="Too many requests to the upstream"):
                await _hold(stack, c, target)
            assert 0.25 < time.monotonic() - started < 1.0
        assert c.in_use() == {origin: 0}
        assert counted("modelport_upstream_connection_waits_total", origin) == waits + 1
        assert counted("modelport_upstream_connection_refusals_total", origin) == refusals + 1
    assert len(scripted.requests) == 2, "the refused request was never sent"


async def test_a_waiting_request_gets_the_first_connection_released() -> None:
    async with server(SIZED) as scripted, client(max_connections=1, connect_timeout=2) as c:
        target = Target.bearer(scripted.url, "sk-test")
        first = c.post(target, "/chat/completions", b"{}")
        reply = await first.__aenter__()

        async def second() -> bytes:
            async with c.post(target, "/chat/completions", b"{}") as answer:
                return await answer.read()

        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.1)
        assert not waiting.done(), "it waits while the only connection is in use"
        assert await reply.read() == b'{"ok":true}'
        await first.__aexit__(None, None, None)
        assert await asyncio.wait_for(waiting, 1) == b'{"ok":true}'
    assert scripted.connections == 1, "the connection was handed over and reused"


async def test_a_busy_origin_does_not_hold_up_another() -> None:
    async with (
        server(SIZED) as slow,
        server(SIZED) as other,
        client(max_connections=1, connect_timeout=0.2) as c,
        AsyncExitStack() as stack,
    ):
        await _hold(stack, c, Target.bearer(slow.url, "sk-test"))
        async with c.post(Target.bearer(other.url, "sk-test"), "/x", b"{}") as reply:
            assert await reply.read() == b'{"ok":true}'
        assert c.in_use() == {_origin(slow): 1, _origin(other): 0}


async def test_a_target_sets_its_own_connection_limit() -> None:
    async with (
        server(SIZED) as scripted,
        client(max_connections=8, connect_timeout=0.2) as c,
        AsyncExitStack() as stack,
    ):
        capped = Target(scripted.url, max_connections=1)
        await _hold(stack, c, capped)
        with pytest.raises(UpstreamBusy):
            await _hold(stack, c, capped)
        await _hold(stack, c, Target(scripted.url))  # the default limit is another pool's
        assert c.in_use() == {_origin(scripted): 2}


async def test_a_target_sets_its_own_read_timeout() -> None:
    async with server(b"") as silent, client(read_timeout=30) as c:
        started = time.monotonic()
        with pytest.raises(UpstreamTimeout):
            async with c.post(Target(silent.url, timeout=0.2), "/chat/completions", b"{}"):
                pass
        assert time.monotonic() - started < 2


async def test_the_response_headers_reach_the_caller() -> None:
    answer = response(
        b"{}",
        "Content-Length: 2",
        "Retry-After: 3",
        "x-ratelimit-remaining-requests: 10",
        "X-Ratelimit-Remaining-Tokens: 900",
    )
    async with (
        server(answer) as scripted,
        client() as c,
        c.post(Target(scripted.url), "/chat/completions", b"{}") as reply,
    ):
        assert reply.header("retry-after") == "3"
        assert reply.header("X-RateLimit-Remaining-Requests") == "10"
        assert reply.header("x-ratelimit-remaining-tokens") == "900"
        assert reply.header("x-missing") is None
        assert ("retry-after", "3") in reply.headers
        assert await reply.read() == b"{}"


async def test_a_hub_out_of_file_descriptors_is_busy_not_unreachable() -> None:
    """The first limit 2,000 streams meet on a default system (`ulimit -n` 1024): a 503 to
    retry, not "cannot be reached". The soft limit is lowered for a moment, to what is open."""
    async with server(SIZED) as scripted, client() as c:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 8, hard))
        filler: list[socket.socket] = []
        try:
            with contextlib.suppress(OSError):
                while True:  # take every descriptor left
                    filler.append(socket.socket())
            async with AsyncExitStack() as stack:
                with pytest.raises(UpstreamBusy, match="Too many requests"):
                    await _hold(stack, c, Target(scripted.url))
        finally:
            for sock in filler:
                sock.close()
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        async with c.post(Target(scripted.url), "/x", b"{}") as reply:
            assert await reply.read() == b'{"ok":true}'
