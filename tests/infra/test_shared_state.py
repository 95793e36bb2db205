"""The line between `serve --workers`' workers and their parent: counters counted once for
every worker, and a socket that runs nothing but the calls it knows."""

from __future__ import annotations

import asyncio
import os
import pickle
import shutil
import struct
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from modelport.infra.credit import MemoryCreditLedger
from modelport.infra.key_counters import LimitCheck, MemoryKeyLimitStore, SpendHold
from modelport.infra.ratelimit import MemoryRateLimiter
from modelport.infra.shared_state import (
    SharedCreditLedger,
    SharedKeyLimitStore,
    SharedRateLimiter,
    StateClient,
    StateServer,
    StateUnreachable,
    WorkerLink,
)
from tests.support import shared_state


async def test_two_workers_count_against_one_rate_limit() -> None:
    async with (
        shared_state.parent(shared_state.targets()) as line,
        shared_state.parent(shared_state.targets()) as elsewhere,
    ):
        second_line = StateClient(line._path)  # another worker's connection to the parent
        one = SharedRateLimiter(line, MemoryRateLimiter())
        other = SharedRateLimiter(second_line, MemoryRateLimiter())
        another_server = SharedRateLimiter(elsewhere, MemoryRateLimiter())
        hits = [await limiter.hit("token:a", 5, 60) for limiter in (one, other) * 3]
        assert [hit.remaining for hit in hits] == [4, 3, 2, 1, 0, -1]
        assert (await another_server.hit("token:a", 5, 60)).remaining == 4
        await second_line.close()


async def test_concurrent_calls_on_one_line_each_get_their_own_answer() -> None:
    async with shared_state.parent(shared_state.targets()) as line:
        limiter = SharedRateLimiter(line, MemoryRateLimiter())
        hits = await asyncio.gather(*(limiter.hit(f"b{n % 3}", 100, 60) for n in range(90)))
        assert sorted(100 - hit.remaining for hit in hits) == sorted(
            count for _ in range(3) for count in range(1, 31)
        )


async def test_with_the_parent_gone_a_worker_counts_on_its_own() -> None:
    limiter = SharedRateLimiter(shared_state.parent_gone(), MemoryRateLimiter())
    assert [(await limiter.hit("b", 2, 60)).remaining for _ in range(3)] == [1, 0, -1]


async def _nothing(key_id: uuid.UUID, month: str = "") -> int:
    return 0


class Boom:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("true",))


async def test_a_frame_with_anything_but_a_known_type_is_refused() -> None:
    async with shared_state.parent(shared_state.targets()) as line:
        await line.call("rate", "hit", "warm", 1, 60, 1)  # connects
        path = line._path  # the same socket, spoken to as an intruder would
        reader, writer = await asyncio.open_unix_connection(path)
        body = pickle.dumps((1, "rate", "hit", (Boom(),)))
        writer.write(struct.pack("!I", len(body)) + body)
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, nothing answered
        writer.close()
        assert (await SharedRateLimiter(line, MemoryRateLimiter()).hit("x", 3, 60)).remaining == 2


async def _reserve_until(reserve: Callable[[str], Awaitable[bool]], request_id: str) -> bool:
    """Whether `reserve` succeeds within a few seconds (the parent notices a closed
    connection a moment later); a refused reservation holds nothing, so trying again is fair."""
    deadline = time.monotonic() + 3
    while not await reserve(request_id):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def test_a_dead_workers_unsettled_credit_is_released_and_its_settled_cost_kept() -> None:
    key = uuid.uuid4()
    async with shared_state.parent(shared_state.targets()) as dying:
        survivor = StateClient(dying._path)
        a = SharedCreditLedger(dying, MemoryCreditLedger(_nothing))
        b = SharedCreditLedger(survivor, MemoryCreditLedger(_nothing))
        assert await a.reserve(key, 1000, 100, "settled")
        await a.settle(key, "settled", 100, 500)
        assert await a.reserve(key, 1000, 500, "in-flight")  # the worker dies mid-request
        await dying.close()
        assert await _reserve_until(lambda rid: b.reserve(key, 1000, 500, rid), "next")
        assert not await b.reserve(key, 1000, 1, "over")  # 500 spent + 500 held
        await survivor.close()


async def test_a_dead_workers_unsettled_spend_is_released_and_its_settled_cost_kept() -> None:
    key = uuid.uuid4()

    def check(request_id: str, amount: int) -> LimitCheck:
        return LimitCheck(key, spend=SpendHold("2026-12", 1000, amount, request_id))

    async with shared_state.parent(shared_state.targets()) as dying:
        survivor = StateClient(dying._path)
        a = SharedKeyLimitStore(dying, MemoryKeyLimitStore(_nothing))
        b = SharedKeyLimitStore(survivor, MemoryKeyLimitStore(_nothing))

        async def admitted(store: SharedKeyLimitStore, request_id: str, amount: int) -> bool:
            return (await store.admit(check(request_id, amount))).refused is None

        assert await admitted(a, "settled", 100)
        await a.settle(check("settled", 100), 0, 500)
        assert await admitted(a, "in-flight", 500)
        await dying.close()
        assert await _reserve_until(lambda rid: admitted(b, rid, 500), "next")
        assert not await admitted(b, "over", 1)
        await survivor.close()


async def test_closing_the_parent_ends_every_worker_connection_and_its_handler() -> None:
    folder = Path(tempfile.mkdtemp(prefix="mp-state-"))
    server = StateServer(WorkerLink(folder).socket, shared_state.targets())
    await server.start()
    client = StateClient(WorkerLink(folder).socket)
    try:
        await client.call("rate", "hit", "b", 5, 60, 1)
        ours = {
            asyncio.current_task(),
            *(t for t in asyncio.all_tasks() if t.get_name() == "shared-state"),
        }
        assert len(asyncio.all_tasks() - ours) == 1  # the parent's handler of this connection
        await server.close()
        assert asyncio.all_tasks() - ours == set()
        with pytest.raises(StateUnreachable):  # the worker sees its parent gone
            await asyncio.wait_for(client.call("rate", "hit", "b", 5, 60, 1), 5)
    finally:
        await client.close()
        shutil.rmtree(folder, ignore_errors=True)
