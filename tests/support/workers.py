"""A `modelport serve --workers N` for tests, and which worker answered which request.

Which worker accepts a connection is the kernel's choice, so a test that must reach every
worker sends requests on fresh connections until the log says each worker answered one:
every access line of a worker carries its number (`worker`) and the request's id, which
the response gives back in `x-request-id`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.loop import BackgroundLoop
from tests.support.replicas import Replica

FRESH = {"Connection": "close"}
"""Headers for a request on a connection of its own (each is accepted anew)."""


class Workers(Replica):
    """One parent and its workers, on one port; `pid` is the parent's."""

    def __init__(
        self, database_url: str, data_dir: Path, loop: BackgroundLoop, env: dict[str, str], n: int
    ) -> None:
        super().__init__(database_url, data_dir, loop, {**env, "MODELPORT_WORKERS": str(n)})
        self.n = n
        self.log = WorkerLog(self.log_path)

    def start(self, timeout: float = 60) -> None:
        super().start(timeout)
        deadline = time.monotonic() + timeout
        while '"workers ready"' not in self.logs():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the workers did not start: {self.stderr()}")
            time.sleep(0.05)

    def pid_of(self, worker: int) -> int:
        """The process of worker number `worker` now, from its start line in the log."""
        pid = None
        for line in self.logs().splitlines():
            entry = json.loads(line)
            if entry.get("worker") == worker and entry["message"].startswith("Started server"):
                pid = int(entry["message"].rsplit("[", 1)[1].rstrip("]"))
        assert pid is not None, f"worker {worker} never started"
        return pid

    def worker_pids(self) -> list[int]:
        """The parent's children serving now (not multiprocessing's resource tracker)."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        return [int(pid) for pid in children if "spawn_main" in _cmdline(int(pid))]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except FileNotFoundError:
        return ""


class WorkerLog:
    """Reads the server's log as it grows: the worker that answered each request id."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self._reading = threading.Lock()
        self.worker_of: dict[str, int] = {}

    def read(self) -> None:
        with self._reading:
            self._read()

    def _read(self) -> None:
        if not self._path.exists():
            return
        with self._path.open("rb") as log:
            log.seek(self._offset)
            chunk = log.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        for line in complete.splitlines():
            entry = json.loads(line)
            if "worker" in entry and "request_id" in entry and "status" in entry:
                self.worker_of[entry["request_id"]] = entry["worker"]

    def workers(self, request_ids: list[str], timeout: float = 5) -> set[int]:
        """The workers that answered these requests (waiting for their access lines)."""
        deadline = time.monotonic() + timeout
        while True:
            self.read()
            if all(rid in self.worker_of for rid in request_ids) or time.monotonic() > deadline:
                return {self.worker_of[rid] for rid in request_ids if rid in self.worker_of}
            time.sleep(0.01)


def until_every_worker(
    workers: Workers, send: Callable[[], httpx.Response], at_most: int = 600
) -> list[httpx.Response]:
    """`send()` (on fresh connections) until every worker has answered one; the responses."""
    responses: list[httpx.Response] = []
    batch = 2 * workers.n
    while len(responses) < at_most:
        responses += [send() for _ in range(batch)]
        ids = [r.headers["x-request-id"] for r in responses]
        if len(workers.log.workers(ids)) == workers.n:
            return responses
    raise AssertionError(f"{at_most} requests on fresh connections did not reach every worker")
