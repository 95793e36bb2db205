"""Workers: one `modelport serve` process against `serve --workers 2`, in the same run.

    .venv/bin/python bench/workers.py [--seconds S] [--rounds R] [--connections C] [--limits]

Two hubs on their own SQLite databases (no Redis), each with its own fast fake upstream
(bench/chat.py) and a key without limits: one process, and a parent with two workers. wrk
drives plain /v1/chat/completions at concurrency 64 through each in turn, the order
alternating by round, so both see the same machine. `--limits` adds runs with a key that has
every limit (checked on each request, never hit): on the workers each such request makes
two round trips to the parent (admit, settle), whose CPU is the parent's column. Every
completed request must have its usage row. Printed: requests/s of each and their ratio (the
target: two workers at least 1.7 times one process on two cores), and CPU per request of
each process, from /proc. On a two-core machine wrk and the upstream share the cores with
the hub, so the ratio is a floor of what two workers give a machine whose cores serve only
the hub; the last line says how far their share lets the ratio go on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import loadgen
from chat import body
from cluster import KEYS, LIMITS
from gateway import Bench, started
from harness import load, machine, markdown_table
from processes import children_of, cpu_seconds_of, request

WORKERS = 2


@dataclass(frozen=True, slots=True)
class Sample:
    hub: str
    requests: int
    rate: float
    p50_us: int
    cpu_ms: dict[str, float]
    """CPU milliseconds per request of each process: the parent, then each worker."""
    others_cores: float
    """Cores that wrk and the fake upstream kept busy meanwhile: what the hub could not have."""


def wait_for_workers(bench: Bench) -> None:
    deadline = time.monotonic() + 60
    log = bench.root / "hub.log"
    while '"workers ready"' not in (log.read_text() if log.exists() else ""):
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not start")
        time.sleep(0.1)


def processes(bench: Bench) -> dict[str, int]:
    """The hub's serving processes by name: 'process' alone, or 'parent' and 'worker <n>'."""
    workers = [
        pid
        for pid in children_of(bench.hub.pid)
        if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    ]
    if not workers:
        return {"process": bench.hub.pid}
    return {"parent": bench.hub.pid} | {f"worker {i}": pid for i, pid in enumerate(workers)}


def limited_key(bench: Bench) -> str:
    """A key of the bench's team with every limit, made with a token of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    env["MODELPORT_DATA_DIR"] = str(bench.root / "hub")
    token = subprocess.run(
        [sys.executable, "-m", "modelport", "tokens", "create", "limits", "--team", "bench"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    wanted = json.dumps({"name": "limited", **LIMITS}).encode()
    status, answer, _ = request(bench.hub_port, "POST", KEYS, wanted, token)
    if status != 200:
        raise RuntimeError(f"creating a limited key: HTTP {status} {answer[:300]!r}")
    secret: str = json.loads(answer)["api_key_info"]["secret_key"]
    return secret


def measure(name: str, bench: Bench, lua: Path, connections: int, seconds: float) -> Sample:
    pids = processes(bench)
    rows_before, _ = bench.settled_rows()
    before = {label: cpu_seconds_of(pid) for label, pid in pids.items()}
    upstream_before = bench.upstream.cpu_seconds()
    result = loadgen.run(bench.url("through"), lua, connections, seconds)
    upstream = bench.upstream.cpu_seconds() - upstream_before
    rows, _ = bench.settled_rows()
    after = {label: cpu_seconds_of(pid) for label, pid in pids.items()}
    if result.errors:
        raise RuntimeError(f"{name}: {result.errors} errors")
    if rows - rows_before < result.requests:
        raise RuntimeError(f"{name}: {rows - rows_before} rows for {result.requests} requests")
    per_request = {
        label: (after[label] - before[label]) * 1e3 / max(result.requests, 1) for label in pids
    }
    others = (result.cpu_seconds + upstream) / result.seconds
    print(f"{name:20} {result.rate:8.0f} req/s  CPU ms/req {per_request}", flush=True)
    return Sample(name, result.requests, result.rate, result.p50_us, per_request, others)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--limits", action="store_true")
    args = parser.parse_args()
    loadgen.require_wrk()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        root = Path(tmp)
        (root / "one").mkdir()
        (root / "two").mkdir()
        hubs = {
            "one process": stack.enter_context(started(root / "one")),
            f"{WORKERS} workers": stack.enter_context(
                started(root / "two", hub_env={"MODELPORT_WORKERS": str(WORKERS)})
            ),
        }
        wait_for_workers(hubs[f"{WORKERS} workers"])
        runs = {
            name: (bench, loadgen.script(bench.root, "plain", body("plain"), bench.key))
            for name, bench in hubs.items()
        }
        if args.limits:
            for name, bench in hubs.items():
                lua = loadgen.script(bench.root, "limited", body("plain"), limited_key(bench))
                runs[f"{name}, limits"] = (bench, lua)
        for bench, lua in runs.values():  # warm up: caches, connections, counters
            loadgen.run(bench.url("through"), lua, args.connections, 2)
        loads = [load()]
        samples: list[Sample] = []
        for round_ in range(args.rounds):
            order = list(runs) if round_ % 2 == 0 else list(reversed(runs))
            for name in order:
                bench, lua = runs[name]
                samples.append(measure(name, bench, lua, args.connections, args.seconds))
            loads.append(load())
    report(samples, loads, args)


def report(samples: list[Sample], loads: list[str], args: argparse.Namespace) -> None:
    about = machine()
    print(
        f"\n{about['date']}, {about['cpu']}, {about['cores']} cores, Python {about['python']}; "
        f"load average before and after each round: {' | '.join(loads)}\n"
    )
    names = list(dict.fromkeys(s.hub for s in samples))
    rows = []
    for name in names:
        mine = [s for s in samples if s.hub == name]
        labels = list(mine[0].cpu_ms)
        cpu = {label: statistics.median(s.cpu_ms[label] for s in mine) for label in labels}
        rows.append(
            [
                name,
                f"{statistics.median(s.rate for s in mine):,.0f}",
                f"{statistics.median(s.p50_us for s in mine) / 1e3:.2f}",
                f"{sum(cpu.values()):.3f}",
                ", ".join(f"{label} {value:.3f}" for label, value in cpu.items()),
                f"{statistics.median(s.rate for s in mine) * sum(cpu.values()) / 1e3:.2f}",
                f"{statistics.median(s.others_cores for s in mine):.2f}",
            ]
        )
    print(
        markdown_table(
            [
                f"plain, c={args.connections}, {args.rounds} x {args.seconds:g} s",
                "requests/s (median)",
                "p50 ms",
                "CPU ms/request, all processes",
                "CPU ms/request, each process",
                "hub, cores busy",
                "wrk + upstream, cores busy",
            ],
            rows,
        )
    )
    print()
    for base, workers in zip(names[::2], names[1::2], strict=True):
        one = [s.rate for s in samples if s.hub == base]
        two = [s.rate for s in samples if s.hub == workers]
        ratios = [b / a for a, b in zip(one, two, strict=True)]
        print(
            f"{workers} / {base}: {statistics.median(ratios):.2f}x "
            f"(per round: {', '.join(f'{r:.2f}' for r in ratios)}; target at least 1.7x)"
        )
        print(ceiling(samples, base, workers))


def ceiling(samples: list[Sample], base: str, workers: str) -> str:
    """The most the workers could serve on these cores, against what one process served.

    wrk and the upstream run on the same cores and take CPU for every request, so the
    workers can have only the cores less theirs: at most cores / (the workers' CPU per
    request + wrk's and the upstream's). The faster the hub, the larger their share and
    the lower this ceiling.
    """
    one = statistics.median(s.rate for s in samples if s.hub == base)
    two = [s for s in samples if s.hub == workers]
    hub_ms = statistics.median(sum(s.cpu_ms.values()) for s in two)
    others_ms = statistics.median(s.others_cores / s.rate * 1e3 for s in two)
    cores = len(os.sched_getaffinity(0))
    best = cores * 1e3 / (hub_ms + others_ms)
    return (
        f"ceiling here: {best / one:.2f}x ({cores} cores / ({hub_ms:.3f} ms of the workers"
        f" + {others_ms:.3f} ms of wrk and the upstream per request) = {best:,.0f} requests/s,"
        f" against {one:,.0f})"
    )


if __name__ == "__main__":
    main()
