"""Happy eyeballs: a provider whose name has IPv6 and IPv4 addresses is reached through the
one that works, without waiting out an address that swallows connection attempts.

This machine's /etc/hosts gives `localhost` only 127.0.0.1, so the provider's name service is
played by the event loop (as a provider's DNS would answer): DUAL resolves to ::1 and
127.0.0.1, in the order a test gives. A listening socket whose backlog is full swallows
connection attempts, as a broken route does: the kernel drops their SYNs.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from modelport.providers.upstream import Target
from tests.support.scripted import client, response, server

DUAL = "dual-stack.test"
SIZED = response(b'{"ok":true}', "Content-Length: 11")


def _dual_stack_loop(ipv6_first: bool) -> type[asyncio.SelectorEventLoop]:
    class DualStack(asyncio.SelectorEventLoop):
        async def getaddrinfo(self, host: Any, port: Any, **options: Any) -> Any:
            if host != DUAL:
                return await super().getaddrinfo(host, port, **options)
            v6 = (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0))
            v4 = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))
            return [v6, v4] if ipv6_first else [v4, v6]

    return DualStack


@contextmanager
def black_hole(port: int) -> Iterator[None]:
    """[::1]:port accepts nothing more: its backlog is full, so connection attempts hang."""
    with socket.socket(socket.AF_INET6) as listening, socket.socket(socket.AF_INET6) as filler:
        listening.bind(("::1", port))
        listening.listen(0)
        filler.connect(("::1", port))
        yield


async def _post_to_dual(port: int, connect_timeout: float) -> bytes:
    async with (
        client(connect_timeout=connect_timeout) as c,
        c.post(Target(f"http://{DUAL}:{port}/v1"), "/chat/completions", b"{}") as reply,
    ):
        return await reply.read()


def test_an_ipv6_address_that_swallows_attempts_costs_a_quarter_second() -> None:
    async def scenario() -> float:
        async with server(SIZED) as scripted:  # IPv4 only
            port = int(scripted.url.rsplit(":", 1)[1].split("/")[0])
            with black_hole(port):
                started = time.monotonic()
                assert await _post_to_dual(port, connect_timeout=3) == b'{"ok":true}'
                elapsed = time.monotonic() - started
            assert len(scripted.requests) == 1
            return elapsed

    with asyncio.Runner(loop_factory=_dual_stack_loop(ipv6_first=True)) as runner:
        elapsed = runner.run(scenario())
    assert 0.2 < elapsed < 1.5, "IPv4 was tried 0.25 s after IPv6, not after the timeout"


def test_an_address_that_refuses_is_followed_by_the_next_at_once() -> None:
    """IPv4 first refuses (nobody listens there); IPv6 answers."""

    async def scenario() -> float:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(2)
            writer.write(SIZED)
            await writer.drain()
            writer.close()

        listening = await asyncio.start_server(answer, "::1", 0)
        port = listening.sockets[0].getsockname()[1]
        async with listening:
            started = time.monotonic()
            assert await _post_to_dual(port, connect_timeout=3) == b'{"ok":true}'
            return time.monotonic() - started

    with asyncio.Runner(loop_factory=_dual_stack_loop(ipv6_first=False)) as runner:
        assert runner.run(scenario()) < 0.2
