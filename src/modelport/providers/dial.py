"""Opening a TCP connection to a host name with IPv6 and IPv4 addresses: happy eyeballs.

RFC 8305, simplified as asyncio's own `create_connection(happy_eyeballs_delay=...)` does it
(uvloop, which the hub serves on, has no such option): the name's addresses, the families
interleaved and the first family first; the first attempt starts at once, and each next one
when the previous has failed or has not connected within `DELAY` seconds; the first to
connect wins and the others are closed. So an address that swallows connection attempts (a
broken IPv6 route) costs a quarter of a second, not the connect timeout. An IP address is
connected to directly, with no name lookup.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Sequence
from ssl import SSLContext
from typing import Any, TypeVar

P = TypeVar("P", bound=asyncio.BaseProtocol)

DELAY = 0.25
"""Seconds an attempt has before the next address is tried too (RFC 8305 suggests 0.25)."""

Address = tuple[socket.AddressFamily, tuple[Any, ...]]
"""A family and a socket address of it: (host, port) or (host, port, flow, scope)."""


async def dial(
    loop: asyncio.AbstractEventLoop,
    factory: Callable[[], P],
    host: str,
    port: int,
    *,
    ssl: SSLContext | None = None,
    server_hostname: str | None = None,
) -> tuple[asyncio.Transport, P]:
    """`loop.create_connection` to `host` (a name or an IP address) and `port`, racing the
    name's addresses when it has several.

    Raises OSError (socket.gaierror for a name that does not resolve) if no address
    connects; the caller bounds the time it takes.
    """
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = _interleaved([(family, address) for family, _, _, _, address in found])
    else:
        family = socket.AF_INET6 if literal.version == 6 else socket.AF_INET
        addresses = [(family, (host, port))]
    if not addresses:
        raise OSError(f"no address for {host}")
    if len(addresses) == 1:  # the loop's own connect, in C on uvloop: the common case
        transport, protocol = await loop.create_connection(
            factory, addresses[0][1][0], port, ssl=ssl, server_hostname=server_hostname
        )
    else:
        sock = await _race(loop, addresses)
        transport, protocol = await loop.create_connection(
            factory, sock=sock, ssl=ssl, server_hostname=server_hostname
        )
    return transport, protocol


def _interleaved(addresses: Sequence[Address]) -> list[Address]:
    """One of each family in turn, the family of the first address first (RFC 8305 4)."""
    unique = list(dict.fromkeys(addresses))
    if not unique:
        return []
    first = [a for a in unique if a[0] == unique[0][0]]
    others = [a for a in unique if a[0] != unique[0][0]]
    mixed: list[Address] = []
    for index in range(max(len(first), len(others))):
        mixed += first[index : index + 1] + others[index : index + 1]
    return mixed


async def _attempt(loop: asyncio.AbstractEventLoop, address: Address) -> socket.socket:
    family, sockaddr = address
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await loop.sock_connect(sock, sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


async def _race(loop: asyncio.AbstractEventLoop, addresses: Sequence[Address]) -> socket.socket:
    """Staggered attempts, one per address; the first socket to connect."""
    waiting = list(addresses)
    running: set[asyncio.Task[socket.socket]] = set()
    failures: list[BaseException] = []
    connected: list[socket.socket] = []
    try:
        while (waiting or running) and not connected:
            if waiting:
                running.add(loop.create_task(_attempt(loop, waiting.pop(0))))
            done, running = await asyncio.wait(
                running,
                timeout=DELAY if waiting else None,
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in done:
                failure = task.exception()
                if failure is None:
                    connected.append(task.result())
                else:
                    failures.append(failure)
    finally:
        for task in running:
            task.cancel()
        if running:
            # A cancelled attempt closes its socket; one that connected meanwhile is closed.
            for late in await asyncio.gather(*running, return_exceptions=True):
                if isinstance(late, socket.socket):
                    late.close()
    for spare in connected[1:]:
        spare.close()
    if connected:
        return connected[0]
    raise failures[0] if isinstance(failures[0], OSError) else OSError(str(failures[0]))
