"""Replicas: the gateway bench on PostgreSQL + Redis, 1 and 3 replicas, per-key limits on.

    .venv/bin/python bench/gateway.py --replicas [--quick] [--seconds S] [--revokes N] [--no-limits]

Started by `cluster.started`: the fake upstream, a private Redis, a scratch database on the
shared PostgreSQL, three replicas and two nginx fronts from the sample config (one over the
first replica, one over all three). The key has `rpm_limit`, `tpm_limit` and
`monthly_spend_limit` at the highest values the API takes, so every limit is checked on
every request and none refuses one. wrk drives four lanes, taking turns going first in each
cell: the upstream direct, one replica directly, one replica through nginx, three replicas
through nginx. CPU comes from /proc for every process on the serving side (replicas, nginx
master and worker, Redis, the PostgreSQL sessions of the scratch database, the upstream).
Usage rows are counted in PostgreSQL after each run; then `revoke.py` measures revocation.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import loadgen
import revoke
from chat import MODES, body
from cluster import CHAT, Cluster, Counters, started
from harness import load, machine, markdown_table
from processes import request

REPLICAS = 3
CONCURRENCY = (1, 16, 64)
LANES = ("direct", "one replica", "one replica + nginx", "three replicas + nginx")
SERVING = {"direct": (), "one replica": (0,), "one replica + nginx": (0,)}
SPOT_CHECKS = 20
REDIS_SENT = ("mget", "exec", "evalsha", "eval", "set", "script|load", "ping", "hello")
"""Commands a replica sends itself, one round trip each. The others run inside a MULTI/EXEC
pipeline (its EXEC is the round trip) or a Lua script (its EVALSHA is); GET is left out,
since the spend script runs one per reservation (a replica's own GET of the boot marker,
after Redis was given up on, is rare)."""
STATS_FLUSH_SECONDS = 11.0
"""PostgreSQL 15 sessions report their transaction counts within 10 s of going idle."""


def say(what: str) -> None:
    print(f"  {what} (load {load()})", file=sys.stderr)


def url(cluster: Cluster, lane: str) -> str:
    port = {
        "direct": cluster.upstream_port,
        "one replica": cluster.ports[0],
        "one replica + nginx": cluster.fronts["nginx-1"].port,
    }.get(lane, cluster.fronts[f"nginx-{REPLICAS}"].port)
    return f"http://127.0.0.1:{port}{CHAT}"


def serving(lane: str) -> tuple[int, ...]:
    return SERVING.get(lane, tuple(range(REPLICAS)))


# -- one run ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reading:
    """CPU seconds so far of everything on the serving side, and Redis's command counts."""

    replicas: tuple[float, ...]
    upstream: float
    redis: float
    fronts: float
    postgres: dict[int, float]
    redis_calls: dict[str, int]

    @classmethod
    def now(cls, cluster: Cluster) -> Reading:
        return cls(
            tuple(r.cpu_seconds() for r in cluster.replicas),
            cluster.upstream.cpu_seconds(),
            cluster.redis.process.cpu_seconds(),
            sum(front.cpu_seconds() for front in cluster.fronts.values()),
            cluster.postgres.backend_cpu(),
            cluster.redis.calls(),
        )


@dataclass(frozen=True, slots=True)
class Run:
    lane: str
    mode: str
    connections: int
    result: loadgen.Result
    replica_cpu: tuple[float, ...]
    """CPU seconds of each replica over the run, finishing what was in flight included."""
    served: tuple[int, ...]
    """Chat responses each replica counted (its /metrics) over the run."""
    verified: dict[str, int]
    resets: int
    """Times the serving replicas forgot their key caches (Redis given up on, or back)."""
    upstream_cpu: float
    redis_cpu: float
    front_cpu: float
    postgres_cpu: float
    redis_calls: dict[str, int]
    rows: int
    ok_rows: int
    commits: int
    rss: tuple[int, ...]

    def check(self) -> None:
        """Every completed request has its row; at most the requests cut off at the end more."""
        done = self.result.requests
        if self.result.errors:
            raise RuntimeError(f"{self.lane} {self.mode} c={self.connections}: errors")
        if self.lane == "direct":
            if self.rows:
                raise RuntimeError("direct calls wrote usage rows")
            return
        if self.ok_rows < done or self.rows > done + self.connections:
            raise RuntimeError(
                f"{self.lane} {self.mode} c={self.connections}: "
                f"{self.rows} rows, {self.ok_rows} ok, {done} completed"
            )

    def per_request(self, seconds: float) -> float:
        """Milliseconds per completed request."""
        return seconds * 1e3 / self.result.requests

    @property
    def hub_cpu(self) -> float:
        return sum(self.replica_cpu[i] for i in serving(self.lane))

    @property
    def serving_cpu(self) -> float:
        """Replicas, nginx, Redis and PostgreSQL: the hub's side, the upstream left out."""
        return self.hub_cpu + self.front_cpu + self.redis_cpu + self.postgres_cpu

    @property
    def redis_round_trips(self) -> int:
        return sum(self.redis_calls.get(name, 0) for name in REDIS_SENT)


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def _counters(cluster: Cluster) -> list[Counters]:
    return [cluster.counters(i) for i in range(REPLICAS)]


def measure(
    cluster: Cluster, lane: str, mode: str, connections: int, seconds: float, lua: Path
) -> Run:
    first_id = cluster.settle()
    counted = _counters(cluster)  # before the CPU readings: /metrics costs CPU too
    before = Reading.now(cluster)
    result = loadgen.run(url(cluster, lane), lua, connections, seconds)
    last_id = cluster.settle()
    after = Reading.now(cluster)
    now = _counters(cluster)
    rows, ok, commits = cluster.usage(first_id, last_id)
    verified: dict[str, int] = {}
    for old, new in zip(counted, now, strict=True):
        for source, n in new.verified.items():
            verified[source] = verified.get(source, 0) + n - old.verified.get(source, 0)
    run = Run(
        lane,
        mode,
        connections,
        result,
        tuple(a - b for a, b in zip(after.replicas, before.replicas, strict=True)),
        tuple(n.served - o.served for n, o in zip(now, counted, strict=True)),
        verified,
        sum(now[i].epoch - counted[i].epoch for i in serving(lane)),
        after.upstream - before.upstream,
        after.redis - before.redis,
        after.fronts - before.fronts,
        sum(cpu - before.postgres.get(pid, 0.0) for pid, cpu in after.postgres.items()),
        _delta(after.redis_calls, before.redis_calls),
        rows,
        ok,
        commits,
        tuple(r.rss_bytes() for r in cluster.replicas),
    )
    run.check()
    hub = f", hub {run.per_request(run.hub_cpu):.3f} ms CPU/req" if lane != "direct" else ""
    say(f"{mode:6} {lane:22} c={connections:<3} {result.rate:8.0f} req/s{hub}")
    return run


def matrix(cluster: Cluster, seconds: float) -> list[Run]:
    """Every mode and concurrency; in each cell the four lanes, a different one first."""
    lua = {
        (mode, lane): loadgen.script(
            cluster.root,
            f"{mode}-{lane.replace(' ', '-')}",
            body(mode),
            None if lane == "direct" else cluster.secret,
        )
        for mode in MODES
        for lane in LANES
    }
    for (_, lane), script in lua.items():
        loadgen.run(url(cluster, lane), script, 16, min(seconds, 2))
    runs = []
    cell = 0
    for mode in MODES:
        for connections in CONCURRENCY:
            order = LANES[cell % len(LANES) :] + LANES[: cell % len(LANES)]
            cell += 1
            runs += [
                measure(cluster, lane, mode, connections, seconds, lua[mode, lane])
                for lane in order
            ]
    return runs


def spot_check(cluster: Cluster) -> int:
    """Each response through the 3-replica front has its usage row the moment it is read."""
    front = cluster.fronts[f"nginx-{REPLICAS}"].port
    for ordinal in range(SPOT_CHECKS):
        mode = MODES[ordinal % 2]
        status, answer, request_id = request(front, "POST", CHAT, body(mode), cluster.secret)
        if status != 200 or request_id is None:
            raise RuntimeError(f"spot check: HTTP {status} {answer[:300]!r}")
        found = cluster.postgres.fetchrow(
            "SELECT status FROM usage_records WHERE request_id = $1", request_id
        )
        if found is None or found[0] != "ok":
            raise RuntimeError(f"request {request_id} answered before its usage committed")
    return SPOT_CHECKS


def transactions(cluster: Cluster) -> int:
    """Transactions the scratch database has ended so far, once every session reported."""
    time.sleep(STATS_FLUSH_SECONDS)
    row = cluster.postgres.fetchrow(
        "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1",
        cluster.postgres.name,
    )
    return int(row[0]) - cluster.postgres.queries


def spend_check(cluster: Cluster) -> tuple[int | None, int]:
    """(the key's spend counter in Redis, the sum of its usage rows this month), picodollars."""
    month = datetime.now(UTC).strftime("%Y-%m")
    counter = cluster.redis.get_int(f"mp:spend:{cluster.key_id}:{month}")
    start = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    row = cluster.postgres.fetchrow(
        "SELECT coalesce(sum(cost_picousd), 0) FROM usage_records"
        " WHERE key_id = $1::uuid AND created_at >= $2",
        cluster.key_id,
        start,
    )
    return counter, int(row[0])


# -- the report ---------------------------------------------------------------------------


def _ms(us: float) -> str:
    return f"{us / 1e3:.2f}"


def _by(runs: Sequence[Run]) -> dict[tuple[str, str, int], Run]:
    return {(r.lane, r.mode, r.connections): r for r in runs}


def latency_table(runs: Sequence[Run]) -> str:
    by = _by(runs)
    rows = []
    for mode in MODES:
        for c in CONCURRENCY:
            direct = by["direct", mode, c].result
            for lane in LANES:
                run = by[lane, mode, c]
                r = run.result
                through = lane != "direct"
                rows.append(
                    [
                        mode,
                        str(c),
                        lane,
                        f"{r.rate:,.0f}",
                        f"x{r.rate / direct.rate:.3f}",
                        _ms(r.p50_us),
                        _ms(r.p50_us - direct.p50_us) if through else "",
                        _ms(r.p99_us),
                        _ms(r.p99_us - direct.p99_us) if through else "",
                        f"{run.rows:,}/{r.requests:,}" if through else "",
                    ]
                )
    headers = ["mode", "conc", "lane", "req/s", "x direct", "p50 ms", "added p50 ms"]
    headers += ["p99 ms", "added p99 ms", "rows/completed"]
    return markdown_table(headers, rows)


def _per_replica(run: Run) -> str:
    """CPU ms per request of each serving replica, and its share of the requests."""
    total = sum(run.served[i] for i in serving(run.lane)) or 1
    parts = [
        f"{run.replica_cpu[i] * 1e3 / max(run.served[i], 1):.3f} ({run.served[i] / total:.0%})"
        for i in serving(run.lane)
    ]
    return " / ".join(parts)


def cost_table(runs: Sequence[Run]) -> str:
    rows = []
    for run in runs:
        if run.lane == "direct":
            continue
        n = run.result.requests
        rows.append(
            [
                run.mode,
                str(run.connections),
                run.lane,
                f"{run.per_request(run.hub_cpu):.3f}",
                _per_replica(run) if len(serving(run.lane)) > 1 else "",
                f"{run.per_request(run.front_cpu):.3f}" if "nginx" in run.lane else "",
                f"{run.per_request(run.redis_cpu):.3f}",
                f"{run.per_request(run.postgres_cpu):.3f}",
                f"{run.per_request(run.serving_cpu):.3f}",
                f"{run.redis_round_trips / n:.2f}",
                f"{run.rows / max(run.commits, 1):.1f}",
                f"{run.verified.get('cache', 0) / max(sum(run.verified.values()), 1):.1%}",
                str(run.resets),
                f"{max(run.rss[i] for i in serving(run.lane)) / 2**20:.0f}",
            ]
        )
    rows.sort(key=lambda r: (MODES.index(r[0]), int(r[1]), LANES.index(r[2])))
    headers = ["mode", "conc", "lane", "replicas CPU ms/req", "per replica ms/req (share)"]
    headers += ["nginx ms/req", "Redis ms/req", "PostgreSQL ms/req", "serving side ms/req"]
    headers += ["Redis round trips/req", "rows/commit", "verified from cache", "cache resets"]
    headers += ["RSS MiB"]
    return markdown_table(headers, rows)


def scale_table(runs: Sequence[Run]) -> str:
    """1 against 3 replicas behind nginx, at each concurrency."""
    by = _by(runs)
    rows = []
    for mode in MODES:
        for c in CONCURRENCY:
            one = by["one replica + nginx", mode, c]
            three = by["three replicas + nginx", mode, c]
            rows.append(
                [
                    mode,
                    str(c),
                    f"{one.result.rate:,.0f}",
                    f"{three.result.rate:,.0f}",
                    f"x{three.result.rate / one.result.rate:.2f}",
                    f"{one.per_request(one.serving_cpu):.3f}",
                    f"{three.per_request(three.serving_cpu):.3f}",
                ]
            )
    headers = ["mode", "conc", "1 replica req/s", "3 replicas req/s", "3 / 1"]
    headers += ["serving side ms/req, 1", "serving side ms/req, 3"]
    return markdown_table(headers, rows)


def redis_commands(runs: Sequence[Run]) -> str:
    """Redis commands per request by name, over every plain and every streaming run."""
    lines = []
    for mode in MODES:
        done = [r for r in runs if r.mode == mode and r.lane != "direct"]
        requests = sum(r.result.requests for r in done)
        calls: dict[str, int] = {}
        for run in done:
            for name, n in run.redis_calls.items():
                calls[name] = calls.get(name, 0) + n
        shown = ", ".join(f"{k} {v / requests:.2f}" for k, v in sorted(calls.items()))
        lines.append(f"- Redis commands per {mode} request: {shown}")
    return "\n".join(lines)


def main(seconds: float, revokes: int, *, limits: bool) -> None:
    loadgen.require_wrk()
    before = load()
    say("starting")
    with (
        tempfile.TemporaryDirectory(prefix="mp-replicas-") as folder,
        started(Path(folder), REPLICAS, limits=limits) as cluster,
    ):
        checked = spot_check(cluster)
        say(f"spot check: {checked} responses each found their usage row committed")
        ended = transactions(cluster)
        runs = matrix(cluster, seconds)
        served = sum(r.rows for r in runs)
        commits = sum(r.commits for r in runs)
        ended = transactions(cluster) - ended
        counter, rows_spend = spend_check(cluster)
        rss = [r.rss_bytes() / 2**20 for r in cluster.replicas]
        propagation = revoke.measure(cluster, revokes) if revokes else None
    print("\n".join(f"- {name}: {value}" for name, value in machine().items()))
    print(f"- load (1, 5, 15 min): before {before}; after {load()}")
    print(f"- command: {' '.join(['bench/gateway.py', *sys.argv[1:]])}, {seconds:g} s per run")
    print(f"- per-key limits: {'rpm, tpm and monthly spend' if limits else 'none'}")
    print(f"- spot check: {checked} responses, each with its usage row committed when read")
    print(
        f"- PostgreSQL: {ended:,} transactions for {commits:,} usage commits of {served:,} rows"
        f" ({ended / max(commits, 1):.2f} per commit, {ended / max(served, 1):.3f} per row)"
    )
    print(f"- spend: Redis counter {counter} picodollars, usage rows {rows_spend} picodollars")
    print(f"- replica RSS at the end: {', '.join(f'{m:.0f}' for m in rss)} MiB")
    print(redis_commands(runs) + "\n")
    print(latency_table(runs) + "\n\n" + cost_table(runs) + "\n\n" + scale_table(runs))
    if propagation is not None:
        print("\n" + propagation)
