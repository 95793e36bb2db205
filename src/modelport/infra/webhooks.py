"""Team webhooks: a JSON POST sent in the background, with a timeout, never awaited by the
request that caused it. A webhook that is slow or down costs its own task, nothing else.

A team sets its own webhook URL, so the hub would otherwise POST wherever a team's owner
points it: at the cloud's metadata service, at localhost, at the private network. Unless the
operator allows it (`MODELPORT_WEBHOOKS_ALLOW_PRIVATE`), a URL whose host resolves to a
loopback, private, link-local, reserved or multicast address is not called. (The address is
checked when the webhook is sent; a name that resolves differently a moment later, DNS
rebinding, is not defended against.)
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

import httpx

log = logging.getLogger("modelport.webhooks")

TIMEOUT_SECONDS = 5.0


def public(addresses: Iterable[str]) -> bool:
    """Whether every address is one the public internet routes to (and there is one)."""
    found = [ipaddress.ip_address(address.split("%")[0]) for address in addresses]
    return bool(found) and all(address.is_global for address in found)


class WebhookSender:
    def __init__(self, timeout: float = TIMEOUT_SECONDS, *, allow_private: bool = False) -> None:
        self._timeout = timeout
        self._allow_private = allow_private
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, url: str, payload: Mapping[str, object]) -> None:
        """Start POSTing `payload` to `url`; returns at once. Failures are logged, not raised."""
        task = asyncio.create_task(self._post(url, dict(payload)), name="webhook")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str, payload: dict[str, object]) -> None:
        if not self._allow_private and not await self._public(url):
            log.warning("webhook not sent: its host is not a public address")
            return
        try:
            async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as client:
                response = await client.post(url, json=payload)
            if response.status_code >= 400:
                log.warning("webhook answered %s", response.status_code)
        except httpx.HTTPError as exc:
            log.warning("webhook not delivered: %s", type(exc).__name__)

    async def _public(self, url: str) -> bool:
        parts = urlsplit(url)
        if not parts.hostname:
            return False
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                parts.hostname, parts.port or 80, type=socket.SOCK_STREAM
            )
        except OSError:
            return False
        return public(str(entry[4][0]) for entry in found)

    async def close(self) -> None:
        """Give webhooks in flight their timeout to finish, then stop them."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=self._timeout)
        for task in pending:
            task.cancel()
