"""Cache leases against a real Redis: a revoke settles only once no lease can vouch for it.

Each test has a Redis of its own (leases of earlier tests would be silent peers here) and
leases of one second, so that a lapse takes about a second. A lease whose connection goes
through a relay can be cut off from Redis, as a partitioned replica would be.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack

import pytest
import redis.asyncio as aioredis
from redis.asyncio import BlockingConnectionPool

from modelport.core.digest import Digest, Digester
from modelport.infra.leases import (
    BOOT_KEY,
    MARGIN_SECONDS,
    PRUNE_ABOVE,
    STREAM_KEY,
    LocalLease,
    RedisLease,
    _entries,
)
from tests.support.relay import Relay, relay
from tests.support.servers import PrivateRedis

LEASE = 1.0
TIMEOUT = 0.2
DIGESTER = Digester(b"s" * 32)
FILLED = time.monotonic()
"""When the database reads of the cache entries these tests ask about began: before any
change a test makes."""


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    with PrivateRedis() as server:
        yield server


class Leases:
    """Leases started on one Redis, directly or through a relay; closed at the end."""

    def __init__(self, server: PrivateRedis, stack: AsyncExitStack) -> None:
        self.server = server
        self._stack = stack
        self.capable = True

    async def start(self, port: int | None = None, user: str = "") -> RedisLease:
        url = f"redis://{user}127.0.0.1:{port or self.server.port}/0"
        client = aioredis.Redis.from_url(
            url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
        )
        reader = aioredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=TIMEOUT)
        renewer = aioredis.Redis.from_url(
            url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
        )
        lease = RedisLease(client, reader, renewer, mark_seconds=60, lease_seconds=LEASE)
        await lease.start()
        self._stack.push_async_callback(client.aclose)
        self._stack.push_async_callback(lease.close)
        if self.capable:
            await until(lambda: lease.holds, "the lease to hold")
        return lease

    async def past_boot(self) -> None:
        """For one lease after Redis first started, a revoke waits out the leases a previous
        Redis might have held: tests of the usual case begin after that."""
        await asyncio.sleep(LEASE)

    async def behind_relay(self) -> tuple[RedisLease, Relay]:
        cuttable = await self._stack.enter_async_context(relay(self.server.port))
        return await self.start(cuttable.port), cuttable


@pytest.fixture
async def leases(redis_server: PrivateRedis) -> AsyncIterator[Leases]:
    async with AsyncExitStack() as stack:
        yield Leases(redis_server, stack)


async def until(condition: Callable[[], bool], what: str, timeout: float = 5) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def timed(work: Awaitable[None]) -> float:
    started = time.monotonic()
    await work
    return time.monotonic() - started


def digest(name: str) -> Digest:
    return DIGESTER.digest(name)


async def test_a_settled_revoke_is_no_longer_vouched_for_by_any_lease(leases: Leases) -> None:
    revoker, other = await leases.start(), await leases.start()
    await leases.past_boot()
    revoked, kept = digest("revoked"), digest("kept")
    epoch = other.epoch
    assert other.vouches(revoked, epoch, FILLED)
    assert other.vouches(kept, epoch, FILLED)
    announced = await revoker.announce(revoked)
    assert revoker.vouches(revoked, revoker.epoch, FILLED) is False, "its own cache at once"
    assert await timed(revoker.settle(announced)) < 0.5
    assert other.vouches(revoked, epoch, FILLED) is False, "the other's, once settled"
    assert other.vouches(kept, epoch, FILLED) is True
    assert other.vouches(kept, epoch - 1, FILLED) is False, "an entry of an earlier run"


async def test_a_settled_change_is_trusted_again_from_reads_begun_after_it(
    leases: Leases,
) -> None:
    """A limit change or top-up marks the key on every replica; once it has settled (its
    commit announced), each replica trusts a cache entry read after it took that in, and
    only such: one key read per replica, not a read per request for the mark's lifetime."""
    revoker, other = await leases.start(), await leases.start()
    await leases.past_boot()
    changed = digest("topped-up")
    announced = await revoker.announce(changed)
    await revoker.settle(announced)
    await until(lambda: other.vouches(changed, other.epoch, time.monotonic()) is True, "the settle")
    await until(
        lambda: revoker.vouches(changed, revoker.epoch, time.monotonic()) is True, "its own"
    )
    assert other.vouches(changed, other.epoch, FILLED) is False, "a read from before it"
    assert revoker.vouches(changed, revoker.epoch, FILLED) is False


async def test_a_change_still_pending_is_distrusted_whatever_settled_before(
    leases: Leases,
) -> None:
    """Two changes of one key, the first settled: the second, not yet committed, keeps every
    cache entry of the key distrusted, however recent its read."""
    revoker, other = await leases.start(), await leases.start()
    await leases.past_boot()
    changed = digest("changed twice")
    first = await revoker.announce(changed)
    second = await revoker.announce(changed)
    await revoker.settle(first)
    newest = await revoker._client.xrevrange(STREAM_KEY, count=1)  # the first's settle
    assert newest is not None
    [(tip, _)] = newest
    await until(lambda: other._position == tip, "the other to read the first's settle")
    assert other.vouches(changed, other.epoch, time.monotonic()) is False
    assert revoker.vouches(changed, revoker.epoch, time.monotonic()) is False
    await revoker.settle(second)
    await until(lambda: other.vouches(changed, other.epoch, time.monotonic()) is True, "the second")


async def test_a_change_rolled_back_is_released_at_once(leases: Leases) -> None:
    """A change whose transaction rolled back (a top-up refused past the ceiling, after its
    mark) left the database as it was: every replica trusts its reads again, without
    waiting out the mark's lifetime."""
    revoker, other = await leases.start(), await leases.start()
    await leases.past_boot()
    refused = digest("refused top-up")
    announced = await revoker.announce(refused)
    await until(lambda: other.vouches(refused, other.epoch, time.monotonic()) is False, "mark")
    await revoker.release(announced)
    await until(
        lambda: other.vouches(refused, other.epoch, time.monotonic()) is True, "the release"
    )
    assert revoker.vouches(refused, revoker.epoch, time.monotonic()) is True
    assert other.vouches(refused, other.epoch, FILLED) is False, "a read from before it"


async def test_entries_of_other_kinds_are_passed_over_and_settles_read_as_marks_before(
    leases: Leases,
) -> None:
    """A replica moves past an entry it does not know (a later version's), rather than read
    it again and again; a settle carries its digest as a mark does, so a replica of the
    code before settles took it for one mark more, and moved past it too."""
    lease = await leases.start()
    raw = lease._client
    unknown = await raw.xadd(STREAM_KEY, {"x": "a later kind"})
    await until(lambda: lease._position == unknown, "the position past it")
    marked = digest("marked")
    mark = await raw.xadd(STREAM_KEY, {"d": marked.hex()})
    settle = await raw.xadd(STREAM_KEY, {"d": marked.hex(), "m": mark})
    await until(lambda: lease._position == settle, "the mark and its settle")
    assert lease.vouches(marked, lease.epoch, time.monotonic()) is True
    assert lease.vouches(marked, lease.epoch, FILLED) is False
    settled = digest("settled")
    announced = await lease.announce(settled)
    await lease.settle(announced)
    newest = await raw.xrevrange(STREAM_KEY, count=1)
    assert newest is not None
    [(_, fields)] = newest
    assert fields == {b"d": settled.hex().encode(), b"m": announced.entry, b"b": lease._boot}


async def test_a_settle_goes_only_into_the_stream_that_holds_its_mark(leases: Leases) -> None:
    """Entry ids of another Redis run may repeat (a failover's clock behind): a settle
    written there could end another change's mark with the same id. So none is written."""
    revoker = await leases.start()
    await leases.past_boot()
    announced = await revoker.announce(digest("across a restart"))
    await revoker._client.set(BOOT_KEY, "another run")
    written = await revoker._client.xlen(STREAM_KEY)
    await revoker._send_settled(announced)
    assert await revoker._client.xlen(STREAM_KEY) == written


async def _two_and_where_the_second_reads(
    leases: Leases,
) -> tuple[RedisLease, RedisLease, bytes, bytes]:
    """A revoker and another lease, past the boot wait; the other's boot marker and stream
    position, for a read of the stream to replay later."""
    revoker, other = await leases.start(), await leases.start()
    await leases.past_boot()
    assert other._boot is not None
    return revoker, other, other._boot, other._position


async def test_a_mark_read_again_after_its_settle_stays_settled(leases: Leases) -> None:
    """The stream reader and the renewer's catch-up both read the stream: one may take in a
    mark and its settle while the other still holds an older read of the mark alone. Taken
    in last, that stale mark must not make the settled change pending again for good."""
    revoker, other, boot, start = await _two_and_where_the_second_reads(leases)
    changed = digest("read twice")
    announced = await revoker.announce(changed)
    stale = await other._renewer.xread({STREAM_KEY: start}, count=1)  # the mark alone
    await revoker.settle(announced)
    await until(lambda: other.vouches(changed, other.epoch, time.monotonic()) is True, "the settle")
    other._take_in(_entries(stale), boot)
    assert other.vouches(changed, other.epoch, time.monotonic()) is True


async def test_a_read_begun_in_another_redis_run_is_dropped_whole(leases: Leases) -> None:
    """Entry ids may repeat across Redis runs (a failover's clock behind). A read of the
    stream begun before the boot marker changed, processed after, must not settle the
    same-id mark of a change pending in the new run: it is dropped (the new stream is read
    from its start), and marks are kept by run."""
    revoker, other, boot, start = await _two_and_where_the_second_reads(leases)
    changed = digest("across runs")
    announced = await revoker.announce(changed)
    await revoker.settle(announced)
    stale = await other._renewer.xread({STREAM_KEY: start}, count=10)
    assert len(_entries(stale)) == 2, "a mark and its settle"
    other._boot, other._position = b"the next run", b"0-0"  # as a renewal finds it
    assert announced.entry is not None
    pending = [[STREAM_KEY, [(announced.entry, {b"d": changed.hex().encode()})]]]
    other._take_in(_entries(pending), other._boot)  # a change of the new run, same entry id
    other._take_in(_entries(stale), boot)
    assert other.vouches(changed, other.epoch, time.monotonic()) is False


async def test_a_read_answered_by_the_next_redis_run_is_dropped(leases: Leases) -> None:
    """Redis restarts while the other replica's reader waits in its blocking read. redis-py
    sends that read again, to the new run, before a renewal there has told the replica of
    the new marker. Marked under the old marker, the change's entry would never see its
    settle (read under the new one): the key read from the database for the mark's
    lifetime. Dropped, the entry is read again from the new stream's start."""
    revoker, other = await leases.start(), await leases.start()
    await leases.past_boot()
    await asyncio.to_thread(leases.server.kill)
    await asyncio.to_thread(leases.server.start)
    changed = digest("across a restart")
    announced = await revoker.announce(changed)
    await asyncio.wait_for(revoker.settle(announced), 5 * LEASE)
    await until(
        lambda: other.vouches(changed, other.epoch, time.monotonic()) is True,
        "reads begun after the settle to be trusted",
    )


@pytest.mark.parametrize("lost", ["restart from a snapshot", "marker deleted"])
async def test_entries_of_an_earlier_marker_are_read_after_it_changed(
    leases: Leases, lost: str
) -> None:
    """A restart from a snapshot, or a marker lost while Redis runs, leaves the stream with
    entries written under the old marker. Read from the start under the new one, they are
    taken in: a read that dropped them would never move on, and every revoke would wait."""
    revoker, other = await leases.start(), await leases.start()
    await leases.past_boot()
    await revoker.settle(await revoker.announce(digest("before the change")))
    admin = aioredis.Redis.from_url(leases.server.url)
    if lost == "marker deleted":
        await admin.delete(BOOT_KEY)
    else:
        await admin.save()
        await asyncio.to_thread(leases.server.kill)
        await asyncio.to_thread(leases.server.start)
    assert await admin.xlen(STREAM_KEY) >= 2, "the old entries are still there"
    await admin.aclose()
    epoch = other.epoch
    await until(lambda: other.epoch > epoch and other.holds, "a new run on the new marker")
    revoked = digest("after the change")
    announced = await revoker.announce(revoked)
    await asyncio.wait_for(revoker.settle(announced), 3 * LEASE)
    assert other.vouches(revoked, other.epoch, FILLED) is False


async def test_a_stopped_replica_delays_a_revoke_by_one_lease_at_most(leases: Leases) -> None:
    revoker = await leases.start()
    stuck, cut = await leases.behind_relay()
    await leases.past_boot()
    epoch = stuck.epoch
    cut.cut()  # neither reads nor renews from now on: as if stopped
    announced = await revoker.announce(digest("revoked"))
    took = await timed(revoker.settle(announced))
    assert took < LEASE + 0.5
    assert stuck.vouches(digest("revoked"), epoch, FILLED) is False, (
        "its lease lapsed before Redis's"
    )
    assert stuck.vouches(digest("other"), epoch, FILLED) is False, (
        "no lease: nothing is vouched for"
    )


async def test_while_a_peer_is_silent_no_lease_vouches_until_it_returns(leases: Leases) -> None:
    present = await leases.start()
    silent, cut = await leases.behind_relay()
    epoch = present.epoch
    cut.cut()
    await until(lambda: present.silent_peers == 1, "the silent peer to be seen", LEASE * 3)
    assert present.vouches(digest("any"), epoch, FILLED) is False
    cut.restore()
    await until(lambda: silent.holds and present.holds, "both leases to hold again", LEASE * 3)
    assert present.epoch > epoch, "a new run: entries filled before are not vouched for"
    assert present.vouches(digest("any"), present.epoch, FILLED) is True


async def test_a_revoker_cut_off_from_redis_returns_once_the_others_noticed(
    leases: Leases,
) -> None:
    other = await leases.start()
    revoker, cut = await leases.behind_relay()
    revoked = digest("revoked")
    epoch = other.epoch
    cut.cut()
    announced = await revoker.announce(revoked)  # cannot reach Redis: kept to send later
    took = await timed(revoker.settle(announced))
    assert took >= LEASE, "waited for its lease to lapse and the others to notice"
    assert other.silent_peers == 1 or not other.holds
    assert other.vouches(revoked, epoch, FILLED) is False
    cut.restore()
    await until(lambda: revoker.holds and other.holds, "both leases to hold again", LEASE * 3)
    assert other.vouches(revoked, other.epoch, FILLED) is False, "the announcement arrived"


async def test_after_redis_restarts_a_revoke_waits_out_the_leases_it_forgot(
    leases: Leases,
) -> None:
    revoker, other = await leases.start(), await leases.start()
    epoch = other.epoch
    # Off the event loop: the leases go on renewing (and failing) while Redis restarts.
    await asyncio.to_thread(leases.server.kill)
    await asyncio.to_thread(leases.server.start)
    announced = await revoker.announce(digest("revoked"))
    started = time.monotonic()
    await revoker.settle(announced)
    assert time.monotonic() - started >= LEASE - MARGIN_SECONDS - 0.1
    assert other.vouches(digest("revoked"), epoch, FILLED) is False
    await until(lambda: other.holds, "the other lease to hold on the new Redis", LEASE * 3)
    assert other.epoch > epoch, "everything cached before the restart is re-read"
    assert other.vouches(digest("revoked"), other.epoch, FILLED) is False


async def test_the_local_lease_leaves_every_cache_hit_to_the_ledger() -> None:
    lease = LocalLease()
    announced = await lease.announce(digest("revoked"))
    await lease.settle(announced)
    assert lease.vouches(digest("revoked"), lease.epoch, FILLED) is None
    assert lease.holds is False


async def test_a_revoke_begun_while_redis_was_down_is_heard_on_the_redis_that_came_back(
    leases: Leases,
) -> None:
    """The revoker's own lease lapsed long ago, but the new Redis does not know it: nobody
    there takes it for a silent peer, so it must announce there before it answers."""
    revoker, other = await leases.start(), await leases.start()
    await asyncio.to_thread(leases.server.kill)
    await asyncio.sleep(2 * LEASE + MARGIN_SECONDS)
    announced = await revoker.announce(digest("revoked"))  # Redis away: kept for later
    await asyncio.to_thread(leases.server.start)
    await until(lambda: other.holds, "the other lease to hold on the new Redis", LEASE * 5)
    await revoker.settle(announced)  # (the commit happened in between)
    assert other.vouches(digest("revoked"), other.epoch, FILLED) is False


async def test_a_mark_stops_vouching_only_for_its_lifetime(redis_server: PrivateRedis) -> None:
    """A limit change or top-up marks the key too: once its mark has expired, the key is
    back on the fast path instead of costing a database read on every request for good."""
    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{redis_server.port}/0")
    renewer = aioredis.Redis.from_url(redis_server.url)
    lease = RedisLease(client, client, renewer, mark_seconds=0.2, lease_seconds=LEASE)
    await lease.start()
    try:
        await until(lambda: lease.holds, "the lease to hold")
        changed = digest("topped-up")
        announced = await lease.announce(changed)
        assert lease.vouches(changed, lease.epoch, FILLED) is False
        await asyncio.sleep(0.25)
        await until(lambda: lease.holds, "the lease to hold")
        assert lease.vouches(changed, lease.epoch, FILLED) is True, "the mark has expired"
        await lease.settle(announced)
    finally:
        await lease.close()
        await client.aclose()


def test_expired_marks_are_pruned_once_per_doubling() -> None:
    """Without Redis: only the local marks. Expired marks are dropped once the marks pass
    PRUNE_ABOVE, or twice what the last prune left: they stay few, and marking never walks
    them all on every mark (it used to, past 10,000)."""
    client = aioredis.Redis.from_url("redis://127.0.0.1:1/0")  # never connected
    lease = RedisLease(client, client, client, mark_seconds=0.3)
    old = [digest(f"old-{n}") for n in range(PRUNE_ABOVE + 1)]
    for n, marked in enumerate(old):
        lease._mark(marked, n)
    assert len(lease._marks) == len(old)
    time.sleep(0.3)
    lease._mark(digest("new"), b"1-0")
    assert len(lease._marks) == 1, "the expired ones went"
    assert lease._prune_above == PRUNE_ABOVE


async def test_a_redis_refusing_an_announcement_keeps_the_revoke_waiting(leases: Leases) -> None:
    """Redis answers, but refuses the revoker's XADD (an ACL here; Redis < 6.2 or a key of
    the wrong type alike). Renewals pass, so nobody takes the revoker for cut off and the
    other replica keeps trusting its cache: the revoke must not answer (it used to, after
    two lease periods, as if cut off)."""
    admin = aioredis.Redis.from_url(f"redis://127.0.0.1:{leases.server.port}/0")
    await admin.acl_setuser(
        "revoker", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all"]
    )
    revoker, other = await leases.start(user="revoker:pw@"), await leases.start()
    await leases.past_boot()
    await admin.acl_setuser("revoker", enabled=True, commands=["-xadd"])
    revoked = digest("revoked")
    announced = await revoker.announce(revoked)
    settling = asyncio.create_task(revoker.settle(announced))
    await asyncio.sleep(2 * LEASE + MARGIN_SECONDS + 0.5)
    assert not settling.done(), "answered while the other replica may trust its cache"
    await admin.acl_setuser("revoker", enabled=True, commands=["+xadd"])
    await asyncio.wait_for(settling, 3 * LEASE)
    assert other.vouches(revoked, other.epoch, FILLED) is False
    await admin.aclose()


async def test_a_redis_that_cannot_carry_leases_leaves_cache_hits_to_the_ledger(
    leases: Leases,
) -> None:
    """Probed before the first renewal (here the stream's key holds a string: WRONGTYPE,
    as Redis < 6.2 refuses MINID): no lease, and every hit asks the ledger."""
    admin = aioredis.Redis.from_url(f"redis://127.0.0.1:{leases.server.port}/0")
    await admin.set("mp:revocations", "not a stream")
    leases.capable = False
    lease = await leases.start()
    await until(lambda: lease.vouches(digest("any"), lease.epoch, FILLED) is None, "the probe")
    announced = await lease.announce(digest("revoked"))
    waited = await timed(lease.settle(announced))
    assert waited < 2 * LEASE + MARGIN_SECONDS + 0.3, "every lease lapsed by then"
    assert lease.vouches(digest("revoked"), lease.epoch, FILLED) is None
    announced = await lease.announce(digest("later"))
    assert await timed(lease.settle(announced)) < 0.1, "the others' leases are off already"
    await admin.aclose()


async def test_an_acl_refusing_info_makes_the_replica_incapable_not_stuck(
    leases: Leases,
) -> None:
    """`+@all -@dangerous` refuses INFO (the boot marker's run id) inside scripts. The probe
    runs it, so the replica counts as incapable and its revokes answer; they used to wait
    for good, every script failing with NOPERM while the probe passed."""
    admin = aioredis.Redis.from_url(f"redis://127.0.0.1:{leases.server.port}/0")
    await admin.acl_setuser(
        "app", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all", "-@dangerous"]
    )
    leases.capable = False
    lease = await leases.start(user="app:pw@")
    await until(lambda: lease.vouches(digest("any"), lease.epoch, FILLED) is None, "the probe")
    announced = await lease.announce(digest("revoked"))
    await asyncio.wait_for(lease.settle(announced), 2 * LEASE + MARGIN_SECONDS + 0.5)
    await admin.aclose()


async def test_an_incapable_replica_stops_every_lease_before_its_revoke_answers(
    leases: Leases,
) -> None:
    """One replica's Redis user may not XTRIM (the probe fails for good), the other's may
    and holds a lease. The
    incapable one's revokes are not announced, so they may answer only once no lease can
    vouch for anything: the capable one used to go on trusting the revoked digest."""
    admin = aioredis.Redis.from_url(f"redis://127.0.0.1:{leases.server.port}/0")
    await admin.acl_setuser(
        "app", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all", "-xtrim"]
    )
    capable = await leases.start()
    await leases.past_boot()
    revoked = digest("revoked")
    epoch = capable.epoch
    assert capable.vouches(revoked, epoch, FILLED)
    leases.capable = False
    incapable = await leases.start(user="app:pw@")
    await until(lambda: incapable.vouches(revoked, incapable.epoch, FILLED) is None, "the probe")
    announced = await incapable.announce(revoked)
    await incapable.settle(announced)
    assert not capable.vouches(revoked, epoch, FILLED), "trusted after the revoke answered"
    assert not capable.holds
    await admin.aclose()


async def test_a_transient_probe_refusal_is_probed_again(leases: Leases) -> None:
    """NOREPLICAS (as during a failover, READONLY or LOADING) fails the probe for a while
    only: the replica used to stay incapable for good."""
    admin = aioredis.Redis.from_url(f"redis://127.0.0.1:{leases.server.port}/0")
    await admin.config_set("min-replicas-to-write", 1)
    leases.capable = False
    lease = await leases.start()
    await asyncio.sleep(LEASE / 2)
    assert not lease.holds
    await admin.config_set("min-replicas-to-write", 0)
    await until(lambda: lease.holds, "the lease to hold once Redis accepts")
    await admin.aclose()


async def test_an_entry_redis_lost_with_its_boot_marker_is_announced_again(
    leases: Leases,
) -> None:
    """Redis restarted from a snapshot taken before the entry: same boot marker, no entry.
    The other replica never read it and would never ack it: the revoke used to wait for
    good (and return on any later revoke's entry while the other still trusted its cache)."""
    admin = aioredis.Redis.from_url(leases.server.url)
    revoker = await leases.start()
    other, cut = await leases.behind_relay()
    await leases.past_boot()
    revoked = digest("revoked")
    await admin.save()
    await admin.aclose()
    cut.cut()
    announced = await revoker.announce(revoked)
    await asyncio.to_thread(leases.server.kill)
    await asyncio.to_thread(leases.server.start)
    cut.restore()
    await asyncio.wait_for(revoker.settle(announced), 3 * LEASE)
    assert other.vouches(revoked, other.epoch, FILLED) is False


async def test_a_redis_restarted_from_a_snapshot_gives_everyone_a_new_boot_marker(
    leases: Leases,
) -> None:
    """A snapshot keeps the boot marker but not the renewals and acks after it: lease ends
    in Redis earlier than the replicas' own. The marker carries Redis's run id, so the
    restarted Redis gets a new one, and every replica starts a new run on it."""
    revoker, other = await leases.start(), await leases.start()
    await leases.past_boot()
    admin = aioredis.Redis.from_url(leases.server.url)
    await admin.save()
    await admin.aclose()
    epoch = other.epoch
    await asyncio.to_thread(leases.server.kill)
    await asyncio.to_thread(leases.server.start)
    await until(lambda: other.epoch > epoch and other.holds, "a new run on the new marker")
    announced = await revoker.announce(digest("after"))
    assert await timed(revoker.settle(announced)) >= LEASE - MARGIN_SECONDS - 0.1, (
        "waited out the leases the snapshot forgot"
    )
    assert other.vouches(digest("after"), other.epoch, FILLED) is False


async def test_a_replica_past_the_end_of_the_stream_makes_everyone_start_over(
    leases: Leases,
) -> None:
    """The stream lost entries (deleted here) while the boot marker stayed: later entries
    could get lower ids than a replica already acked, so the marker is replaced."""
    revoker, other = await leases.start(), await leases.start()
    await leases.past_boot()
    await revoker.settle(await revoker.announce(digest("lost")))
    admin = aioredis.Redis.from_url(leases.server.url)
    boot = await admin.get("mp:boot")
    epoch = other.epoch
    await admin.delete("mp:revocations")

    async def replaced() -> None:
        while await admin.get("mp:boot") == boot:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(replaced(), 2 * LEASE)
    await admin.aclose()
    await until(lambda: other.epoch > epoch and other.holds, "a new run on the new marker")
    announced = await revoker.announce(digest("after"))
    await revoker.settle(announced)
    assert other.vouches(digest("after"), other.epoch, FILLED) is False


async def test_a_lease_renews_while_requests_hold_every_pooled_connection(
    redis_server: PrivateRedis,
) -> None:
    """A burst holds the request path's pool (one connection here, busy for 2 lease periods):
    renewals have a connection of their own, so the lease does not lapse meanwhile."""
    url = redis_server.url
    pool = BlockingConnectionPool.from_url(url, max_connections=1, timeout=5)
    client = aioredis.Redis.from_pool(pool)
    reader = aioredis.Redis.from_url(url, socket_timeout=2)
    renewer = aioredis.Redis.from_url(url, socket_timeout=TIMEOUT)
    lease = RedisLease(client, reader, renewer, mark_seconds=60, lease_seconds=LEASE)
    await lease.start()
    try:
        await until(lambda: lease.holds, "the lease to hold")

        async def busy() -> None:
            await client.blpop(["nothing"], timeout=2 * LEASE)

        burst = asyncio.create_task(busy())
        lapsed = False
        while not burst.done():
            lapsed = lapsed or not lease.holds
            await asyncio.sleep(0.01)
        assert not lapsed, "the lease lapsed while the pool was busy"
    finally:
        await lease.close()
        await client.aclose()
