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
from modelport.infra.revocations import Marks, MemoryRevocationLedger, RevocationLedger
from modelport.infra.shared_revocations import SharedRevocationLedger

TTL = 660.0
D = Digest(hashlib.sha256(b"key").digest())
OTHER = Digest(hashlib.sha256(b"other key").digest())
GONE = 2**40
"""A mark no ledger here handed out (as one that expired and was forgotten)."""

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
    mark = await writer.mark(D)
    during = time.monotonic()
    assert await reader.is_marked(D, during) is True, "pending: no read is trusted"
    assert await reader.is_marked(OTHER, before_mark) is False
    await writer.settle(D, mark)
    after = time.monotonic()
    assert await reader.is_marked(D, before_mark) is True, "a read from before the mark"
    assert await reader.is_marked(D, during) is True, "a read that may not have seen the commit"
    assert await reader.is_marked(D, after) is False, "a read begun after the settle saw it"


async def test_overlapping_changes_trust_nothing_until_both_settled(ledgers: Ledgers) -> None:
    """A commits, B locks the row and marks, then A's settle runs, then B commits."""
    writer, reader = ledgers(TTL)
    a = await writer.mark(D)
    b = await writer.mark(D)
    await writer.settle(D, a)  # after B marked
    between = time.monotonic()
    assert await reader.is_marked(D, between) is True, "B is still pending"
    await writer.settle(D, b)
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
    await writer.settle(D, await writer.mark(D))
    settled = time.monotonic()
    assert await reader.is_marked(D, settled) is False
    await writer.mark(D)
    assert await reader.is_marked(D, settled) is True
    assert await reader.is_marked(D, time.monotonic()) is True


async def test_a_settle_without_its_mark_still_distrusts_older_reads(ledgers: Ledgers) -> None:
    """A change whose mark expired before it committed (a very long transaction)."""
    writer, reader = ledgers(TTL)
    before = time.monotonic()
    await writer.settle(D, GONE)
    assert await reader.is_marked(D, before) is True
    assert await reader.is_marked(D, time.monotonic()) is False
    await writer.mark(D)  # the next change: that settle did not cancel it in advance
    assert await reader.is_marked(D, time.monotonic()) is True


async def test_a_settle_from_another_process_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "revocations"
    shared_revocations.create(path)
    mine = SharedRevocationLedger(path, TTL)
    mark = await mine.mark(D)
    assert await mine.is_marked(D, time.monotonic()) is True
    code = (
        "import asyncio, hashlib, sys; from pathlib import Path;"
        "from modelport.infra.shared_revocations import SharedRevocationLedger as L;"
        "asyncio.run(L(Path(sys.argv[1]), 660.0)"
        ".settle(hashlib.sha256(b'key').digest(), int(sys.argv[2])))"
    )
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", code, str(path), str(mark))
    assert await asyncio.wait_for(process.wait(), 30) == 0
    assert await mine.is_marked(D, time.monotonic()) is False
    await mine.close()


# `Marks` itself, with chosen times: a mark (digest, token, expiry), a settle (digest, token,
# at, expiry), and `distrusts(digest, read_since, now)`, as a ledger of TTL calls them.


def test_a_read_begun_at_the_very_time_of_the_settle_is_distrusted() -> None:
    marks = Marks()
    marks.mark(D, 0, 0 + TTL)
    marks.settle(D, 0, 5.0, 5.0 + TTL)
    assert marks.distrusts(D, 5.0, now=6.0) is True, "it may have begun before the commit"
    assert marks.distrusts(D, 5.000001, now=6.0) is False


def test_a_mark_never_settled_is_not_extended_by_later_changes() -> None:
    """A change marked at 0 never settles (its process died); another is marked and settled
    at 600. The first stays pending until its own expiry, 660, and no longer."""
    marks = Marks()
    marks.mark(D, 0, 0 + TTL)
    marks.mark(D, 1, 600 + TTL)
    marks.settle(D, 1, 600.0, 600 + TTL)
    assert marks.distrusts(D, 650.0, now=650.0) is True, "the mark of 0 is pending"
    assert marks.distrusts(D, 650.0, now=659.9) is True
    assert marks.distrusts(D, 650.0, now=660.0) is False, "it expired: the read saw 600's"
    assert marks.distrusts(D, 599.0, now=660.0) is True, "a read before 600's settle"
    marks.prune(now=660.0)
    assert marks.distrusts(D, 650.0, now=661.0) is False
    assert marks.distrusts(D, 599.0, now=661.0) is True, "pruning kept the settle"


def test_a_settle_whose_mark_expired_does_not_cancel_the_next_change() -> None:
    """A marks at 0 and commits; B locks the row and marks at 1.1; A's settle runs at 1.2. A
    worker folds the three records only at 660.5, when A's mark has expired and B's has not:
    B is still pending, whatever A's settle does."""
    marks = Marks()
    marks.mark(D, 0, 0 + TTL)
    marks.mark(D, 1, 1.1 + TTL)
    marks.settle(D, 0, 1.2, 1.2 + TTL)
    assert marks.distrusts(D, 1.3, now=660.5) is True, "B has not settled"
    marks.settle(D, 1, 2.0, 2.0 + TTL)
    assert marks.distrusts(D, 2.1, now=660.5) is False


def test_a_settle_ends_its_own_mark_only() -> None:
    marks = Marks()
    marks.mark(D, 0, TTL)
    marks.mark(D, 1, TTL)
    marks.settle(D, 1, 1.0, 1.0 + TTL)  # B's settle runs before A's
    assert marks.distrusts(D, 2.0, now=2.0) is True, "A is pending"
    marks.settle(D, 1, 3.0, 3.0 + TTL)  # B's again: still not A's
    assert marks.distrusts(D, 4.0, now=4.0) is True
    marks.settle(D, 0, 5.0, 5.0 + TTL)
    assert marks.distrusts(D, 6.0, now=6.0) is False
    assert marks.distrusts(OTHER, 0.0, now=6.0) is False


async def test_settles_end_their_own_marks_in_either_order(ledgers: Ledgers) -> None:
    writer, reader = ledgers(TTL)
    a = await writer.mark(D)
    b = await writer.mark(D)
    assert a != b
    await writer.settle(D, b)
    await writer.settle(D, b)  # twice, as a bug might: not A's
    assert await reader.is_marked(D, time.monotonic()) is True, "A is pending"
    await writer.settle(D, a)
    assert await reader.is_marked(D, time.monotonic()) is False
