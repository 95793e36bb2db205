"""uvicorn, with a drain before its shutdown.

On the first SIGTERM (or SIGINT) the hub drains (`modelport.drain`): requests in flight may
finish for the grace, the rest are cut and billed; only then does uvicorn's own shutdown
begin (close the listener, close connections, run the lifespan's shutdown, which writes the
usage rows still pending). A second signal cuts at once; a third stops without waiting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

from modelport.config import Settings
from modelport.drain import Drain

CLEANUP_SECONDS = 5.0
"""After the grace: how long cut requests get to record themselves and send their last event."""
log = logging.getLogger("modelport.serve")


def uvicorn_config(app: ASGIApp, settings: Settings) -> uvicorn.Config:
    """How the hub is served, by one process or by each worker."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        proxy_headers=False,  # MODELPORT_TRUSTED_PROXIES decides (api/forwarded.py)
        # The drain has already waited for requests; this is for connections still closing.
        timeout_graceful_shutdown=int(CLEANUP_SECONDS),
    )


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, drain: Drain) -> None:
        super().__init__(config)
        self._drain = drain
        self._signals = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self.on_started: Callable[[], None] | None = None
        """Called once the server listens (a worker tells its parent so)."""

    async def startup(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)  # type: ignore[arg-type]
        if self.on_started is not None and self.started:
            self.on_started()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._signals += 1
        if self._loop is None or self._signals > 2:
            super().handle_exit(sig, frame)
        elif self._signals == 1:
            self._loop.call_soon_threadsafe(self._begin)
        else:
            self._loop.call_soon_threadsafe(self._drain.expire)

    def _begin(self) -> None:
        self._task = asyncio.ensure_future(self._run_drain())

    async def _run_drain(self) -> None:
        log.info(
            "draining",
            extra={"in_flight": self._drain.in_flight, "grace_seconds": self._drain.grace_seconds},
        )
        seconds = await self._drain.run(CLEANUP_SECONDS)
        log.info("drained", extra={"seconds": round(seconds, 3)})
        self.should_exit = True
