"""Gateway: /v1 chat completions through one `modelport serve`, against the upstream direct.

    .venv/bin/python bench/gateway.py [--quick] [--long] [--seconds S] [--profile FILE]
    .venv/bin/python bench/gateway.py --replicas [--quick] [--seconds S] [--revokes N] [--no-limits]

One fast fake upstream (bench/fast_upstream.py, raw asyncio), one `modelport serve` on its
default SQLite database with a catalog pointing at that upstream and a real key created over
the API. wrk drives both, direct and through, plain and streaming, at concurrency 1, 16 and
64, in one window. After each run the usage rows are counted in the database: every
completed request has its row. Before the runs, a spot check reads the row of each of a few
requests the moment its response has arrived. A second key, with a monthly spend limit and
prepaid credit, is measured against the key without limits (plain, concurrency 1 and 64,
interleaved rounds): what per-key limits on cost add to a request's CPU. `--long` adds
100,000 requests at concurrency 64 with RSS sampled throughout. `--profile FILE` records
py-spy's collapsed stacks of the hub during an extra concurrency-64 run. `--replicas` runs
the same load against 1 and 3 replicas on PostgreSQL + Redis instead, with per-key limits
on, and measures how soon a revoked secret is refused everywhere (bench/replicas.py).
Prints Markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import loadgen
import replicas
from chat import API_PATHS, MODEL, MODES, body, start_upstream
from harness import free_port, load, machine, markdown_table, steady
from processes import Process, request

CONCURRENCY = (1, 16, 64)
LONG_REQUESTS = 100_000
LONG_SEGMENT_SECONDS = 10
SPOT_CHECKS = 20


# -- processes ----------------------------------------------------------------------------


@dataclass
class Bench:
    """The fake upstream, the hub and what it takes to call them."""

    root: Path
    upstream: Process
    upstream_port: int
    hub: Process
    hub_port: int
    database: Path
    key: str
    limited_key: str
    """A key with a monthly spend limit and prepaid credit, both far above what runs spend."""

    def url(self, target: str, path: str = API_PATHS["chat"]) -> str:
        port = self.hub_port if target == "through" else self.upstream_port
        return f"http://127.0.0.1:{port}{path}"

    def usage_rows(self) -> tuple[int, int]:
        """(rows, rows with status ok), read from the hub's database file."""
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as connection:
            rows, ok = connection.execute(
                "SELECT count(*), coalesce(sum(status = 'ok'), 0) FROM usage_records"
            ).fetchone()
        connection.close()
        return int(rows), int(ok)

    def settled_rows(self) -> tuple[int, int]:
        """The row counts once the hub has finished what was in flight."""
        return steady(self.usage_rows)


@contextmanager
def started(
    root: Path,
    upstream_starter: Callable[[Path, dict[str, str]], tuple[Process, int]] = start_upstream,
    hub_env: Mapping[str, str] | None = None,
) -> Iterator[Bench]:
    """Start the upstream and the hub; create a team token on the database, a key over HTTP.

    `upstream_starter` starts the upstream and writes the catalog (bench/chat.py's fast one
    by default); `hub_env` adds variables to the hub's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    with ExitStack() as stack:
        upstream, upstream_port = upstream_starter(root, env)
        stack.callback(upstream.stop)
        data = root / "hub"
        env |= {
            **(hub_env or {}),
            "MODELPORT_DATA_DIR": str(data),
            "MODELPORT_CATALOG": str(root / "catalog.toml"),
            "MODELPORT_LOG_FILE": str(root / "hub.log"),
        }
        modelport = [sys.executable, "-m", "modelport"]
        # A fresh data folder: the database is made first, as the hub would on start.
        subprocess.run([*modelport, "db", "upgrade"], env=env, check=True, capture_output=True)
        token = subprocess.run(
            [*modelport, "tokens", "create", "bench", "--team", "bench", "--new-team"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        hub_port = free_port()
        hub = Process([*modelport, "serve", "--port", str(hub_port)], env, root / "hub.err")
        stack.callback(hub.stop)
        upstream.wait_for_http(upstream_port, "/")
        hub.wait_for_http(hub_port, "/healthz")
        status, answer, _ = request(
            hub_port, "POST", "/v2/gen-ai/models/api_keys", b'{"name":"bench"}', token
        )
        if status != 200:
            raise RuntimeError(f"creating a key: HTTP {status} {answer[:300]!r}")
        key = json.loads(answer)["api_key_info"]["secret_key"]
        limited = limited_key(hub_port, token)
        yield Bench(
            root, upstream, upstream_port, hub, hub_port, data / "modelport.db", key, limited
        )


SPEND_LIMIT = "1000000"
CREDIT = "1000000"


def limited_key(port: int, token: str) -> str:
    """A key whose requests are checked against a monthly spend limit and prepaid credit.

    Measured right after its top-up: the change's mark in the revocation ledger settles once
    committed, so the hub reads the key from the database once more, then trusts its cache
    (before settled marks, for 11 minutes every request was verified in the database)."""
    keys = "/v2/gen-ai/models/api_keys"
    payload = json.dumps({"name": "limited", "monthly_spend_limit": SPEND_LIMIT}).encode()
    status, answer, _ = request(port, "POST", keys, payload, token)
    if status != 200:
        raise RuntimeError(f"creating a limited key: HTTP {status} {answer[:300]!r}")
    created = json.loads(answer)["api_key_info"]
    key_id = created["uuid"]
    credit = json.dumps({"amount_usd": CREDIT}).encode()
    status, answer, _ = request(port, "POST", f"{keys}/{key_id}/credit", credit, token)
    if status != 200:
        raise RuntimeError(f"topping up the limited key: HTTP {status} {answer[:300]!r}")
    secret: str = created["secret_key"]
    return secret


def spot_check(bench: Bench) -> int:
    """Each response's usage row must be in the database the moment the response is read."""
    checked = 0
    with sqlite3.connect(f"file:{bench.database}?mode=ro", uri=True) as connection:
        for ordinal in range(SPOT_CHECKS):
            mode = MODES[ordinal % 2]
            status, answer, request_id = request(
                bench.hub_port, "POST", "/v1/chat/completions", body(mode), bench.key
            )
            if status != 200 or request_id is None:
                raise RuntimeError(f"spot check: HTTP {status} {answer[:300]!r}")
            found = connection.execute(
                "SELECT status FROM usage_records WHERE request_id = ?", (request_id,)
            ).fetchone()
            if found is None or found[0] != "ok":
                raise RuntimeError(f"request {request_id} answered before its usage committed")
            checked += 1
    connection.close()
    return checked


# -- runs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    mode: str
    target: str
    connections: int
    result: loadgen.Result
    hub_cpu: float
    """Hub CPU seconds over the run, including finishing what was in flight at its end."""
    upstream_cpu: float
    hub_rss: int
    rows: int
    """Usage rows the run added; `ok_rows` of them with status ok."""
    ok_rows: int

    def check(self) -> None:
        """Every completed request has its row; at most the requests cut off at the end more."""
        done = self.result.requests
        if self.result.errors:
            raise RuntimeError(f"{self}: {self.result.errors} errors")
        if self.target == "direct":
            if self.rows:
                raise RuntimeError(f"{self}: direct calls wrote usage rows")
            return
        if self.ok_rows < done or self.rows > done + self.connections:
            raise RuntimeError(f"{self}: {self.rows} rows, {self.ok_rows} ok, {done} completed")


def measure(
    bench: Bench,
    mode: str,
    target: str,
    connections: int,
    seconds: float,
    lua: Path,
    path: str = API_PATHS["chat"],
) -> Run:
    rows_before, ok_before = bench.settled_rows()
    hub_before, upstream_before = bench.hub.cpu_seconds(), bench.upstream.cpu_seconds()
    result = loadgen.run(bench.url(target, path), lua, connections, seconds)
    rows, ok = bench.settled_rows()
    hub_cpu = bench.hub.cpu_seconds() - hub_before
    upstream_cpu = bench.upstream.cpu_seconds() - upstream_before
    run = Run(
        mode,
        target,
        connections,
        result,
        hub_cpu,
        upstream_cpu,
        bench.hub.rss_bytes(),
        rows - rows_before,
        ok - ok_before,
    )
    run.check()
    say(
        f"{mode:6} {target:7} c={connections:<3} {result.rate:8.0f} req/s "
        f"p50 {result.p50_us / 1e3:.2f} ms, hub {hub_cpu * 1e3 / max(result.requests, 1):.3f}"
        " ms CPU/req"
    )
    return run


def scripts(bench: Bench) -> dict[tuple[str, str], Path]:
    return {
        (mode, target): loadgen.script(
            bench.root, f"{mode}-{target}", body(mode), bench.key if target == "through" else None
        )
        for mode in MODES
        for target in ("direct", "through")
    }


def matrix(bench: Bench, seconds: float) -> list[Run]:
    """Every mode and concurrency, direct then through, after a warm-up of each."""
    lua = scripts(bench)
    for mode in MODES:
        for target in ("direct", "through"):
            loadgen.run(bench.url(target), lua[mode, target], 16, min(seconds, 2))
    return [
        measure(bench, mode, target, connections, seconds, lua[mode, target])
        for mode in MODES
        for connections in CONCURRENCY
        for target in ("direct", "through")
    ]


APIS = (
    ("chat", MODEL, "chat completions (baseline)"),
    ("chat", "bench-claude", "chat completions on Anthropic (translated)"),
    ("responses", "bench-native", "responses, passthrough"),
    ("responses", MODEL, "responses, translated"),
    ("responses", "bench-claude", "responses on Anthropic (translated twice)"),
    ("messages", "bench-claude", "messages, passthrough"),
    ("messages", MODEL, "messages, translated"),
)
"""Each client API on each kind of upstream, all on the one fast upstream process."""


ROUNDS = 3


def api_runs(bench: Bench, seconds: float) -> list[list[tuple[str, Run]]]:
    """Every API of `APIS`, plain and streamed, at concurrency 1 (where CPU per request is
    the hub's own, not shared with waiting), in `ROUNDS` rounds after a warm-up of each: a
    round measures the baseline and every API back to back, so that the machine's drift
    (a shared virtual machine) moves a round's figures together."""
    lua = {}
    for api, model, _ in APIS:
        for mode in MODES:
            name = f"{api}-{model}-{mode}"
            lua[api, model, mode] = loadgen.script(
                bench.root, name, body(mode, api, model), bench.key
            )
            loadgen.run(bench.url("through", API_PATHS[api]), lua[api, model, mode], 4, 1)

    def one(api: str, model: str, mode: str) -> Run:
        path = API_PATHS[api]
        return measure(bench, mode, "through", 1, seconds, lua[api, model, mode], path)

    return [
        [(label, one(api, model, mode)) for api, model, label in APIS for mode in MODES]
        for _ in range(ROUNDS)
    ]


def apis_table(rounds: Sequence[Sequence[tuple[str, Run]]]) -> str:
    """Hub CPU per request of each API against chat completions on the same upstream: the
    median over the rounds of each, and of its difference to the round's baseline."""
    baseline = APIS[0][2]
    cpu: dict[tuple[str, str], list[float]] = {}
    added: dict[tuple[str, str], list[float]] = {}
    runs: dict[tuple[str, str], list[Run]] = {}
    for measured in rounds:
        per = {(label, r.mode): r.hub_cpu * 1e3 / r.result.requests for label, r in measured}
        for label, run in measured:
            key = (label, run.mode)
            cpu.setdefault(key, []).append(per[key])
            added.setdefault(key, []).append(per[key] - per[baseline, run.mode])
            runs.setdefault(key, []).append(run)
    rows = []
    for (label, mode), values in cpu.items():
        delta = statistics.median(added[label, mode])
        spread = f"{min(added[label, mode]):+.3f}..{max(added[label, mode]):+.3f}"
        rate = statistics.median(r.result.rate for r in runs[label, mode])
        rows.append(
            [
                label,
                mode,
                f"{rate:,.0f}",
                f"{statistics.median(values):.3f}",
                f"{delta:+.3f}",
                "-" if label == baseline else spread,
                "-" if label == baseline else verdict(delta <= 0.1),
                f"{sum(r.rows for r in runs[label, mode]):,}/"
                f"{sum(r.result.requests for r in runs[label, mode]):,}",
            ]
        )
    headers = ["API (upstream)", "mode", "req/s c=1", "hub CPU ms/req", "added over chat ms"]
    headers += ["added, range", "<= 0.1 ms", "rows/completed"]
    return markdown_table(headers, rows)


LIMIT_CONCURRENCY = (1, 64)


def limit_runs(bench: Bench, seconds: float) -> list[list[tuple[str, Run]]]:
    """Plain requests with the key without limits and with the limited key (monthly spend
    limit and prepaid credit), at concurrency 1 and 64, in `ROUNDS` interleaved rounds."""
    lua = {
        "no limits": loadgen.script(bench.root, "key-free", body("plain"), bench.key),
        "spend limit + credit": loadgen.script(
            bench.root, "key-limited", body("plain"), bench.limited_key
        ),
    }
    for script in lua.values():
        loadgen.run(bench.url("through"), script, 16, 1)
    return [
        [
            (label, measure(bench, "plain", "through", connections, seconds, script))
            for connections in LIMIT_CONCURRENCY
            for label, script in lua.items()
        ]
        for _ in range(ROUNDS)
    ]


def limits_table(rounds: Sequence[Sequence[tuple[str, Run]]]) -> str:
    """Hub CPU per plain request of the limited key against the key without limits: the
    median over the rounds, and of each round's difference."""
    cpu: dict[tuple[str, int], list[float]] = {}
    for measured in rounds:
        for label, run in measured:
            cpu.setdefault((label, run.connections), []).append(
                run.hub_cpu * 1e3 / run.result.requests
            )
    rows = []
    for connections in LIMIT_CONCURRENCY:
        free = cpu["no limits", connections]
        limited = cpu["spend limit + credit", connections]
        added = [b - a for a, b in zip(free, limited, strict=True)]
        delta = statistics.median(added)
        rows.append(
            [
                str(connections),
                f"{statistics.median(free):.3f}",
                f"{statistics.median(limited):.3f}",
                f"{delta:+.3f}",
                f"{min(added):+.3f}..{max(added):+.3f}",
                verdict(delta <= 0.1),
            ]
        )
    headers = ["conc", "no limits ms/req", "spend limit + credit ms/req", "added ms"]
    headers += ["added, range", "<= 0.1 ms"]
    return markdown_table(headers, rows)


@dataclass(frozen=True, slots=True)
class Memory:
    requests: int
    seconds: float
    samples: tuple[int, ...]
    """RSS every half second, in bytes."""
    rows: int

    @property
    def after_warmup(self) -> int:
        """RSS once a tenth of the run has gone by: pools and caches are full by then."""
        return self.samples[len(self.samples) // 10]


def long_run(bench: Bench) -> Memory:
    """100,000 plain requests at concurrency 64 through the hub, its RSS sampled throughout.

    wrk runs for a set time, so the load comes in back-to-back 10-second runs until enough
    requests have completed.
    """
    lua = loadgen.script(bench.root, "long", body("plain"), bench.key)
    rows_before, _ = bench.settled_rows()
    samples = [bench.hub.rss_bytes()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            samples.append(bench.hub.rss_bytes())

    sampler = threading.Thread(target=sample)
    sampler.start()
    requests, seconds = 0, 0.0
    try:
        while requests < LONG_REQUESTS:
            result = loadgen.run(bench.url("through"), lua, 64, LONG_SEGMENT_SECONDS)
            if result.errors:
                raise RuntimeError(f"long run: {result.errors} errors")
            requests += result.requests
            seconds += result.seconds
    finally:
        stop.set()
        sampler.join()
    rows, _ = bench.settled_rows()
    samples.append(bench.hub.rss_bytes())
    if rows - rows_before < requests:
        raise RuntimeError(f"long run: {requests} completed, {rows - rows_before} rows")
    say(f"long: {requests:,} requests in {seconds:.0f} s")
    return Memory(requests, seconds, tuple(samples), rows - rows_before)


def profile(bench: Bench, into: Path, seconds: float) -> None:
    """py-spy's collapsed stacks of the hub under a concurrency-64 plain run.

    Only the thread holding the GIL is sampled: where the Python CPU goes. The samples are
    wall-clock, so on a busy machine the lines that make syscalls (socket writes, waking a
    thread) also collect the time the hub spent preempted there.
    """
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    lua = loadgen.script(bench.root, "profile", body("plain"), bench.key)
    command = [spy, "record", "--pid", str(bench.hub.pid), "--format", "raw", "--rate", "200"]
    command += ["--gil", "--duration", f"{seconds:.0f}", "--nonblocking", "-o", str(into)]
    recorder = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        loadgen.run(bench.url("through"), lua, 64, seconds + 2)
    finally:
        recorder.wait()
    say(f"profile written to {into}")


# -- the report ---------------------------------------------------------------------------


def say(what: str) -> None:
    print(f"  {what} (load {load()})", file=sys.stderr)


def _ms(us: float) -> str:
    return f"{us / 1e3:.2f}"


def matrix_table(runs: Sequence[Run]) -> str:
    by = {(r.mode, r.target, r.connections): r for r in runs}
    rows = []
    for mode in MODES:
        for c in CONCURRENCY:
            direct, through = by[mode, "direct", c], by[mode, "through", c]
            d, t = direct.result, through.result
            rows.append(
                [
                    mode,
                    str(c),
                    f"{d.rate:,.0f}",
                    f"{t.rate:,.0f}",
                    f"x{t.rate / d.rate:.3f}",
                    _ms(d.p50_us),
                    _ms(t.p50_us),
                    _ms(t.p50_us - d.p50_us),
                    _ms(d.p99_us),
                    _ms(t.p99_us),
                    f"{through.hub_cpu * 1e3 / t.requests:.3f}",
                    f"{direct.upstream_cpu * 1e3 / d.requests:.3f}",
                    f"{through.hub_rss / 2**20:.0f}",
                    f"{through.rows:,}/{t.requests:,}",
                ]
            )
    headers = ["mode", "conc", "direct req/s", "through req/s", "ratio", "direct p50 ms"]
    headers += ["through p50 ms", "added p50 ms", "direct p99 ms", "through p99 ms"]
    headers += ["hub CPU ms/req", "upstream CPU ms/req", "hub RSS MiB", "rows/completed"]
    return markdown_table(headers, rows)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def targets_table(runs: Sequence[Run], memory: Memory | None) -> str:
    """The issue's targets (docs/benchmarks.md, "Gateway"): CPU per request, added latency,
    memory."""
    by = {(r.mode, r.target, r.connections): r for r in runs}
    added = by["plain", "through", 1].result.p50_us - by["plain", "direct", 1].result.p50_us

    def cpu(mode: str, connections: int) -> float:
        run = by[mode, "through", connections]
        return run.hub_cpu * 1e3 / run.result.requests

    rate = by["plain", "through", 64].result.rate
    rows = [
        ["added p50, plain, c=1", "<= 0.25 ms", f"{added / 1e3:.2f} ms", verdict(added <= 250)],
        [
            "hub CPU per plain request, c=64",
            "<= 0.2 ms",
            f"{cpu('plain', 64):.3f} ms",
            verdict(cpu("plain", 64) <= 0.2),
        ],
        [
            "hub CPU per plain request, c=1",
            "<= 0.25 ms",
            f"{cpu('plain', 1):.3f} ms",
            verdict(cpu("plain", 1) <= 0.25),
        ],
        [
            "hub CPU per stream",
            "<= 0.3 ms",
            f"c=1: {cpu('stream', 1):.3f} ms, c=64: {cpu('stream', 64):.3f} ms",
            verdict(max(cpu("stream", 1), cpu("stream", 64)) <= 0.3),
        ],
        ["through req/s, plain, c=64", ">= 1,500", f"{rate:,.0f}", verdict(rate >= 1500)],
    ]
    if memory is not None:
        grown = (memory.samples[-1] - memory.after_warmup) / 2**20
        peak = max(memory.samples) / 2**20
        rows.append(
            [
                f"RSS over {memory.requests:,} requests",
                "<= 150 MiB, flat",
                f"start {memory.samples[0] / 2**20:.1f}, at 10% {memory.after_warmup / 2**20:.1f}"
                f", end {memory.samples[-1] / 2**20:.1f}, max {peak:.1f}"
                f" MiB ({grown:+.1f} after 10%)",
                verdict(grown < 2 and peak <= 150),
            ]
        )
    return markdown_table(["target", "goal", "measured", "verdict"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3-second runs")
    parser.add_argument("--long", action="store_true", help=f"add {LONG_REQUESTS:,} requests")
    parser.add_argument("--seconds", type=float, help="seconds per run (default 8)")
    parser.add_argument("--profile", type=Path, help="write py-spy collapsed stacks here")
    parser.add_argument(
        "--apis", action="store_true", help="only the APIs table: every API against chat at c=1"
    )
    parser.add_argument(
        "--replicas",
        action="store_true",
        help="1 and 3 replicas on PostgreSQL + Redis behind nginx, limits on (bench/replicas.py)",
    )
    parser.add_argument(
        "--revokes", type=int, default=200, help="with --replicas: revokes per lane and kind"
    )
    parser.add_argument(
        "--no-limits", action="store_true", help="with --replicas: keys without per-key limits"
    )
    args = parser.parse_args()
    seconds = args.seconds or (3.0 if args.quick else 8.0)
    if args.replicas:
        replicas.main(seconds, args.revokes, limits=not args.no_limits)
        return
    loadgen.require_wrk()
    before = load()
    say("starting")
    with (
        tempfile.TemporaryDirectory(prefix="mp-gateway-") as folder,
        started(Path(folder)) as bench,
    ):
        checked = spot_check(bench)
        say(f"spot check: {checked} responses each found their usage row committed")
        runs = [] if args.apis else matrix(bench, seconds)
        by_limits = [] if args.apis else limit_runs(bench, seconds / 2)
        by_api = api_runs(bench, seconds / 2)
        memory = long_run(bench) if args.long else None
        if args.profile:
            profile(bench, args.profile.resolve(), 20)
    print("\n".join(f"- {name}: {value}" for name, value in machine().items()))
    print(f"- load (1, 5, 15 min): before {before}; after {load()}")
    print(f"- command: {' '.join(['bench/gateway.py', *sys.argv[1:]])}, {seconds:g} s per run")
    print(f"- spot check: {checked} responses, each with its usage row committed when read\n")
    if runs:
        print(matrix_table(runs) + "\n\n" + targets_table(runs, memory) + "\n")
    if by_limits:
        print(limits_table(by_limits) + "\n")
    print(apis_table(by_api))


if __name__ == "__main__":
    main()
