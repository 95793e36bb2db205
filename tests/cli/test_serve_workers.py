"""`serve --workers`: a number or `auto`, refused in one line otherwise; one is one process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelport.config import Settings
from tests.support.cli import clean_env
from tests.support.hub import Hub


@pytest.mark.parametrize("value", ["0", "-1", "65", "two", "1.5", ""])
def test_a_bad_workers_option_is_refused_in_one_line(value: str, tmp_path: Path) -> None:
    env = clean_env(MODELPORT_DATA_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "modelport", "serve", "--workers", value],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"modelport: --workers must be a number from 1 to 64, or auto (got {value!r})"
    ]


def test_a_bad_workers_variable_is_refused_in_one_line(tmp_path: Path) -> None:
    env = clean_env(MODELPORT_DATA_DIR=str(tmp_path), MODELPORT_WORKERS="many")
    done = subprocess.run(
        [sys.executable, "-m", "modelport", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "modelport: bad setting: MODELPORT_WORKERS: must be a number of processes, or auto"
    ]


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
