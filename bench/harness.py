"""What every benchmark shares: scratch databases, a real server, a lean HTTP client, stats.

Benchmarks run by hand and print Markdown tables that go into `docs/benchmarks.md`.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import platform
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import create_async_engine

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_SECRET = "bench-server-secret-" + "b" * 32


# -- statistics ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stats:
    """Latencies of one measured operation, in nanoseconds."""

    samples: tuple[int, ...]

    @classmethod
    def of(cls, samples: Sequence[int]) -> Stats:
        if not samples:
            raise ValueError("no samples")
        return cls(tuple(sorted(samples)))

    def quantile(self, q: float) -> int:
        """Nearest-rank quantile: the smallest sample with at least `q` of them at or below."""
        rank = max(1, math.ceil(q * len(self.samples)))
        return self.samples[rank - 1]

    @property
    def median(self) -> int:
        return self.quantile(0.5)

    @property
    def p99(self) -> int:
        return self.quantile(0.99)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown pipe table, padded so that it also reads well in a terminal."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    right = [i > 0 and all(_numeric(r[i]) for r in rows) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        padded = (
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)
        )
        return "| " + " | ".join(padded) + " |"

    rule = "|".join(
        "-" * (w + 1) + ":" if r else "-" * (w + 2) for w, r in zip(widths, right, strict=True)
    )
    return "\n".join([line(headers), "|" + rule + "|", *(line(r) for r in rows)])


def _numeric(cell: str) -> bool:
    """Numbers and ratios (`x1.5`) are right-aligned."""
    return cell == "" or cell[0].isdigit() or (cell[0] == "x" and cell[1:2].isdigit())


# -- the machine --------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """Date, CPU, cores, RAM, kernel and Python of this machine, for the results page."""
    cpu = "unknown"
    memory = "unknown"
    with open("/proc/cpuinfo") as handle:
        for text in handle:
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as handle:
        for text in handle:
            if text.startswith("MemTotal:"):
                memory = f"{int(text.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": memory,
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def load() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` shows them."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


# -- databases ----------------------------------------------------------------------------


@asynccontextmanager
async def scratch_database(backend: str, folder: Path) -> AsyncIterator[str]:
    """A fresh empty database for one run, as a plain URL; a PostgreSQL one is dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'modelport.db'}"
        return
    name = "mp_bench_" + secrets.token_hex(6)
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def pg_version() -> str:
    """The PostgreSQL server's version, e.g. `15.20`."""
    return str(await _pg_admin("SHOW server_version"))


async def _pg_admin(statement: str) -> object:
    """Run one statement outside a transaction; its first value, if it returns rows."""
    engine = create_async_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+asyncpg://"), isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as connection:
            result = await connection.exec_driver_sql(statement)
            return result.scalar() if result.returns_rows else None
    finally:
        await engine.dispose()


# -- a real server ------------------------------------------------------------------------


T = TypeVar("T")


def steady(read: Callable[[], T], pause: float = 0.3) -> T:
    """`read()` once it gives the same answer twice in a row, `pause` seconds apart: what a
    server shows once it has finished what was in flight (usage rows, say)."""
    last = read()
    while True:
        time.sleep(pause)
        now = read()
        if now == last:
            return now
        last = now


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """One `modelport serve` process, configured only through its environment, as a user would."""

    def __init__(self, database_url: str, data_dir: Path, extra_env: Mapping[str, str]) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.log_path = data_dir / "server.log"
        self._env = {
            **os.environ,
            "MODELPORT_DATABASE_URL": database_url,
            "MODELPORT_SECRET": BENCH_SECRET,
            "MODELPORT_DATA_DIR": str(data_dir),
            "MODELPORT_LOG_FILE": str(self.log_path),
            **extra_env,
        }
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "stderr.log", "ab") as stderr:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "modelport", "serve", "--port", str(self.port)],
                env=self._env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError("modelport serve exited: " + self._stderr())
            try:
                with self.client(None) as client:
                    if client.call("GET", "/healthz").status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("modelport serve did not become healthy: " + self._stderr())

    def __exit__(self, *_: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def _stderr(self) -> str:
        return (self.data_dir / "stderr.log").read_text()

    def client(self, token: str | None) -> Client:
        return Client(self.port, token)

    def app_durations_ms(self, wanted: set[str]) -> dict[str, float]:
        """`duration_ms` of each `wanted` request, as the access log has it, by request id.

        The server writes the line just after the response, so the last may lag a little.
        """
        durations: dict[str, float] = {}
        deadline = time.monotonic() + 5
        while not wanted <= durations.keys() and time.monotonic() < deadline:
            time.sleep(0.05)
            with open(self.log_path) as handle:
                for text in handle:
                    entry = json.loads(text)
                    if entry.get("message") == "request":
                        durations[entry["request_id"]] = float(entry["duration_ms"])
        return durations


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    request_id: str | None

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """One keep-alive HTTP/1.1 connection from the standard library: little client overhead."""

    def __init__(self, port: int, token: str | None) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self._connection.close()

    def call(self, method: str, path: str, body: Any = None) -> Reply:
        """Send one request and read the whole answer."""
        headers = dict(self._headers)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self._connection.request(method, path, body=payload, headers=headers)
        response = self._connection.getresponse()
        return Reply(response.status, response.read(), response.getheader("x-request-id"))
