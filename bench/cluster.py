"""Replicas on PostgreSQL + Redis for benchmarks: every part a real process on this machine.

A fast fake upstream, a private `redis-server` (no persistence, so its CPU and command
counts are ours alone), a scratch database on the shared PostgreSQL (dropped after), N
`modelport serve` replicas started together, and nginx fronts built from the sample config
in `deploy/nginx/modelport.conf` (only ports and log paths changed), one per replica set.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import asyncpg
import redis

from chat import start_upstream
from harness import BENCH_SECRET, PG_ADMIN_URL, free_port, steady
from processes import Process, cpu_seconds_of, request

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_NGINX = ROOT / "deploy" / "nginx" / "modelport.conf"
KEYS = "/v2/gen-ai/models/api_keys"
CHAT = "/v1/chat/completions"
LIMITS: dict[str, object] = {
    "rpm_limit": 1_000_000_000,
    "tpm_limit": 1_000_000_000,
    "monthly_spend_limit": "1000000",
}
"""Every per-key limit, each the highest the API allows: checked on every request, never hit."""
SAMPLE_SERVER = re.compile(r"^\s*server 127\.0\.0\.1:808\d .*;$")
SERVED = re.compile(
    r'^modelport_http_requests_total\{family="v1",route="/v1/chat/completions",'
    r'status="\d+"\} (\S+)$',
    re.MULTILINE,
)
VERIFIED = re.compile(r'^modelport_key_verifications_total\{source="(\w+)"\} (\S+)$', re.MULTILINE)
EPOCH = re.compile(r"^modelport_revocation_ledger_epoch (\S+)$", re.MULTILINE)


class Postgres:
    """A scratch database on the shared PostgreSQL, created here and dropped by `drop()`."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self.name = "mp_bench_" + secrets.token_hex(6)
        self._admin(f'CREATE DATABASE "{self.name}"')
        self.url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.name
        self._connection: Any = None
        self.queries = 0
        """Statements this bench ran on the scratch database: each one is a transaction."""

    def fetchrow(self, query: str, *args: object) -> Any:
        """One row of `query` on the scratch database (one connection, opened on first use)."""
        if self._connection is None:
            self._connection = self._run(asyncpg.connect(self.url))
        self.queries += 1
        return self._run(self._connection.fetchrow(query, *args))

    def backend_cpu(self) -> dict[int, float]:
        """CPU seconds of every other session on the scratch database (the replicas' pools)."""
        self.queries += 1
        pids = self._run(
            self._connection.fetch(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        return {int(row["pid"]): cpu_seconds_of(int(row["pid"])) for row in pids}

    def drop(self) -> None:
        if self._connection is not None:
            self._run(self._connection.close())
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._loop.close()

    def _admin(self, statement: str) -> None:
        async def run() -> None:
            connection = await asyncpg.connect(PG_ADMIN_URL)
            try:
                await connection.execute(statement)
            finally:
                await connection.close()

        self._run(run())

    def _run(self, work: Any) -> Any:
        return self._loop.run_until_complete(work)


class Redis:
    """A private `redis-server` without persistence, on a free port."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed: apt-get install -y redis-server")
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        self.process = Process(command, env, root / "redis.log")
        self.client = redis.Redis(port=self.port, socket_timeout=5)
        deadline = time.monotonic() + 30
        while not self._answers():
            self.process.check_running()
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer on {self.port}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            return bool(self.client.ping())
        except (redis.RedisError, OSError):
            return False

    def calls(self) -> dict[str, int]:
        """Commands executed so far, by name (`INFO commandstats`)."""
        stats = cast(dict[str, dict[str, int]], self.client.info("commandstats"))
        return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}

    def get_int(self, name: str) -> int | None:
        value = self.client.get(name)
        return None if value is None else int(cast(bytes, value))

    def stop(self) -> None:
        self.client.close()
        self.process.stop()


class Front:
    """nginx with the sample config in front of `ports`; its own master and one worker."""

    def __init__(self, root: Path, name: str, ports: Sequence[int], env: dict[str, str]) -> None:
        self.port = free_port()
        folder = root / name
        folder.mkdir()
        (folder / "modelport.conf").write_text(self._config(folder, ports))
        main = folder / "nginx.conf"
        main.write_text(
            f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log;\nevents {{}}\n"
            f"http {{\n    access_log off;\n    include {folder}/modelport.conf;\n}}\n"
        )
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        subprocess.run([binary, "-t", "-q", "-c", str(main)], check=True)
        self.process = Process(
            [binary, "-c", str(main), "-g", "daemon off;"], env, folder / "stderr.log"
        )
        self.process.wait_for_http(self.port, "/healthz")

    def _config(self, folder: Path, ports: Sequence[int]) -> str:
        lines: list[str] = []
        servers = [f"127.0.0.1:{port}" for port in ports]
        for line in SAMPLE_NGINX.read_text().splitlines():
            if SAMPLE_SERVER.match(line):
                if servers:
                    lines.extend(re.sub(r"127\.0\.0\.1:808\d", s, line) for s in servers)
                    servers = []
                continue
            lines.append(line)
        text = "\n".join(lines) + "\n"
        text = text.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        return text.replace("/var/log/nginx/", f"{folder}/")

    def cpu_seconds(self) -> float:
        return self.process.cpu_seconds_with_children()


@dataclass(frozen=True, slots=True)
class Counters:
    """What one replica's /metrics says: chat responses so far, key verifications by source,
    and how many times it forgot its key cache (Redis given up on, or back)."""

    served: int
    verified: Mapping[str, int]
    epoch: int


@dataclass
class Cluster:
    """Everything a replicas run needs, started; `key` has every limit set."""

    root: Path
    upstream: Process
    upstream_port: int
    redis: Redis
    postgres: Postgres
    replicas: list[Process]
    ports: list[int]
    fronts: dict[str, Front]
    env: dict[str, str]
    token: str
    key_id: str
    secret: str
    limits: bool

    def counters(self, index: int) -> Counters:
        status, text, _ = request(self.ports[index], "GET", "/metrics")
        if status != 200:
            raise RuntimeError(f"/metrics of replica {index}: HTTP {status}")
        page = text.decode()
        verified = {source: int(float(n)) for source, n in VERIFIED.findall(page)}
        served = sum(int(float(n)) for n in SERVED.findall(page))
        epoch = EPOCH.search(page)
        return Counters(served, verified, int(float(epoch.group(1))) if epoch else 0)

    def high_water(self) -> int:
        """The highest usage row id so far."""
        return int(self.postgres.fetchrow("SELECT coalesce(max(id), 0) FROM usage_records")[0])

    def settle(self) -> int:
        """`high_water()` once the replicas have finished what was in flight."""
        return steady(self.high_water)

    def usage(self, after_id: int, upto_id: int) -> tuple[int, int, int]:
        """(rows, rows with status ok, commits) of the usage rows with ids in the range.

        Rows committed together share their inserting transaction (`xmin`).
        """
        row = self.postgres.fetchrow(
            "SELECT count(*), count(*) FILTER (WHERE status = 'ok'), count(DISTINCT xmin::text)"
            " FROM usage_records WHERE id > $1 AND id <= $2",
            after_id,
            upto_id,
        )
        return int(row[0]), int(row[1]), int(row[2])

    def create_key(self, port: int, name: str) -> tuple[str, str]:
        """A new key (with every limit unless `limits` is off), made over /v2 on `port`.

        Returns (id, secret).
        """
        payload = json.dumps({"name": name, **(LIMITS if self.limits else {})}).encode()
        status, answer, _ = request(port, "POST", KEYS, payload, self.token)
        if status != 200:
            raise RuntimeError(f"creating a key: HTTP {status} {answer[:300]!r}")
        info = json.loads(answer)["api_key_info"]
        return str(info["uuid"]), str(info["secret_key"])


def _start_replicas(root: Path, env: dict[str, str], count: int) -> tuple[list[Process], list[int]]:
    """`count` replicas started at once (they migrate under PostgreSQL's advisory lock)."""
    ports = [free_port() for _ in range(count)]
    replicas = []
    for index, port in enumerate(ports):
        folder = root / f"replica{index}"
        folder.mkdir()
        replica_env = env | {
            "MODELPORT_DATA_DIR": str(folder),
            "MODELPORT_LOG_FILE": str(folder / "hub.log"),
        }
        command = [sys.executable, "-m", "modelport", "serve", "--port", str(port)]
        replicas.append(Process(command, replica_env, folder / "stderr.log"))
    with ThreadPoolExecutor(count) as pool:
        for done in [
            pool.submit(r.wait_for_http, p, "/readyz") for r, p in zip(replicas, ports, strict=True)
        ]:
            done.result()
    for index, port in enumerate(ports):
        status, answer, _ = request(port, "GET", "/readyz")
        if status != 200 or json.loads(answer)["status"] != "ready":
            raise RuntimeError(f"replica {index} is not ready: {answer!r}")
    return replicas, ports


@contextmanager
def started(root: Path, count: int, *, limits: bool = True) -> Iterator[Cluster]:
    """The upstream, Redis, a scratch database, `count` replicas and two nginx fronts.

    Fronts: `nginx-1` over the first replica, `nginx-N` over all of them. Keys get every
    limit unless `limits` is False.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    with ExitStack() as stack:
        upstream, upstream_port = start_upstream(root, env)
        stack.callback(upstream.stop)
        cache = Redis(root, env)
        stack.callback(cache.stop)
        postgres = Postgres()
        stack.callback(postgres.drop)
        env |= {
            "MODELPORT_DATABASE_URL": postgres.url,
            "MODELPORT_REDIS_URL": cache.url,
            "MODELPORT_SECRET": BENCH_SECRET,
            "MODELPORT_CATALOG": str(root / "catalog.toml"),
            "MODELPORT_DATA_DIR": str(root / "cli"),
            # The bench's own /v2 calls (hundreds of revokes) must not be throttled.
            "MODELPORT_API_RATE_LIMIT_PER_MINUTE": "10000000",
        }
        # The replicas would migrate the new database on start; the token is made before.
        modelport = [sys.executable, "-m", "modelport"]
        subprocess.run([*modelport, "db", "upgrade"], env=env, check=True, capture_output=True)
        token = subprocess.run(
            [*modelport, "tokens", "create", "bench", "--team", "bench", "--new-team"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        replicas, ports = _start_replicas(root, env, count)
        for replica in replicas:
            stack.callback(replica.stop)
        upstream.wait_for_http(upstream_port, "/")
        fronts = {}
        for name, behind in (("nginx-1", ports[:1]), (f"nginx-{count}", ports)):
            fronts[name] = Front(root, name, behind, env)
            stack.callback(fronts[name].process.stop)
        cluster = Cluster(
            root,
            upstream,
            upstream_port,
            cache,
            postgres,
            replicas,
            ports,
            fronts,
            env,
            token,
            "",
            "",
            limits,
        )
        cluster.key_id, cluster.secret = cluster.create_key(ports[0], "bench")
        yield cluster
