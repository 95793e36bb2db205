"""Hubs that fault tests may kill -9 and restart on the same port, several started at once."""

from __future__ import annotations

import signal
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.support.hub import Hub

IDLE_SECONDS = 2.0
"""Clients drop idle connections this soon: before the server does (uvicorn: 5 s), never at
the same moment, when a request sent on a connection being closed would fail."""


class Replica(Hub):
    """A `modelport serve` process; `start()` again after `kill()` reuses its port and data dir."""

    @property
    def pid(self) -> int:
        assert self._process is not None, "not started"
        return self._process.pid

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing pending is flushed."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(10)

    def client(self, token: str | None) -> httpx.Client:
        """As `Hub.client`, with idle connections dropped before the server drops them."""
        return httpx.Client(
            base_url=self.url,
            headers=_bearer(token),
            timeout=30,
            limits=httpx.Limits(keepalive_expiry=IDLE_SECONDS),
            event_hooks={"response": [self._remember_secrets]},
        )

    def async_client(self, token: str | None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.url,
            headers=_bearer(token),
            timeout=60,
            limits=httpx.Limits(keepalive_expiry=IDLE_SECONDS),
            event_hooks={"response": [self._remember_secrets_async]},
        )

    def ensure_started(self) -> None:
        """Start it again unless it is running (after a test that killed it failed)."""
        if self._process is None or self._process.poll() is not None:
            self.start()

    def rss_kib(self) -> int:
        """The process's resident memory now, from /proc/<pid>/status."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError(f"no VmRSS for pid {self.pid}")


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def start_all(replicas: Sequence[Hub], timeout: float = 60) -> None:
    """Start every replica at once (they migrate the shared database under a lock)."""
    with ThreadPoolExecutor(len(replicas)) as pool:
        for started in [pool.submit(r.start, timeout) for r in replicas]:
            started.result()


def stop_all(replicas: Sequence[Hub]) -> None:
    with ThreadPoolExecutor(len(replicas)) as pool:
        for stopped in [pool.submit(r.stop) for r in replicas]:
            stopped.result()
