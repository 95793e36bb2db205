"""`serve --workers`: a number or `auto`, refused in one line otherwise; one is one process;
workers never outlive their parent; a hung worker is killed and replaced."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest

from modelport.cli.workers import FAST_DEATHS, _spawn, _Supervisor, _Worker
from modelport.config import MIN_WORKER_TIMEOUT, Settings
from modelport.infra.shared_state import WorkerLink
from tests.support.cli import clean_env
from tests.support.hub import Hub
from tests.support.ports import free_port


def _serve(env: dict[str, str], *options: str) -> subprocess.CompletedProcess[str]:
    """`modelport serve` with `options`, expected to refuse before it serves."""
    return subprocess.run(
        [sys.executable, "-m", "modelport", "serve", *options],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize("value", ["0", "65", "1.5"])
def test_a_bad_workers_option_is_refused_in_one_line(value: str, tmp_path: Path) -> None:
    done = _serve(clean_env(MODELPORT_DATA_DIR=str(tmp_path)), "--workers", value)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"modelport: --workers must be a number from 1 to 64, or auto (got {value!r})"
    ]


def test_a_bad_workers_variable_is_refused_in_one_line(tmp_path: Path) -> None:
    done = _serve(clean_env(MODELPORT_DATA_DIR=str(tmp_path), MODELPORT_WORKERS="many"))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "modelport: bad setting: MODELPORT_WORKERS: must be a number of processes, or auto"
    ]


@pytest.mark.parametrize("value", ["4", "-1", "soon"])
def test_a_bad_worker_timeout_is_refused_in_one_line(value: str, tmp_path: Path) -> None:
    env = clean_env(MODELPORT_DATA_DIR=str(tmp_path), MODELPORT_WORKER_TIMEOUT=value)
    done = _serve(env, "--workers", "2")
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("modelport: bad setting: MODELPORT_WORKER_TIMEOUT: ")


def test_a_worker_timeout_is_0_for_never_or_at_least_5_seconds() -> None:
    assert Settings().worker_timeout == 30
    assert Settings(worker_timeout="0").worker_timeout == 0
    assert Settings(worker_timeout="5").worker_timeout == 5


def test_auto_is_the_cores_this_process_may_use() -> None:
    assert Settings(workers="auto").workers == len(os.sched_getaffinity(0))
    assert Settings(workers=" AUTO ").workers == len(os.sched_getaffinity(0))
    assert Settings(workers="3").workers == 3
    assert Settings().workers == 1


def test_one_worker_is_one_process(hub: Hub) -> None:
    """The default serves in the process started: no parent, no child."""
    assert hub._process is not None
    pid = hub._process.pid
    assert Path(f"/proc/{pid}/task/{pid}/children").read_text().split() == []


def test_workers_stop_when_their_parent_is_killed(tmp_path: Path) -> None:
    """A parent killed with -9 cannot pass anything on: each worker gets SIGTERM from the
    kernel (its death signal), drains, and exits; none keeps serving the port."""
    log = tmp_path / "server.log"
    env = clean_env(MODELPORT_DATA_DIR=str(tmp_path / "data"), MODELPORT_LOG_FILE=str(log))
    command = [sys.executable, "-m", "modelport", "serve", "--workers", "2"]
    parent = subprocess.Popen([*command, "--port", str(free_port())], env=env)
    try:
        deadline = time.monotonic() + 60
        while '"workers ready"' not in (log.read_text() if log.exists() else ""):
            assert parent.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "no workers"
            time.sleep(0.1)
        children = Path(f"/proc/{parent.pid}/task/{parent.pid}/children").read_text().split()
        workers = [int(pid) for pid in children if b"spawn_main" in _cmdline(int(pid))]
        assert len(workers) == 2
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "a worker outlived its parent"
        time.sleep(0.1)


def _log_entries(log: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _workers_of(parent: int) -> list[int]:
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return sorted(int(pid) for pid in children if b"spawn_main" in _cmdline(int(pid)))


HUNG_AFTER = MIN_WORKER_TIMEOUT
"""The worker timeout of the test below: the least the setting takes."""


def test_a_hung_worker_is_killed_and_replaced(tmp_path: Path) -> None:
    """A worker whose event loop stops taking turns (SIGSTOP here: alive, and serving nothing)
    is killed with -9 once its heartbeat is older than the worker timeout, and replaced; the
    server serves on. Workers that are only idle keep beating and are left alone."""
    log = tmp_path / "server.log"
    port = free_port()
    env = clean_env(
        MODELPORT_DATA_DIR=str(tmp_path / "data"),
        MODELPORT_LOG_FILE=str(log),
        MODELPORT_WORKER_TIMEOUT=str(HUNG_AFTER),
    )
    command = [sys.executable, "-m", "modelport", "serve", "--workers", "2", "--port", str(port)]
    parent = subprocess.Popen(command, env=env)
    victim = None
    try:
        wait_until_logged = time.monotonic() + 60
        while not any(e["message"] == "workers ready" for e in _log_entries(log)):
            assert parent.poll() is None, "the server exited"
            assert time.monotonic() < wait_until_logged, "no workers"
            time.sleep(0.1)
        workers = _workers_of(parent.pid)
        assert len(workers) == 2

        time.sleep(2 * HUNG_AFTER)  # idle for two timeouts
        supervision = [e for e in _log_entries(log) if e["logger"] == "modelport.serve"]
        assert _workers_of(parent.pid) == workers, supervision

        victim = workers[0]
        os.kill(victim, signal.SIGSTOP)
        deadline = time.monotonic() + HUNG_AFTER + 15
        while True:
            entries = _log_entries(log)
            killed = [e for e in entries if e["message"] == "worker stopped answering; killing it"]
            if killed and any(e["message"] == "worker ready" for e in entries):
                break
            assert time.monotonic() < deadline, "the hung worker was not replaced"
            time.sleep(0.1)
        assert [e["pid"] for e in killed] == [victim]
        assert float(str(killed[0]["silent_seconds"])) >= HUNG_AFTER
        assert not _alive(victim)
        now = _workers_of(parent.pid)
        assert len(now) == 2
        assert victim not in now
        for _ in range(20):  # each on a fresh connection, to whichever worker accepts it
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        if victim is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        parent.terminate()
        parent.wait(30)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return b""


def _alive(pid: int) -> bool:
    """Running, not a zombie (an orphan's zombie is reaped by init soon after)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_parent_that_cannot_serve_the_shared_counters_says_why_in_one_line(
    tmp_path: Path,
) -> None:
    """The workers' private folder is made under TMPDIR: too deep a one, and the parent's
    Unix socket path is longer than the kernel takes. The parent must say so and stop, not
    wait for a socket that will never be served."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    env = clean_env(MODELPORT_DATA_DIR=str(tmp_path / "data"), TMPDIR=str(deep))
    done = _serve(env, "--workers", "2", "--port", str(free_port()))
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.startswith("modelport:")]
    assert len(lines) == 1
    assert lines[0].startswith("modelport: cannot serve the workers' shared counters")
    assert "AF_UNIX path too long" in lines[0]


def test_a_worker_that_dies_before_it_is_ready_is_not_counted_ready(tmp_path: Path) -> None:
    """Its pipe ends without a word: that is a failure to start, which must count towards
    stopping the server, not reset the count as a worker's readiness does."""
    supervisor = _Supervisor(Settings(workers=2), socket.socket(), WorkerLink(tmp_path))
    supervisor._fast_deaths = FAST_DEATHS - 1
    ready, sent = _spawn.Pipe(duplex=False)
    process = _spawn.Process(target=int)  # ends at once, never saying it is ready
    process.start()
    sent.close()
    process.join(30)
    supervisor._workers[0] = _Worker(0, process, ready)
    supervisor._note_ready()
    assert supervisor._fast_deaths == FAST_DEATHS - 1
    assert not supervisor._announced
    assert ready.closed  # not waited on again
