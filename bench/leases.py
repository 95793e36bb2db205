"""What the cache lease adds to a revoke: the wait for every replica's acknowledgement.

    .venv/bin/python bench/leases.py [--rounds N]

A private `redis-server`, two peer processes each holding a lease (`RedisLease`, as `serve`
wires it, with its blocking stream reader), and this process as the revoker. Interleaved, per
round: a bare `PING` (the baseline: one round trip), the revoke's Redis work before leases
(`ledger.mark`: one `SET`), and with leases (`mark`, `announce`, then `settle`: until both
peers have acknowledged the entry). Then a few rounds with one peer stopped (SIGSTOP): the
revoke waits for that peer's lease to lapse. Prints Markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path

import redis.asyncio as aioredis
import uvloop

from cluster import Redis
from harness import Stats, load, machine, markdown_table
from modelport.core.digest import Digester
from modelport.infra.leases import LEASE_SECONDS, RedisLease
from modelport.infra.revocations import RedisRevocationLedger
from processes import Process

MARK_SECONDS = 660.0
PEERS = 2
STOPPED_ROUNDS = 3


async def peer(url: str) -> None:
    """A replica's lease and nothing else, until killed."""
    lease = RedisLease(
        _client(url), _client(url, timeout=3), _client(url), mark_seconds=MARK_SECONDS
    )
    await lease.start()
    await asyncio.Event().wait()


def _client(url: str, timeout: float = 0.5) -> aioredis.Redis:
    return aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=2)


async def timed(work: Awaitable[object], into: list[int]) -> None:
    started = time.perf_counter_ns()
    await work
    into.append(time.perf_counter_ns() - started)


async def measure(url: str, rounds: int, peers: list[Process]) -> dict[str, list[int]]:
    client = _client(url)
    ledger = RedisRevocationLedger(client, ttl=MARK_SECONDS)
    lease = RedisLease(client, _client(url, timeout=3), _client(url), mark_seconds=MARK_SECONDS)
    await lease.start()
    digester = Digester(b"b" * 32)
    found: dict[str, list[int]] = {
        "PING (baseline: one round trip)": [],
        "revoke before leases: mark": [],
        "revoke with leases: mark, announce, settle": [],
        "the same, one peer stopped": [],
    }
    names = list(found)
    try:
        await _until_every_lease_holds(client, lease)

        async def revoke(n: int) -> None:
            digest = digester.digest(f"revoked-{n}")
            await ledger.mark(digest)
            await lease.settle(await lease.announce(digest))

        for n in range(rounds):
            await timed(client.ping(), found[names[0]])
            await timed(ledger.mark(digester.digest(f"marked-{n}")), found[names[1]])
            await timed(revoke(n), found[names[2]])
        os.kill(peers[0].pid, signal.SIGSTOP)
        try:
            for n in range(STOPPED_ROUNDS):
                await timed(revoke(rounds + n), found[names[3]])
        finally:
            os.kill(peers[0].pid, signal.SIGCONT)
    finally:
        await lease.close()
        await client.aclose()
    return found


async def _until_every_lease_holds(client: aioredis.Redis, lease: RedisLease) -> None:
    deadline = time.monotonic() + 15
    while not (lease.holds and await client.zcard("mp:leases") == PEERS + 1):
        if time.monotonic() > deadline:
            raise SystemExit("the leases never all held")
        await asyncio.sleep(0.05)
    await asyncio.sleep(LEASE_SECONDS)  # a fresh Redis makes the first revokes wait a lease


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--peer", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        uvloop.run(peer(args.peer))
        return
    before = load()
    with tempfile.TemporaryDirectory(prefix="mp-bench-leases-") as folder:
        root = Path(folder)
        env = dict(os.environ)
        redis = Redis(root, env)
        command = [sys.executable, __file__, "--peer", redis.url]
        peers = [Process(command, env, root / f"peer{i}.log") for i in range(PEERS)]
        try:
            found = uvloop.run(measure(redis.url, args.rounds, peers))
        finally:
            for process in peers:
                process.stop()
            redis.stop()
    baseline = Stats.of(found["PING (baseline: one round trip)"])
    body = []
    for name, samples in found.items():
        stats = Stats.of(samples)
        body.append([name, f"{len(samples):,}", _ms(stats.median), _ms(stats.p99)])
        body[-1].append(f"x{stats.median / baseline.median:.1f}")
    print("\n".join(f"- {name}: {value}" for name, value in machine().items()))
    print(f"- load before, after (1, 5, 15 min): {before}; {load()}")
    print(f"- lease: {LEASE_SECONDS} s; peers: {PEERS} processes, each with its stream reader")
    print(f"- command: {' '.join(['bench/leases.py', *sys.argv[1:]])}\n")
    print(markdown_table(["revoke's Redis work", "n", "median ms", "p99 ms", "x PING"], body))


def _ms(ns: float) -> str:
    return f"{ns / 1e6:.3f}"


if __name__ == "__main__":
    main()
