"""The line between `serve --workers`' workers and their parent: counters counted once for
every worker, and a socket that runs nothing but the calls it knows."""

from __future__ import annotations

import asyncio
import os
import pickle
import struct

from modelport.infra.ratelimit import MemoryRateLimiter
from modelport.infra.shared_state import SharedRateLimiter, StateClient
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
