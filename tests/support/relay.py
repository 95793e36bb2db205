"""A TCP relay that a test can cut, to partition one client from a server (Redis).

While cut, the relay answers nothing and forwards nothing, on open connections and new ones
alike, as when packets are dropped: the client sees timeouts, not refusals. Restored, it
forwards again; connections opened meanwhile are dropped, as a real partition's would be.
It can also be slowed down: each chunk then waits `delay` seconds before it is passed on,
as over a slow link.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


class Relay:
    """Forwards 127.0.0.1:`port` to `target_port`; `cut()` and `restore()` from any thread."""

    def __init__(self, target_port: int, loop: asyncio.AbstractEventLoop) -> None:
        self.target_port = target_port
        self.port = 0
        self._open = asyncio.Event()
        self._open.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = loop
        self.delay = 0.0
        """Seconds each chunk waits before it is forwarded, either way (a slow link)."""

    @property
    def cut_off(self) -> bool:
        return not self._open.is_set()

    def cut(self) -> None:
        self._in_loop(self._open.clear)

    def restore(self) -> None:
        self._in_loop(self._restore)

    def _restore(self) -> None:
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
        self._open.set()

    def _in_loop(self, change: Callable[[], None]) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            change()
        else:
            asyncio.run_coroutine_threadsafe(_call(change), self._loop).result(5)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            await self._open.wait()
            upstream_reader, upstream_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
            self._writers.add(upstream_writer)
            await asyncio.gather(
                self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
            )
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self.delay:
                    await asyncio.sleep(self.delay)
                if self.cut_off:
                    await self._open.wait()  # held, then dropped with the connection
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(OSError):
                writer.close()


@asynccontextmanager
async def relay(target_port: int) -> AsyncIterator[Relay]:
    """A relay to `target_port` on a free port of 127.0.0.1, open."""
    forwarding = Relay(target_port, asyncio.get_running_loop())
    listening = await asyncio.start_server(forwarding.handle, "127.0.0.1", 0)
    forwarding.port = listening.sockets[0].getsockname()[1]
    async with listening:
        yield forwarding
        forwarding.restore()
        listening.close()


async def _call(change: Callable[[], None]) -> None:
    change()
