"""Child processes of a benchmark: CPU time and memory from /proc, and one-shot HTTP calls."""

from __future__ import annotations

import http.client
import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_seconds_of(pid: int) -> float:
    """User plus system time of every thread of `pid` so far; 0 once it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def children_of(pid: int) -> list[int]:
    """The direct children of `pid` (nginx's workers, for instance)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(child) for child in text.split()]


class Process:
    """A child process whose CPU time and memory are read from /proc."""

    def __init__(self, command: Sequence[str], env: dict[str, str], log: Path) -> None:
        with open(log, "ab") as stderr:
            self._popen = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=stderr
            )
        self.pid = self._popen.pid
        self._name = " ".join(command)
        self._log = log

    def cpu_seconds(self) -> float:
        """User plus system time of every thread so far."""
        return cpu_seconds_of(self.pid)

    def cpu_seconds_with_children(self) -> float:
        """As `cpu_seconds`, plus the running children's (a master process and its workers)."""
        return self.cpu_seconds() + sum(cpu_seconds_of(c) for c in children_of(self.pid))

    def rss_bytes(self) -> int:
        return int(Path(f"/proc/{self.pid}/statm").read_text().split()[1]) * PAGE

    def wait_for_http(self, port: int, path: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._popen.poll() is not None:
                raise RuntimeError(f"{self._name} exited: {self._log.read_text()}")
            try:
                status, _, _ = request(port, "GET", path)
                if status < 500:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self._name} did not answer: {self._log.read_text()}")

    def check_running(self) -> None:
        if self._popen.poll() is not None:
            raise RuntimeError(f"{self._name} exited: {self._log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self._popen.poll() is None:
            self._popen.terminate()
            try:
                self._popen.wait(15)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                self._popen.wait()


def request(
    port: int, method: str, path: str, payload: bytes | None = None, token: str | None = None
) -> tuple[int, bytes, str | None]:
    """One request on a fresh connection: (status, body, x-request-id)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("x-request-id")
    finally:
        connection.close()
