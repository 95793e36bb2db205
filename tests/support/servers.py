"""Private Redis and PostgreSQL servers, real processes that fault tests may kill and restart.

The machine's shared PostgreSQL (5432) and Redis (6379) serve other test runs; a test that
stops a server starts its own here, on a free port. Each start fails loudly (RuntimeError
with the server's own words) if the server cannot come up: fault tests never skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from tests.support.ports import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_OS_USER = "postgres"
START_SECONDS = 30.0


class PrivateRedis:
    """`redis-server` without persistence: killing it loses every key, like a real crash.
    Unless a test asks for a snapshot (`SAVE`): a restart then loads it, as Redis restarted
    from an RDB or AOF that lacks the last writes."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None
        self._root = Path(tempfile.mkdtemp(prefix="mp-redis-"))
        self._log = self._root / "redis.log"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not on PATH; the fault tests need it")
        command = [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--logfile", str(self._log)]
        command += ["--dir", str(self._root)]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + START_SECONDS
        while not self.answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"redis-server did not start on {self.port}: {self._tail()}")
            time.sleep(0.05)

    def answers(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()

    def ensure_started(self) -> None:
        """Start it again unless it answers (after a test that killed it failed)."""
        if not self.answers():
            self.start()

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """SIGSTOP until the block ends: connections stay open, nothing is answered (a hang)."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self._process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: every mark and counter it held is gone."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(10)

    def destroy(self) -> None:
        self.kill()
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.destroy()

    def _tail(self) -> str:
        return self._log.read_text()[-2000:] if self._log.exists() else "(no log)"


class PrivatePostgres:
    """A throwaway PostgreSQL 15 cluster (trust auth) on 127.0.0.1 and a free port.

    Run as the `postgres` OS user when we are root, since initdb refuses root.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self._root = Path(tempfile.mkdtemp(prefix="mp-pg-"))
        self._data = self._root / "data"
        self._log = self._root / "postgres.log"
        if os.geteuid() == 0:
            shutil.chown(self._root, user=PG_OS_USER, group=PG_OS_USER)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        self._run(
            "initdb",
            ["-D", str(self._data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"],
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self._root}"
            " -c fsync=off -c full_page_writes=off -c max_connections=300"
        )
        self._pg_ctl("start", "-o", options)

    def stop(self) -> None:
        """A fast shutdown: open sessions are cut, as when a database fails over."""
        self._pg_ctl("stop", "-m", "fast")

    def ensure_started(self) -> None:
        """Start the server unless it is running."""
        if not (self._data / "postmaster.pid").exists():
            self.start()

    def create_database(self, name: str) -> str:
        self._run(
            "psql",
            [
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                f'CREATE DATABASE "{name}"',
            ],
        )
        return self.url(name)

    def destroy(self) -> None:
        if (self._data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self._root, ignore_errors=True)

    def _pg_ctl(self, *args: str) -> None:
        self._run("pg_ctl", ["-D", str(self._data), "-l", str(self._log), "-w", "-t", "30", *args])

    def _run(self, program: str, args: list[str]) -> None:
        binary = PG_BIN / program
        if not binary.exists():
            raise RuntimeError(f"{binary} is missing; the fault tests need PostgreSQL 15")
        command = [str(binary), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", PG_OS_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self._root)
        if done.returncode != 0:
            log = self._log.read_text()[-2000:] if self._log.exists() else ""
            raise RuntimeError(f"{program} {args[:1]} failed: {done.stderr or done.stdout}\n{log}")
