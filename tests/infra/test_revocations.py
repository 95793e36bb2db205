"""Marks that settle: the in-memory ledger and the workers' shared one, over the same cases.

A change marks its key's digest before it commits and settles the mark once committed. A
cached verification of a marked digest is trusted again only when no change to it is
pending and the database read that filled it began after the last settle. For the shared
ledger, one instance writes and another (a second worker, over the same file) answers.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from modelport.core.digest import Digest
from modelport.infra import shared_revocations
from modelport.infra.revocations import MemoryRevocationLedger, RevocationLedger
from modelport.infra.shared_revocations import SharedRevocationLedger

TTL = 660.0
D = Digest(hashlib.sha256(b"key").digest())
OTHER = Digest(hashlib.sha256(b"other key").digest())

# (writer, reader): the same in-memory ledger, or two workers' ledgers over one file.
Ledgers = Callable[[float], tuple[RevocationLedger, RevocationLedger]]


@pytest.fixture(params=["memory", "shared"])
async def ledgers(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Ledgers]:
    made: list[RevocationLedger] = []
    path = tmp_path / "revocations"
    shared_revocations.create(path)

    def make(ttl: float) -> tuple[RevocationLedger, RevocationLedger]:
        if request.param == "memory":
            memory = MemoryRevocationLedger(ttl)
            made.append(memory)
            return memory, memory
        writer, reader = SharedRevocationLedger(path, ttl), SharedRevocationLedger(path, ttl)
        made.extend((writer, reader))
        return writer, reader

    yield make
    for ledger in made:
        await ledger.close()


async def test_a_settled_mark_trusts_a_read_begun_after_the_settle_only(ledgers: Ledgers) -> None:
    writer, reader = ledgers(TTL)
    before_mark = time.monotonic()
    await writer.mark(D)
    during = time.monotonic()
    assert await reader.is_marked(D, during) is True, "pending: no read is trusted"
    assert await reader.is_marked(OTHER, before_mark) is False
    await writer.settle(D)
    after = time.monotonic()
    assert await reader.is_marked(D, before_mark) is True, "a read from before the mark"
    assert await reader.is_marked(D, during) is True, "a read that may not have seen the commit"
    assert await reader.is_marked(D, after) is False, "a read begun after the settle saw it"


async def test_overlapping_changes_trust_nothing_until_both_settled(ledgers: Ledgers) -> None:
    """A commits, B locks the row and marks, then A's settle runs, then B commits."""
    writer, reader = ledgers(TTL)
    await writer.mark(D)  # A
    await writer.mark(D)  # B
    await writer.settle(D)  # A's, after B marked
    between = time.monotonic()
    assert await reader.is_marked(D, between) is True, "B is still pending"
    await writer.settle(D)  # B's
    after = time.monotonic()
    assert await reader.is_marked(D, between) is True, "that read may have missed B"
    assert await reader.is_marked(D, after) is False


async def test_a_mark_never_settled_is_distrusted_until_it_expires(ledgers: Ledgers) -> None:
    writer, reader = ledgers(0.5)
    await writer.mark(D)  # its change rolled back, or its process died
    assert await reader.is_marked(D, time.monotonic()) is True
    await asyncio.sleep(0.3)
    assert await reader.is_marked(D, time.monotonic()) is True
    await asyncio.sleep(0.3)
    assert await reader.is_marked(D, time.monotonic()) is False
    assert await reader.is_marked(D, 0.0) is False, "expired: no entry that old is alive"


async def test_a_later_change_is_pending_again_after_a_settle(ledgers: Ledgers) -> None:
    writer, reader = ledgers(TTL)
    await writer.mark(D)
    await writer.settle(D)
    settled = time.monotonic()
    assert await reader.is_marked(D, settled) is False
    await writer.mark(D)
    assert await reader.is_marked(D, settled) is True
    assert await reader.is_marked(D, time.monotonic()) is True


async def test_a_settle_without_its_mark_still_distrusts_older_reads(ledgers: Ledgers) -> None:
    """A change whose mark expired before it committed (a very long transaction)."""
    writer, reader = ledgers(TTL)
    before = time.monotonic()
    await writer.settle(D)
    assert await reader.is_marked(D, before) is True
    assert await reader.is_marked(D, time.monotonic()) is False
    await writer.mark(D)  # the next change: that settle did not cancel it in advance
    assert await reader.is_marked(D, time.monotonic()) is True


async def test_a_settle_from_another_process_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "revocations"
    shared_revocations.create(path)
    mine = SharedRevocationLedger(path, TTL)
    await mine.mark(D)
    assert await mine.is_marked(D, time.monotonic()) is True
    code = (
        "import asyncio, hashlib, sys; from pathlib import Path;"
        "from modelport.infra.shared_revocations import SharedRevocationLedger as L;"
        "asyncio.run(L(Path(sys.argv[1]), 660.0).settle(hashlib.sha256(b'key').digest()))"
    )
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", code, str(path))
    assert await asyncio.wait_for(process.wait(), 30) == 0
    assert await mine.is_marked(D, time.monotonic()) is False
    await mine.close()
