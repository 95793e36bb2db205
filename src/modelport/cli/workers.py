"""`serve --workers N`: one parent, N worker processes serving one port.

The parent migrates the database and prints the setup link once, binds the socket once,
keeps what the workers share when there is no Redis (a revocation ledger in a file they
all map, and the counters they reach on a Unix socket: `infra/shared_*.py`), then starts
the workers and watches them:
- a worker that dies (kill -9, a crash) is replaced at once; a worker that keeps dying
  right after its start (a broken setting) stops the server instead;
- a worker whose event loop stops taking turns (it hangs without dying) is killed with -9
  once its heartbeat is older than the worker timeout, then replaced (`cli/heartbeats.py`);
- each signal the parent gets is passed to every worker, whose own `DrainingServer` acts on
  it: the first SIGTERM (or SIGINT) drains every worker, requests in flight finish and are
  billed; a second cuts them; a third stops them at once. The parent exits after the last.

Workers run in their own process group, so a Ctrl-C in a terminal reaches the parent only
(and through it each worker once), and each gets SIGTERM should the parent die.
`docs/design/workers.md` argues why nothing is weaker than with one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from pathlib import Path
from types import FrameType

import uvloop

from modelport.cli import heartbeats
from modelport.cli.heartbeats import Heartbeats, keep_beating
from modelport.config import Settings
from modelport.infra import shared_revocations
from modelport.infra.shared_state import StateServer, WorkerLink

log = logging.getLogger("modelport.serve")

FAST_DEATH_SECONDS = 10.0
"""A worker that dies sooner than this after its start is counted as failing to start."""
FAST_DEATHS = 3
"""Failures to start in a row that stop the server (a bad setting would loop forever)."""
_PR_SET_PDEATHSIG = 1
_STOPPING = {signal.SIGTERM, signal.SIGINT}
"""The signals that stop the server."""
_spawn = multiprocessing.get_context("spawn")


def supervise(settings: Settings, sock: socket.socket) -> int:
    """Run `settings.workers` workers on `sock` until a signal stops them; the exit code."""
    folder = Path(tempfile.mkdtemp(prefix="modelport-"))  # private (0700), a short socket path
    link = WorkerLink(folder)
    shared_revocations.create(link.revocations)
    host = None if settings.redis_url else _StateHost(settings, link)
    try:
        if host is not None:
            host.start()
        return _Supervisor(settings, sock, link).run()
    finally:
        if host is not None:
            host.stop()
        shutil.rmtree(folder, ignore_errors=True)


class SharedStateFailed(Exception):
    """The parent could not start serving its workers' shared counters (the message says
    why, in one line)."""


class _StateHost:
    """The parent's counters, served to the workers from a thread with its own event loop."""

    def __init__(self, settings: Settings, link: WorkerLink) -> None:
        self._settings = settings
        self._link = link
        self._loop = uvloop.new_event_loop()  # the workers run on uvloop too
        self._stopping: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="shared-state", daemon=True)
        self._ready = threading.Event()
        self._failed: Exception | None = None
        """Why serving failed before it was ready (the thread's error, raised by start)."""

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._failed is not None:
            raise SharedStateFailed(
                f"cannot serve the workers' shared counters on {self._link.socket}: {self._failed}"
            ) from self._failed

    def stop(self) -> None:
        if self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(10)

    def _run(self) -> None:
        try:
            self._loop.run_until_complete(self._serve())
        except Exception as exc:
            if self._ready.is_set():
                raise
            self._failed = exc
            self._ready.set()

    async def _serve(self) -> None:
        from modelport.components import shared_targets
        from modelport.db.engine import Database

        self._stopping = asyncio.Event()
        database = Database(self._settings.sqlalchemy_url, pool_size=self._settings.db_pool_size)
        server = StateServer(self._link.socket, shared_targets(self._settings, database))
        await server.start()
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            await server.close()
            await database.dispose()


class _Worker:
    def __init__(self, index: int, process: SpawnProcess, ready: Connection) -> None:
        self.index = index
        self.process = process
        self.ready = ready
        self.started = time.monotonic()
        self.signalled = 0
        """How many of the parent's signals it has been sent."""
        self.serving = False
        """Whether it said it is ready (only its message counts: a pipe that ends without
        one is a worker that died before it was ready)."""
        self.serving_since = 0.0
        """When the parent heard it was ready (monotonic): its heartbeat counts from then."""
        self.killed = False
        """Whether the parent killed it for hanging (its death is then on its way)."""


class _Supervisor:
    def __init__(self, settings: Settings, sock: socket.socket, link: WorkerLink) -> None:
        self._settings = settings
        self._sock = sock
        self._link = link
        self._workers: dict[int, _Worker] = {}
        self._signals: list[int] = []
        self._fast_deaths = 0
        self._announced = False
        self._stop_logged = False
        heartbeats.create(link.heartbeats)  # before any worker starts: they map it
        self._heartbeats = Heartbeats(link.heartbeats)

    def run(self) -> int:
        for sig in _STOPPING:
            signal.signal(sig, self._on_signal)
        for index in range(self._settings.workers):
            self._start(index)
        code = 0
        while self._workers:
            self._log_stop()
            self._note_ready()
            self._kill_hung()
            waiting: list[int | Connection] = [w.process.sentinel for w in self._workers.values()]
            waiting += [w.ready for w in self._workers.values() if not w.ready.closed]
            multiprocessing.connection.wait(waiting, timeout=0.5)
            for worker in [w for w in self._workers.values() if not w.process.is_alive()]:
                if not self._replace(worker):
                    code = 1
        self._heartbeats.close()
        return code

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        self._signals.append(sig)
        # Stopping: no worker will be started on the socket again. Once the workers have
        # closed their listeners, the parent's copy would keep the port listening with
        # nobody to accept; closed, a new connection is refused (a proxy tries elsewhere).
        self._sock.close()
        for worker in list(self._workers.values()):
            self._pass_signals(worker)

    def _pass_signals(self, worker: _Worker) -> None:
        """Send `worker` each signal the parent got, once: a worker counts them (the second
        cuts its drain short), so none may arrive twice, even when this is interrupted by
        the handler that calls it too."""
        while worker.signalled < len(self._signals):
            sig = self._signals[worker.signalled]
            worker.signalled += 1
            with contextlib.suppress(ProcessLookupError, TypeError):
                os.kill(worker.process.pid, sig)  # type: ignore[arg-type]

    def _log_stop(self) -> None:
        if self._signals and not self._stop_logged:
            log.info("stopping workers", extra={"workers": len(self._workers)})
            self._stop_logged = True

    def _note_ready(self) -> None:
        for worker in self._workers.values():
            if worker.ready.closed or not worker.ready.poll():
                continue
            try:
                worker.ready.recv()
            except (EOFError, OSError):
                continue  # it died before it was ready: `_replace` counts that
            finally:
                worker.ready.close()
            worker.serving = True
            worker.serving_since = time.monotonic()
            self._fast_deaths = 0
            if self._announced:  # a replacement
                log.info("worker ready", extra={"worker": worker.index, "pid": worker.process.pid})
        if not self._announced and all(w.serving for w in self._workers.values()):
            self._announced = True
            pids = sorted(w.process.pid or 0 for w in self._workers.values())
            log.info("workers ready", extra={"workers": len(pids), "pids": pids})

    def _kill_hung(self) -> None:
        """Kill with -9 each serving worker silent for longer than the worker timeout, while
        serving or draining alike: a hung worker would otherwise hold its connections, and
        the server's stop, for ever. Its death then replaces it as any other."""
        timeout = self._settings.worker_timeout
        if not timeout:
            return
        now = time.monotonic()
        for worker in self._workers.values():
            if not worker.serving or worker.killed:
                continue
            silent = now - max(worker.serving_since, self._heartbeats.last(worker.index))
            if silent <= timeout:
                continue
            log.error(
                "worker stopped answering; killing it",
                extra={
                    "worker": worker.index,
                    "pid": worker.process.pid,
                    "silent_seconds": round(silent, 1),
                },
            )
            worker.killed = True
            with contextlib.suppress(ProcessLookupError, TypeError):
                os.kill(worker.process.pid, signal.SIGKILL)  # type: ignore[arg-type]

    def _start(self, index: int) -> None:
        """Start worker `index`, unless stopping. Signals wait meanwhile: their handler
        closes the socket the new worker is being handed."""
        held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
        try:
            if self._signals:
                return
            parent_end, child_end = _spawn.Pipe(duplex=False)
            process = _spawn.Process(
                target=work,
                args=(
                    self._settings,
                    self._sock,
                    self._link.numbered(index),
                    child_end,
                    os.getpid(),
                ),
                name=f"modelport-worker-{index}",
                daemon=False,
            )
            process.start()
            child_end.close()
            self._workers[index] = _Worker(index, process, parent_end)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def _replace(self, worker: _Worker) -> bool:
        """Start another worker in place of a dead one, unless stopping; False when the
        workers keep failing to start (the server then stops)."""
        del self._workers[worker.index]
        worker.process.join()
        if not worker.ready.closed:
            worker.ready.close()
        if self._signals:
            return True
        lived = time.monotonic() - worker.started
        log.warning(
            "worker died; starting another",
            extra={"pid": worker.process.pid, "exit_code": worker.process.exitcode},
        )
        self._fast_deaths = self._fast_deaths + 1 if lived < FAST_DEATH_SECONDS else 0
        if self._fast_deaths >= FAST_DEATHS:
            log.error("workers keep failing to start; stopping")
            self._on_signal(signal.SIGTERM, None)
            return False
        self._start(worker.index)
        return True


def work(
    settings: Settings, sock: socket.socket, link: WorkerLink, ready: Connection, parent: int
) -> None:
    """Worker `link.index` (a spawned process): the hub's app, served by a `DrainingServer`
    on `sock`. Its log lines carry `worker: <index>` (a replacement takes the dead one's)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)  # held while it was started
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        return  # the parent died before the line above could take effect
    os.setpgid(0, 0)
    from modelport.app import create_app
    from modelport.cli.server import DrainingServer, uvicorn_config
    from modelport.components import build_components
    from modelport.logs import configure_logging

    configure_logging(settings.log_level, settings.log_file, settings.log_format, link.index)
    components = build_components(settings, worker_of=link)
    app = create_app(settings, components, migrate=False, announce=False)
    server = DrainingServer(uvicorn_config(app, settings), components.drain)
    beats = Heartbeats(link.heartbeats)

    def started() -> None:
        keep_beating(beats, link.index)
        _send_ready(ready)

    server.on_started = started
    server.run(sockets=[sock])


def _send_ready(ready: Connection) -> None:
    with contextlib.suppress(OSError):
        ready.send(os.getpid())
        ready.close()
