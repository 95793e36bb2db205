"""Team webhooks: a JSON POST sent in the background, with a timeout, never awaited by the
request that caused it. A webhook that is slow or down costs its own task, nothing else."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

import httpx

log = logging.getLogger("modelport.webhooks")

TIMEOUT_SECONDS = 5.0


class WebhookSender:
    def __init__(self, timeout: float = TIMEOUT_SECONDS) -> None:
        self._timeout = timeout
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, url: str, payload: Mapping[str, object]) -> None:
        """Start POSTing `payload` to `url`; returns at once. Failures are logged, not raised."""
        task = asyncio.create_task(self._post(url, dict(payload)), name="webhook")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str, payload: dict[str, object]) -> None:
        try:
            async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as client:
                response = await client.post(url, json=payload)
            if response.status_code >= 400:
                log.warning("webhook answered %s", response.status_code)
        except httpx.HTTPError as exc:
            log.warning("webhook not delivered: %s", type(exc).__name__)

    async def close(self) -> None:
        """Give webhooks in flight their timeout to finish, then stop them."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=self._timeout)
        for task in pending:
            task.cancel()
