"""The revocation ledger of `serve --workers`: marks in one file, seen by every worker.

Two ledgers on one file stand for two workers (each maps the file, as processes do). What
one marks, the other sees on its next question; a worker started later sees every mark
still alive; and marks overwritten before they expired make every worker unsure (so keys
are checked in the database) until they would have expired.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelport.core.digest import Digest
from modelport.infra import shared_revocations
from modelport.infra.shared_revocations import (
    SIZE,
    SLOTS,
    IncompatibleLedgerFile,
    SharedRevocationLedger,
)

TTL = 660.0


def _digest(n: int) -> Digest:
    return Digest(hashlib.sha256(str(n).encode()).digest())


@pytest.fixture
def path(tmp_path: Path) -> Path:
    ledger = tmp_path / "revocations"
    shared_revocations.create(ledger)
    return ledger


async def test_a_mark_in_one_worker_is_seen_by_another_at_once(path: Path) -> None:
    one, other = SharedRevocationLedger(path, TTL), SharedRevocationLedger(path, TTL)
    assert await other.is_marked(_digest(1), time.monotonic()) is False
    await one.mark(_digest(1))
    assert await other.is_marked(_digest(1), time.monotonic()) is True
    assert await one.is_marked(_digest(1), time.monotonic()) is True
    assert await other.is_marked(_digest(2), time.monotonic()) is False
    assert (one.epoch, other.epoch, other.shared) == (0, 0, True)
    await one.close()
    await other.close()


async def test_a_mark_from_another_process_is_seen(path: Path) -> None:
    code = (
        "import asyncio, hashlib, sys; from pathlib import Path;"
        "from modelport.infra.shared_revocations import SharedRevocationLedger as L;"
        "asyncio.run(L(Path(sys.argv[1]), 660.0).mark(hashlib.sha256(b'7').digest()))"
    )
    mine = SharedRevocationLedger(path, TTL)
    assert await mine.is_marked(_digest(7), time.monotonic()) is False
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=30)
    assert await mine.is_marked(_digest(7), time.monotonic()) is True


async def test_a_worker_started_later_sees_every_live_mark(path: Path) -> None:
    one = SharedRevocationLedger(path, TTL)
    for n in range(100):
        await one.mark(_digest(n))
    later = SharedRevocationLedger(path, TTL)
    assert [await later.is_marked(_digest(n), time.monotonic()) for n in range(100)] == [True] * 100


async def test_an_expired_mark_no_longer_counts(path: Path) -> None:
    one, other = SharedRevocationLedger(path, 0.0), SharedRevocationLedger(path, TTL)
    await one.mark(_digest(1))
    assert await other.is_marked(_digest(1), time.monotonic()) is False


async def test_marks_overwritten_alive_make_every_worker_unsure(path: Path) -> None:
    one, other = SharedRevocationLedger(path, TTL), SharedRevocationLedger(path, TTL)
    assert await other.is_marked(_digest(0), time.monotonic()) is False
    for n in range(SLOTS + 1):  # the first mark's slot is reused while it is alive
        await one.mark(_digest(n))
    assert await other.is_marked(_digest(SLOTS), time.monotonic()) is None
    assert await other.is_marked(_digest(-1), time.monotonic()) is None
    assert await SharedRevocationLedger(path, TTL).is_marked(_digest(-1), time.monotonic()) is None


async def test_marks_overwritten_once_expired_change_nothing(path: Path) -> None:
    gone, one = SharedRevocationLedger(path, 0.0), SharedRevocationLedger(path, TTL)
    other = SharedRevocationLedger(path, TTL)
    for n in range(SLOTS):
        await gone.mark(_digest(n))
    await one.mark(_digest(-1))
    assert await other.is_marked(_digest(-1), time.monotonic()) is True
    assert await other.is_marked(_digest(5), time.monotonic()) is False


async def test_a_settle_overwritten_alive_makes_every_worker_unsure(path: Path) -> None:
    """Only the settle is alive when its slot is reused: a worker that missed it cannot tell
    which reads it covers (any before it), so it must not answer from what it has."""
    brief, one = SharedRevocationLedger(path, 0.0), SharedRevocationLedger(path, TTL)
    other = SharedRevocationLedger(path, TTL)
    await one.settle(_digest(0), await brief.mark(_digest(0)))  # slots 0 (expired) and 1
    for n in range(1, SLOTS + 1):  # expired at once; the last reuses slot 1
        await brief.mark(_digest(n))
    assert await other.is_marked(_digest(0), time.monotonic()) is None
    assert await other.is_marked(_digest(-1), time.monotonic()) is None


async def test_a_settle_that_fails_leaves_the_mark_pending_and_raises_nothing(
    path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    one, other = SharedRevocationLedger(path, TTL), SharedRevocationLedger(path, TTL)
    mark = await one.mark(_digest(1))
    await one.close()  # shutting down: the map is closed
    await one.settle(_digest(1), mark)
    assert "could not be settled" in caplog.text
    assert await other.is_marked(_digest(1), time.monotonic()) is True
    await other.close()


@pytest.mark.parametrize("size", [64 + SLOTS * 49, SIZE], ids=["older layout", "no marker"])
def test_a_file_of_another_version_is_refused_with_a_clear_error(tmp_path: Path, size: int) -> None:
    """A worker of new code under a parent of older code (upgraded while it ran)."""
    old = tmp_path / "revocations"
    with old.open("wb") as file:
        file.truncate(size)
    with pytest.raises(IncompatibleLedgerFile, match="restart the server"):
        SharedRevocationLedger(old, TTL)


def test_the_file_is_the_workers_alone(path: Path) -> None:
    assert os.stat(path).st_mode & 0o777 == 0o600
