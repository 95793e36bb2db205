"""Per-key limits in-process: CPU and Redis round trips of one admit + settle, against Redis.

    .venv/bin/python bench/key_limits.py [--requests N] [--rounds R]

The `KeyLimiter` that `serve` builds (`build_components`, with `MODELPORT_REDIS_URL` set to a
private `redis-server`, so that its CPU and `INFO commandstats` are the bench's alone; a
scratch SQLite database for the spend loader) on uvloop, as the replicas run. A key with
every limit at the highest value the API takes (rpm, tpm, monthly spend: each checked,
none refusing), against a key without limits. Each request is what the data plane does:
`admit` (the headers built) and `settle` with the fake upstream's tokens and cost. Lanes take
turns within each round; concurrency 1 (one request after another) and 16 (16 tasks). CPU is
this process's (utime + stime, every thread) and redis-server's, from /proc, over the lane.
Round trips are the commands a client sends on their own (`REDIS_SENT`), from `INFO
commandstats`; the commands inside a script or a MULTI/EXEC ride on its round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import uvloop

from cluster import Redis
from harness import BENCH_SECRET, load, machine, markdown_table
from modelport.components import Components, build_components
from modelport.config import Settings
from modelport.db.migrate import upgrade_to_head
from modelport.keys.limits import KeyLimits
from modelport.keys.verifier import KeyIdentity
from modelport.usage.admission import KeyLimiter

REDIS_SENT = ("mget", "exec", "evalsha", "eval", "set", "script|load", "ping", "hello")
"""As in bench/replicas.py: commands sent on their own, one round trip each."""
MAX_RPM = MAX_TPM = 1_000_000_000
MAX_SPEND = 1_000_000 * 10**12
"""The API's highest limits: every check made, none refusing."""
TOKENS, COST, ESTIMATE = 18, 31_250_000, 31_250_000
"""The fake upstream's tokens and cost per request (tests/support/upstream.py)."""
CONCURRENCY = (1, 16)
LANES = ("no limits", "rpm + tpm + spend")


@dataclass(frozen=True, slots=True)
class Run:
    lane: str
    concurrency: int
    requests: int
    cpu: float
    redis_cpu: float
    wall: float
    round_trips: int
    commands: dict[str, int]


def identity(lane: str) -> KeyIdentity:
    if lane == "no limits":
        return KeyIdentity(uuid.uuid4(), uuid.uuid4(), "bench", None)
    return KeyIdentity(
        uuid.uuid4(),
        uuid.uuid4(),
        "bench",
        None,
        KeyLimits(monthly_spend_picousd=MAX_SPEND, rpm_limit=MAX_RPM, tpm_limit=MAX_TPM),
    )


async def serve(limiter: KeyLimiter, key: KeyIdentity, count: int) -> None:
    """`count` requests, one after another, as `DataPlane._admit` and `_settle` make them."""
    for _ in range(count):
        headers: list[tuple[bytes, bytes]] = []
        admission = await limiter.admit(key, uuid.uuid4().hex, ESTIMATE, headers)
        await limiter.settle(admission, TOKENS, COST)


async def run(hub: Components, redis: Redis, lane: str, concurrency: int, count: int) -> Run:
    key = identity(lane)
    await serve(hub.key_limiter, key, 3)  # the spend counter loaded, the scripts cached
    per_task = count // concurrency
    calls, redis_cpu = redis.calls(), redis.process.cpu_seconds()
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(serve(hub.key_limiter, key, per_task) for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    redis_cpu = redis.process.cpu_seconds() - redis_cpu
    after = redis.calls()
    commands = {k: v - calls.get(k, 0) for k, v in after.items() if v != calls.get(k, 0)}
    commands.pop("info", None)
    trips = sum(commands.get(name, 0) for name in REDIS_SENT)
    total = per_task * concurrency
    return Run(lane, concurrency, total, cpu, redis_cpu, wall, trips, commands)


async def measure(root: Path, redis: Redis, count: int, rounds: int) -> list[Run]:
    url = f"sqlite:///{root / 'modelport.db'}"
    settings = Settings(database_url=url, secret=BENCH_SECRET, data_dir=root, redis_url=redis.url)
    hub = build_components(settings)
    try:
        await upgrade_to_head(hub.database)
        for concurrency in CONCURRENCY:  # warm-up
            for lane in LANES:
                await run(hub, redis, lane, concurrency, count // 4)
        runs = []
        for turn in range(rounds):
            for concurrency in CONCURRENCY:
                order = LANES if turn % 2 == 0 else tuple(reversed(LANES))
                for lane in order:
                    runs.append(await run(hub, redis, lane, concurrency, count))
            print(f"  round {turn + 1}/{rounds} (load {load()})", file=sys.stderr)
        return runs
    finally:
        await hub.close()


def table(runs: Sequence[Run]) -> str:
    body = []
    for concurrency in CONCURRENCY:
        for lane in LANES:
            cell = [r for r in runs if r.lane == lane and r.concurrency == concurrency]
            per = [r.cpu / r.requests * 1e6 for r in cell]
            redis_per = [r.redis_cpu / r.requests * 1e6 for r in cell]
            rate = [r.requests / r.wall for r in cell]
            trips = sum(r.round_trips for r in cell) / sum(r.requests for r in cell)
            body.append(
                [
                    lane,
                    str(concurrency),
                    f"{sum(r.requests for r in cell):,}",
                    f"{statistics.median(per):.0f}",
                    f"{min(per):.0f}-{max(per):.0f}",
                    f"{statistics.median(redis_per):.0f}",
                    f"{statistics.median(rate):,.0f}",
                    f"{trips:.2f}",
                ]
            )
    headers = [
        "key",
        "conc",
        "requests",
        "CPU µs/req (median)",
        "range over rounds",
        "redis-server µs/req",
        "admit+settle/s",
        "Redis round trips/req",
    ]
    return markdown_table(headers, body)


def commands(runs: Sequence[Run]) -> str:
    limited = [r for r in runs if r.lane != "no limits"]
    total = sum(r.requests for r in limited)
    names: dict[str, int] = {}
    for r in limited:
        for name, calls in r.commands.items():
            names[name] = names.get(name, 0) + calls
    return ", ".join(f"`{n}` {c / total:.2f}" for n, c in sorted(names.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=4_000, help="per lane and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mp-bench-") as folder:
        root = Path(folder)
        redis = Redis(root, {"PATH": "/usr/bin:/bin"})
        try:
            runs = uvloop.run(measure(root, redis, args.requests, args.rounds))
        finally:
            redis.stop()
    for name, value in machine().items():
        print(f"- {name}: {value}")
    print(f"- load after: {load()}")
    print(f"- Redis commands per limited request: {commands(runs)}\n")
    print(table(runs))


if __name__ == "__main__":
    main()
