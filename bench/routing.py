"""Routing and failover: what choosing a deployment costs, and what failing over adds.

    .venv/bin/python bench/routing.py [--requests N]

1. In process: `Routing.plan` for a model with one deployment (the plain path's case), three
   weighted deployments of one priority, and a fallback router over two models of two
   deployments each, against the catalog look-up that preceded routing (`Catalog.servable`),
   timed the same way in the same run.
2. Through one `modelport serve` (SQLite) and bench/fast_upstream.py, at concurrency 1:
   `ok` has one healthy deployment; `failover` has a deployment that answers 503 at once
   (tried first) and the same healthy one behind it (cooldowns set out of reach, so every
   request fails over); a direct call to the failing path measures the failed attempt's own
   time. Failover's extra = failover - ok - failed attempt, medians of interleaved rounds,
   with the hub's CPU per request for each.

Prints Markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import http.client
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import orjson

from chat import MESSAGES, fast_upstream
from gateway import Bench, started
from harness import load, machine, markdown_table
from modelport.catalog.loader import parse_catalog
from modelport.gateway.routing import Routing
from modelport.infra.cooldown import CooldownPolicy, MemoryDeploymentHealth
from modelport.keys.verifier import KeyIdentity
from processes import Process

PLANS = 200_000
ROUNDS = 5
ENTRY = """\
[[models]]
id = "{model}"
name = "{model}"
provider = "bench"
type = "chat"
context_window = 8192
input_price_per_million = 1.25
output_price_per_million = 2.5
"""


def deployment(name: str, base_url: str, priority: int = 1, weight: int = 1) -> str:
    return (
        f'[[models.deployments]]\nname = "{name}"\nbase_url = "{base_url}"\n'
        f"priority = {priority}\nweight = {weight}\n"
    )


def in_process() -> list[list[str]]:
    url = "http://127.0.0.1:9/v1"
    text = ENTRY.format(model="one") + f'base_url = "{url}"\n'
    text += ENTRY.format(model="three") + "".join(
        deployment(name, url, weight=w) for name, w in (("a", 3), ("b", 2), ("c", 1))
    )
    for model in ("left", "right"):
        text += ENTRY.format(model=model) + deployment("x", url) + deployment("y", url, 2)
    text += '[[routers]]\nid = "router"\nname = "R"\nmodels = ["left", "right"]\n'
    catalog = parse_catalog(text, "bench", lambda _name: None)
    health = MemoryDeploymentHealth(CooldownPolicy(3, 60, 30))
    routing = Routing(catalog, health, max_attempts=3, draw=random.Random(1).random)
    identity = KeyIdentity(uuid.uuid4(), uuid.uuid4(), "bench", None)
    cases: list[tuple[str, Callable[[], object]]] = [
        ("catalog look-up before routing (`Catalog.servable`)", lambda: catalog.servable("one")),
        ("plan: one deployment", lambda: routing.plan("r", identity, "one", "chat")),
        ("plan: three weighted deployments", lambda: routing.plan("r", identity, "three", "chat")),
        (
            "plan: fallback router, 2 models x 2",
            lambda: routing.plan("r", identity, "router", "chat"),
        ),
    ]
    rows = []
    for label, call in cases:
        samples = []
        for _ in range(ROUNDS):
            started_at = time.process_time()
            for _ in range(PLANS):
                call()
            samples.append((time.process_time() - started_at) / PLANS * 1e6)
        rows.append([label, f"{statistics.median(samples):.2f}"])
    return rows


def failover_catalog(root: Path, env: dict[str, str]) -> tuple[Process, int]:
    """The fast upstream, and a catalog of `ok` and `failover` on it."""
    upstream, port = fast_upstream(root, env)
    ok, failing = f"http://127.0.0.1:{port}/v1", f"http://127.0.0.1:{port}/fail/v1"
    text = ENTRY.format(model="ok") + f'base_url = "{ok}"\n'
    text += ENTRY.format(model="failover") + deployment("failing", failing, 1)
    text += deployment("healthy", ok, 2)
    (root / "catalog.toml").write_text(text)
    return upstream, port


class Caller:
    """Keep-alive requests at concurrency 1, timed one by one."""

    def __init__(self, port: int, token: str | None) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    def call(self, path: str, body: bytes, status: int) -> float:
        started_at = time.perf_counter()
        self._connection.request("POST", path, body=body, headers=self._headers)
        response = self._connection.getresponse()
        response.read()
        elapsed = time.perf_counter() - started_at
        if response.status != status:
            raise RuntimeError(f"{path}: HTTP {response.status}, expected {status}")
        return elapsed


def chat(model: str) -> bytes:
    return orjson.dumps({"model": model, "messages": MESSAGES, "max_tokens": 64})


def through_hub(requests: int) -> list[list[str]]:
    env = {"MODELPORT_COOLDOWN_FAILURES": "1000000"}
    with (
        tempfile.TemporaryDirectory() as folder,
        started(Path(folder), failover_catalog, env) as bench,
    ):
        return _measure(bench, requests)


def _measure(bench: Bench, requests: int) -> list[list[str]]:
    hub = Caller(bench.hub_port, bench.key)
    direct = Caller(bench.upstream_port, None)
    kinds: dict[str, Callable[[], float]] = {
        "ok": lambda: hub.call("/v1/chat/completions", chat("ok"), 200),
        "failover": lambda: hub.call("/v1/chat/completions", chat("failover"), 200),
        "failed attempt (direct)": lambda: direct.call("/fail/v1/chat/completions", chat("x"), 503),
    }
    for call in kinds.values():  # warm up: connections, caches
        for _ in range(200):
            call()
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
    block = max(1, requests // ROUNDS)
    for _ in range(ROUNDS):
        for kind, call in kinds.items():
            before = bench.hub.cpu_seconds()
            times[kind] += [call() for _ in range(block)]
            cpu[kind].append((bench.hub.cpu_seconds() - before) / block)
    median = {kind: statistics.median(samples) * 1e3 for kind, samples in times.items()}
    extra = median["failover"] - median["ok"] - median["failed attempt (direct)"]
    rows = [
        [kind, f"{median[kind]:.3f}", f"{statistics.median(cpu[kind]) * 1e3:.3f}"] for kind in kinds
    ]
    rows.append(["failover's extra (failover - ok - failed attempt)", f"{extra:.3f}", ""])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    requests = parser.parse_args().requests
    facts = machine()
    print(f"Measured {facts['date']} on {facts['cpu']}, {facts['cores']} cores, load {load()}.\n")
    print(markdown_table(["routing, in process", "µs of CPU per call"], in_process()))
    print()
    print(
        markdown_table(
            ["at concurrency 1", "median latency (ms)", "hub CPU per request (ms)"],
            through_hub(requests),
        )
    )


if __name__ == "__main__":
    main()
