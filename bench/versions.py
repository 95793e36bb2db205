"""Two versions of the hub side by side: hub CPU per /v1 request of each, in the same window.

    .venv/bin/python bench/versions.py BASE_SRC CHANGED_SRC [--runs plain:64,plain:1,...]
        [--rounds R] [--seconds S]

Each `*_SRC` is a `src` folder (a worktree's, say: `git worktree add --detach /tmp/base
10610fb`); each hub runs from its own through PYTHONPATH, with its own fast fake upstream
(bench/chat.py) and SQLite database. wrk drives each run through the two hubs in turn, the
order swapped every round, so both see the same machine; the table has the median hub CPU
per request of each, their ratio, and each round's difference. An A/A run (the same folder
twice) shows the noise: on a 2-core machine, up to about 0.03 ms per request.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from contextlib import ExitStack
from pathlib import Path

import loadgen
from chat import body
from gateway import Bench, started
from harness import load, machine, markdown_table


def cpu_per_request(bench: Bench, lua: Path, connections: int, seconds: float) -> float:
    """Hub CPU milliseconds per request over one wrk run."""
    before = bench.hub.cpu_seconds()
    result = loadgen.run(bench.url("through"), lua, connections, seconds)
    if result.errors:
        raise RuntimeError(f"{result.errors} errors through {bench.root.name}")
    return (bench.hub.cpu_seconds() - before) * 1e3 / max(result.requests, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", type=Path, help="the src folder of the base")
    parser.add_argument("changed", type=Path, help="the src folder of the change")
    parser.add_argument("--runs", default="plain:64,plain:1,stream:64,stream:1")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    loadgen.require_wrk()
    runs = [(mode, int(c)) for mode, c in (spec.split(":") for spec in args.runs.split(","))]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        hubs: dict[str, Bench] = {}
        for name, src in (("base", args.base), ("changed", args.changed)):
            (Path(tmp) / name).mkdir()
            env = {"PYTHONPATH": str(src.resolve())}
            hubs[name] = stack.enter_context(started(Path(tmp) / name, hub_env=env))
        for mode, connections in runs:
            luas = {n: loadgen.script(b.root, mode, body(mode), b.key) for n, b in hubs.items()}
            for name, bench in hubs.items():  # warm up: caches, connections
                loadgen.run(bench.url("through"), luas[name], connections, 2)
            cpu: dict[str, list[float]] = {"base": [], "changed": []}
            for round_ in range(args.rounds):
                for name in list(hubs) if round_ % 2 == 0 else list(reversed(hubs)):
                    cpu[name].append(
                        cpu_per_request(hubs[name], luas[name], connections, args.seconds)
                    )
            base, changed = statistics.median(cpu["base"]), statistics.median(cpu["changed"])
            rounds = [c - b for b, c in zip(cpu["base"], cpu["changed"], strict=True)]
            rows.append(
                [
                    f"{mode}, c={connections}",
                    f"{base:.3f}",
                    f"{changed:.3f}",
                    f"x{changed / base:.2f}",
                    " ".join(f"{d:+.3f}" for d in rounds),
                    load(),
                ]
            )
            print(f"  {rows[-1]}", flush=True)
    about = machine()
    print(f"\n{about['date']}, {about['cpu']}, {about['cores']} cores, Python {about['python']}")
    print(f"base {args.base}, changed {args.changed}, {args.rounds} x {args.seconds:g} s\n")
    headers = ["run", "base ms/req", "changed ms/req", "ratio", "each round", "load after"]
    print(markdown_table(headers, rows))


if __name__ == "__main__":
    main()
