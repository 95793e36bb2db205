"""Upstream client: CPU per POST, modelport's own client against aiohttp's, same upstream.

    .venv/bin/python bench/upstream_client.py [--requests N] [--concurrency C] [--profile]

One fast fake upstream (bench/fast_upstream.py) in its own process; in this one, on uvloop,
N chat-completion POSTs at concurrency C through `UpstreamClient`, then through an aiohttp
session configured as modelport's was before it had its own client (one pooled session,
the same timeouts and headers), three rounds each, alternating. What is reported is this
process's CPU time per request (the upstream's is not counted): the client's cost plus the
loop and this harness, which both sides share. `--profile` adds a cProfile of one aiohttp
round, by cumulative time: where its CPU goes. aiohttp is a dev dependency only.
See docs/design/upstream-client.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

from harness import free_port, load
from modelport.providers.upstream import Target, UpstreamClient

BODY = b'{"model":"m","messages":[{"role":"user","content":"Say something."}]}'
HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "Authorization": "Bearer sk-bench",
}
WARM_UP = 200
ROUNDS = 3

Run = Callable[[str, int, int], Coroutine[Any, Any, None]]


async def _drive(one: Callable[[], Awaitable[None]], requests: int, concurrency: int) -> None:
    for _ in range(WARM_UP):
        await one()
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await one()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def ours(url: str, requests: int, concurrency: int) -> None:
    client = UpstreamClient(connect_timeout=5, read_timeout=30, max_connections=512)
    await client.start()
    target = Target.bearer(url, "sk-bench")

    async def one() -> None:
        async with client.post(target, "/chat/completions", BODY) as reply:
            await reply.read()

    await _drive(one, requests, concurrency)
    await client.close()


async def with_aiohttp(url: str, requests: int, concurrency: int) -> None:
    timeout = aiohttp.ClientTimeout(sock_connect=5, connect=5, sock_read=30)
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=512, ttl_dns_cache=300),
        timeout=timeout,
        auto_decompress=True,
    )

    async def one() -> None:
        reply = await session.post(url + "/chat/completions", data=BODY, headers=HEADERS)
        try:
            await reply.read()
        finally:
            reply.release()

    await _drive(one, requests, concurrency)
    await session.close()


def cpu_per_request(run: Run, url: str, requests: int, concurrency: int) -> float:
    """Microseconds of this process's CPU per request."""
    started = time.process_time()
    uvloop.run(run(url, requests, concurrency))
    return (time.process_time() - started) / (requests + WARM_UP) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    port = free_port()
    fast = Path(__file__).with_name("fast_upstream.py")
    upstream = subprocess.Popen([sys.executable, str(fast), "--port", str(port)])
    url = f"http://127.0.0.1:{port}/v1"
    try:
        time.sleep(1.5)
        print(f"load before: {load()}; {args.requests} requests at concurrency {args.concurrency}")
        runs: list[tuple[str, Run]] = [("modelport", ours), ("aiohttp", with_aiohttp)]
        for _ in range(ROUNDS):
            for name, run in runs:
                micros = cpu_per_request(run, url, args.requests, args.concurrency)
                print(f"{name:>9}: {micros:6.1f} µs of CPU per request")
        print(f"load after: {load()}")
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(cpu_per_request, with_aiohttp, url, args.requests, args.concurrency)
            stats = pstats.Stats(profile).sort_stats("cumulative")
            stats.print_stats(r"aiohttp|yarl|multidict", 30)
    finally:
        upstream.terminate()
        upstream.wait()


if __name__ == "__main__":
    main()
