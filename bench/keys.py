"""Model access keys: verify in-process, the lifecycle and lists over real HTTP.

    .venv/bin/python bench/keys.py [--backend sqlite|postgresql|both] [--keys N]
                                   [--list-keys M] [--rounds R]

For each backend: three scratch databases, each with one team of 1,000, N and M keys
(`live_key_count` kept): the first 10,000 of a team's keys seeded through the ORM as `create`
would (real secrets and digests), the rest in bulk (random digests that no secret has, in
transactions of 50,000 rows); then
- verify in this process, against a bare HMAC of the same secret: with the components
  `serve` builds (without Redis, and with it if `--redis` answers), uncached, an unknown
  secret and a bad checksum;
- a real `modelport serve` on each database: list page 1 and the last page on all three,
  side by side; then create, rename, regenerate and delete on the one with N keys. Every
  round starts with a bare `GET /healthz` on the same server, so that load from elsewhere
  hits every operation and its baseline alike.
Prints Markdown tables for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import uvloop
from redis.exceptions import RedisError
from sqlalchemy import insert

from harness import (
    BENCH_SECRET,
    Server,
    Stats,
    load,
    machine,
    markdown_table,
    pg_version,
    scratch_database,
)
from modelport.auth.repository import TeamRepository
from modelport.auth.service import TokenService
from modelport.components import KEY_CACHE_SECONDS, Components, build_components
from modelport.config import Settings
from modelport.core import secrets as secret_format
from modelport.core.clock import utcnow
from modelport.db.migrate import upgrade_to_head
from modelport.db.tables import ModelKey
from modelport.errors import Unauthenticated
from modelport.keys.verifier import KeyVerifier

BASE = "/v2/gen-ai/models/api_keys"
SMALL = 1_000
VERIFY_KEYS = 2_000
VERIFY_PASSES = 10
VERIFY_BUDGET_NS = 2_000_000_000
VERIFY_LIMIT_NS = 100_000
LEASE_LIMIT_NS = 20_000
"""Issue 13: a cache hit on a replica with Redis, with no round trip."""
HTTP_LIMIT_NS = 5_000_000
REDIS_URL = "redis://127.0.0.1:6379/15"
WARMUP_ROUNDS = 20
SEED_BATCH = 5_000
REAL_KEYS = 10_000
"""Keys seeded as `create` would, secrets kept; past these, keys are seeded in bulk."""
BULK_BATCH = 50_000
LIST_KEYS = 1_000_000
LIST_SCALE_TOLERANCE = 1.2


@dataclass(frozen=True, slots=True)
class Row:
    backend: str
    operation: str
    keys: int
    stats: Stats
    baseline: Stats | None
    app_ms: Stats | None = None
    limit_ns: int | None = None


# -- seeding --------------------------------------------------------------------------------


class Seeder:
    """Grows one team's keys: the first `REAL_KEYS` as `create` would (real secrets, real
    digests), the rest in bulk; the team's count kept either way."""

    def __init__(self, hub: Components, team_id: uuid.UUID, total: int) -> None:
        self._hub = hub
        self._team_id = team_id
        self._oldest = utcnow() - timedelta(milliseconds=total + 1)
        self.count = 0
        self.ids: list[uuid.UUID] = []
        """The ids of the real keys, in the order of `secrets`."""
        self.secrets: list[str] = []

    async def grow_to(self, count: int) -> None:
        while self.count < count:
            real = self.count < REAL_KEYS
            end = min(count, REAL_KEYS) if real else count
            size = min(SEED_BATCH if real else BULK_BATCH, end - self.count)
            async with self._hub.database.write() as unit:
                if real:
                    unit.session.add_all([self._new_key() for _ in range(size)])
                else:
                    await unit.session.execute(insert(ModelKey), self._bulk_rows(size))
                await TeamRepository(unit.session).adjust_key_count(self._team_id, size)
            self.count += size

    def _new_key(self) -> ModelKey:
        index = len(self.ids)
        secret = secret_format.generate(secret_format.MODEL_KEY_PREFIX)
        key = ModelKey(
            id=uuid.uuid4(),
            team_id=self._team_id,
            name=f"seed-{index:06d}",
            digest=self._hub.digester.digest(secret),
            hint=secret_format.hint(secret),
            models=None,
            created_at=self._oldest + timedelta(milliseconds=index),
            created_by="token:bench",
        )
        self.ids.append(key.id)
        self.secrets.append(secret)
        return key

    def _bulk_rows(self, size: int) -> list[dict[str, object]]:
        """Rows like `_new_key`'s, each with a random digest: a key no secret opens, which a
        list reads as any other."""
        return [
            {
                "id": uuid.uuid4(),
                "team_id": self._team_id,
                "name": f"seed-{index:06d}",
                "digest": os.urandom(32),
                "hint": "bulk",
                "created_at": self._oldest + timedelta(milliseconds=index),
                "created_by": "token:bench",
            }
            for index in range(self.count, self.count + size)
        ]


async def new_team(hub: Components) -> tuple[uuid.UUID, str]:
    """A team of the bench's own and a read-write token for it, made on the database."""
    async with hub.database.write() as unit:
        tokens = TokenService(unit, hub.digester)
        team = await tokens.team("bench", create=True)
        _, token = await tokens.issue(team, "bench", read_only=False, created_by="bench")
    return team.id, token


# -- verify, in this process --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Probe:
    """One way to check the same secrets: a verifier, or the bare HMAC when it is None."""

    name: str
    verifier: KeyVerifier | None
    secrets: Sequence[str]
    accept: bool
    limit_ns: int | None = None


async def verify_rows(backend: str, keys: int, probes: Sequence[Probe]) -> list[Row]:
    """Each probe in interleaved passes; the first probe is the baseline.

    A probe that needs the database is slow, so it stops after two passes once it has
    spent its time budget.
    """
    found: dict[str, list[int]] = {probe.name: [] for probe in probes}
    for ordinal in range(VERIFY_PASSES):
        for probe in probes:
            if ordinal < 2 or sum(found[probe.name]) < VERIFY_BUDGET_NS:
                await _time_probe(probe, found[probe.name])
    baseline = Stats.of(found[probes[0].name])
    return [
        Row(backend, p.name, keys, Stats.of(found[p.name]), baseline, limit_ns=p.limit_ns)
        for p in probes
    ]


async def _time_probe(probe: Probe, into: list[int]) -> None:
    if probe.verifier is None:
        server_key = BENCH_SECRET.encode()
        for secret in probe.secrets:
            started = time.perf_counter_ns()
            hmac.new(server_key, secret.encode(), hashlib.sha256).digest()
            into.append(time.perf_counter_ns() - started)
        return
    for secret in probe.secrets:
        started = time.perf_counter_ns()
        try:
            await probe.verifier.verify(secret)
            accepted = True
        except Unauthenticated:
            accepted = False
        into.append(time.perf_counter_ns() - started)
        if accepted is not probe.accept:
            raise RuntimeError(f"{probe.name}: answered wrongly; the bench is broken")


async def probes_for(
    big: Components, with_redis: Components | None, secrets: Sequence[str]
) -> list[Probe]:
    """The baseline, the verifier as `serve` wires it (with and without Redis), uncached,
    and the two refusals. Each cache is filled first, as traffic would."""
    name = "verify valid, as served" + (" without Redis" if with_redis else "")
    served = [(name, big.verifier, VERIFY_LIMIT_NS)]
    if with_redis is not None:
        lease = "verify valid, as served with Redis (cache lease)"
        served.append((lease, with_redis.verifier, LEASE_LIMIT_NS))
        # What every cache hit cost before leases: the ledger asked once per hit.
        per_hit = KeyVerifier(
            with_redis.database,
            with_redis.digester,
            with_redis.ledger,
            cache_seconds=KEY_CACHE_SECONDS,
        )
        served.append(("verify valid, with Redis, ledger asked per hit", per_hit, VERIFY_LIMIT_NS))
    for _, verifier, _ in served:
        for _ in range(2):  # the second pass refills what a Redis ledger's first look voided
            for secret in secrets:
                await verifier.verify(secret)
    cold = KeyVerifier(big.database, big.digester, big.ledger, cache_seconds=0)
    unknown = [secret_format.generate(secret_format.MODEL_KEY_PREFIX) for _ in secrets]
    bad = [s[:-1] + ("0" if s[-1] != "0" else "1") for s in secrets]
    return [
        Probe("bare HMAC-SHA-256 of the secret (baseline)", None, secrets, True),
        *(Probe(name, verifier, secrets, True, limit) for name, verifier, limit in served),
        Probe("verify valid, uncached (cache_seconds=0)", cold, secrets, True),
        Probe("verify unknown (valid checksum)", big.verifier, unknown, False),
        Probe("verify bad checksum", big.verifier, bad, False),
    ]


# -- over HTTP ----------------------------------------------------------------------------

Step = Callable[[int], tuple[str, str, object]]


@dataclass(frozen=True, slots=True)
class Lane:
    """One running hub, a token for it, and the requests to send it each round."""

    server: Server
    token: str
    keys: int
    steps: dict[str, Step]


def http_rows(backend: str, lanes: Sequence[Lane], rounds: int, beside: str) -> list[Row]:
    """Round-robin over the lanes, each a bare `GET /healthz` then its steps, in one window.

    Interleaving spreads load from elsewhere over every operation alike; the lanes take
    turns going first. The first rounds are a warm-up and not counted.
    """
    healthz = f"GET /healthz (baseline, beside {beside})"
    bare: Step = lambda _: ("GET", "/healthz", None)  # noqa: E731
    timings = [{name: Timings() for name in [healthz, *lane.steps]} for lane in lanes]
    with ExitStack() as stack:
        clients = [stack.enter_context(lane.server.client(lane.token)) for lane in lanes]
        for ordinal in range(WARMUP_ROUNDS + rounds):
            turn = list(zip(lanes, clients, timings, strict=True))
            for lane, client, found in turn if ordinal % 2 else reversed(turn):
                for name, step in {healthz: bare, **lane.steps}.items():
                    method, path, body = step(ordinal)
                    started = time.perf_counter_ns()
                    reply = client.call(method, path, body)
                    elapsed = time.perf_counter_ns() - started
                    if reply.status != 200:
                        raise RuntimeError(f"{name}: HTTP {reply.status} {reply.body[:300]!r}")
                    if name.startswith("list") and not reply.json()["api_key_infos"]:
                        raise RuntimeError(f"{name}: an empty page; the bench is broken")
                    if ordinal >= WARMUP_ROUNDS:
                        found[name].add(elapsed, reply.request_id)
    rows = []
    for lane, found in zip(lanes, timings, strict=True):
        in_app = lane.server.app_durations_ms({r for t in found.values() for r in t.request_ids})
        baseline = Stats.of(found[healthz].samples)
        for name, timing in found.items():
            app = Stats.of([int(in_app[r] * 1e6) for r in timing.request_ids])
            limit = None if name == healthz else HTTP_LIMIT_NS
            samples = Stats.of(timing.samples)
            rows.append(Row(backend, name, lane.keys, samples, baseline, app, limit))
    return rows


@dataclass(slots=True)
class Timings:
    samples: list[int] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)

    def add(self, elapsed: int, request_id: str | None) -> None:
        self.samples.append(elapsed)
        self.request_ids.append(request_id or "")


def list_steps(keys: int) -> dict[str, Step]:
    last = -(-keys // 20)
    return {
        "list page 1": lambda _: ("GET", f"{BASE}?page=1&per_page=20", None),
        "list last page": lambda _: ("GET", f"{BASE}?page={last}&per_page=20", None),
    }


def lifecycle_steps(targets: Sequence[uuid.UUID], rounds: int) -> dict[str, Step]:
    """Create a key, then rename, regenerate and delete three distinct seeded ones."""
    total = WARMUP_ROUNDS + rounds
    rename, regenerate, delete = (targets[i * total : (i + 1) * total] for i in range(3))
    return {
        "create": lambda i: ("POST", BASE, {"name": f"bench-{i}"}),
        "rename": lambda i: ("PUT", f"{BASE}/{rename[i]}", {"name": f"renamed-{i}"}),
        "regenerate": lambda i: ("PUT", f"{BASE}/{regenerate[i]}/regenerate", None),
        "delete": lambda i: ("DELETE", f"{BASE}/{delete[i]}", None),
    }


# -- one backend --------------------------------------------------------------------------

# Lifted so that the bench is not throttled by the /v2 per-token limit (250 a minute).
SERVER_ENV = {"MODELPORT_API_RATE_LIMIT_PER_MINUTE": "10000000"}


@dataclass(frozen=True, slots=True)
class Store:
    """A scratch database with one team of seeded keys, and the components over it."""

    url: str
    hub: Components
    token: str
    seeded: Seeder


@asynccontextmanager
async def seeded_store(backend: str, folder: Path, keys: int) -> AsyncIterator[Store]:
    folder.mkdir()
    async with scratch_database(backend, folder) as url:
        hub = build_components(Settings(database_url=url, secret=BENCH_SECRET, data_dir=folder))
        try:
            await upgrade_to_head(hub.database)
            team_id, token = await new_team(hub)
            seeded = Seeder(hub, team_id, keys)
            await seeded.grow_to(keys)
            yield Store(url, hub, token, seeded)
        finally:
            await hub.close()


async def run_backend(
    backend: str, keys: int, list_keys: int, rounds: int, redis_url: str | None
) -> tuple[list[Row], list[Row]]:
    """(in-process rows, HTTP rows) for one backend, on scratch databases dropped after.

    Lists run against a hub per size side by side (1,000 keys, `keys` and `list_keys`), so
    that every size is measured in the same window; the rest runs on the one with `keys`.
    """
    needed = VERIFY_KEYS + 3 * (WARMUP_ROUNDS + rounds)
    if min(keys, REAL_KEYS) < needed:
        raise SystemExit(
            f"{needed:,} real keys are needed ({VERIFY_KEYS:,} to verify, three a round); a"
            f" team has min(--keys, {REAL_KEYS:,}): raise --keys or lower --rounds"
        )
    sizes = sorted({SMALL, keys, list_keys} - {0})
    with tempfile.TemporaryDirectory(prefix="mp-bench-") as folder:
        root = Path(folder)
        say(f"{backend}: seeding " + ", ".join(f"{size:,}" for size in sizes) + " keys")
        async with AsyncExitStack() as stores_stack:
            stores = {}
            for size in sizes:
                store = seeded_store(backend, root / str(size), size)
                stores[size] = await stores_stack.enter_async_context(store)
            big = stores[keys]
            with_redis = await stores_stack.enter_async_context(
                redis_wired(big.url, root / str(keys), redis_url)
            )
            say(f"{backend}: verify in-process")
            probes = await probes_for(big.hub, with_redis, big.seeded.secrets[:VERIFY_KEYS])
            verify = await verify_rows(backend, keys, probes)
            with ExitStack() as servers_stack:
                servers = {
                    size: servers_stack.enter_context(
                        Server(store.url, root / str(size) / "server", SERVER_ENV)
                    )
                    for size, store in stores.items()
                }
                say(f"{backend}: lists at " + ", ".join(f"{size:,}" for size in sizes) + " keys")
                lanes = [
                    Lane(servers[size], stores[size].token, size, list_steps(size))
                    for size in sizes
                ]
                http = http_rows(backend, lanes, rounds, "lists")
                targets = big.seeded.ids[VERIFY_KEYS:]
                random.Random(2).shuffle(targets)
                say(f"{backend}: writes at {keys:,} keys")
                lane = Lane(servers[keys], big.token, keys, lifecycle_steps(targets, rounds))
                http += http_rows(backend, [lane], rounds, "writes")
    return verify, http


@asynccontextmanager
async def redis_wired(
    url: str, folder: Path, redis_url: str | None
) -> AsyncIterator[Components | None]:
    """The components `serve` builds with Redis configured; None without a reachable Redis."""
    if redis_url is None:
        yield None
        return
    settings = Settings(database_url=url, secret=BENCH_SECRET, data_dir=folder, redis_url=redis_url)
    hub = build_components(settings)
    try:
        assert hub.redis is not None
        try:
            await hub.redis.ping()
        except (RedisError, OSError):
            say(f"no Redis at {redis_url}: the 'with Redis' rows are left out")
            yield None
            return
        await hub.lease.start()  # as `serve` does; cache hits skip Redis once it holds
        deadline = time.monotonic() + 10
        while not hub.lease.holds:
            if time.monotonic() > deadline:
                raise SystemExit(f"the cache lease on {redis_url} never held (a silent peer?)")
            await asyncio.sleep(0.05)
        yield hub
    finally:
        await hub.close()


def say(what: str) -> None:
    print(f"  {what} (load {load()})", file=sys.stderr)


# -- the report ---------------------------------------------------------------------------


def _us(ns: int) -> str:
    return f"{ns / 1e3:.1f}"


def _ms(ns: int) -> str:
    return f"{ns / 1e6:.2f}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _target(row: Row, unit: Callable[[int], str], name: str) -> str:
    if row.limit_ns is None:
        return ""
    return f"< {unit(row.limit_ns).rstrip('0').rstrip('.')} {name}: " + _verdict(
        row.stats.median < row.limit_ns
    )


def verify_table(rows: Sequence[Row]) -> str:
    body = []
    for row in rows:
        assert row.baseline is not None
        stats = row.stats
        ratio = f"x{stats.median / row.baseline.median:.1f}"
        body.append([row.backend, row.operation, f"{len(stats.samples):,}", _us(stats.median)])
        body[-1] += [_us(stats.p99), ratio, _target(row, _us, "µs")]
    headers = ["backend", "in-process", "n", "median µs", "p99 µs", "x HMAC", "target"]
    return markdown_table(headers, body)


def http_table(rows: Sequence[Row]) -> str:
    body = []
    for row in rows:
        assert row.baseline is not None
        assert row.app_ms is not None
        stats = row.stats
        body.append([row.backend, row.operation, f"{row.keys:,}", f"{len(stats.samples):,}"])
        body[-1] += [_ms(stats.median), _ms(stats.p99), _ms(row.app_ms.median)]
        body[-1] += [f"x{stats.median / row.baseline.median:.1f}", _target(row, _ms, "ms")]
    headers = ["backend", "over HTTP", "keys", "n", "median ms", "p99 ms", "in app ms", "x healthz"]
    return markdown_table([*headers, "target"], body)


def scale_table(rows: Sequence[Row]) -> str:
    """Each list page at every size against the same page at 1,000, measured side by side."""
    small = {(r.backend, r.operation): r for r in rows if r.keys == SMALL}
    body = []
    for big in rows:
        before = small.get((big.backend, big.operation))
        if before is None or big is before or not big.operation.startswith("list"):
            continue
        assert before.app_ms is not None
        assert big.app_ms is not None
        raw = big.stats.median / before.stats.median
        in_app = big.app_ms.median / before.app_ms.median
        verdict = f"<= x{LIST_SCALE_TOLERANCE}: " + _verdict(raw <= LIST_SCALE_TOLERANCE)
        body.append([big.backend, big.operation, f"{big.keys:,}", _ms(before.stats.median)])
        body[-1] += [_ms(big.stats.median), f"x{raw:.2f}", f"x{in_app:.2f}", verdict]
    headers = ["backend", "page", "keys", f"at {SMALL:,} ms", "at keys ms", "ratio"]
    return markdown_table([*headers, "ratio in app", "target"], body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--keys", type=int, default=100_000, help="keys in the team")
    parser.add_argument(
        "--list-keys",
        type=int,
        default=LIST_KEYS,
        help=f"keys in a third team, for lists only (default {LIST_KEYS:,}; 0: none)",
    )
    parser.add_argument("--rounds", type=int, default=300, help="measured HTTP rounds")
    parser.add_argument(
        "--redis",
        default=REDIS_URL,
        help=f"Redis for the 'as served with Redis' verify rows (default {REDIS_URL}); 'none'",
    )
    args = parser.parse_args()
    redis_url = None if args.redis == "none" else args.redis
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    about = machine()
    if "postgresql" in backends:
        about["postgresql"] = uvloop.run(pg_version())
    print(f"load before: {load()}", file=sys.stderr)
    verify: list[Row] = []
    http: list[Row] = []
    for backend in backends:
        more_verify, more_http = uvloop.run(
            run_backend(backend, args.keys, args.list_keys, args.rounds, redis_url)
        )
        verify += more_verify
        http += more_http
    print("\n".join(f"- {name}: {value}" for name, value in about.items()))
    print(f"- load after (1, 5, 15 min): {load()}")
    print(f"- command: {' '.join(['bench/keys.py', *sys.argv[1:]])}\n")
    print(verify_table(verify) + "\n\n" + http_table(http) + "\n\n" + scale_table(http))


if __name__ == "__main__":
    main()
