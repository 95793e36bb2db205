"""Cache leases: a replica trusts its cached key verifications with no Redis round trip.

With several replicas, a cache hit used to ask Redis whether the digest was revoked. Here the
question is turned around: every revocation is pushed to every replica, and a revoke does
not return until each replica that could trust its cache has taken it in.

- Each replica holds a **lease** in Redis (`mp:leases`, expiry in Redis time) and renews it
  every `LEASE_SECONDS / 3`. Locally it trusts the lease until the renewal's *send* time plus
  `LEASE_SECONDS - MARGIN_SECONDS`: the local view always ends before Redis's.
- A revoke **announces** the digest on a stream (`mp:revocations`) before it commits. Each
  replica reads the stream (a blocking read, and again before each renewal), keeps the
  digests as local marks, and then **acknowledges** the position it has taken in
  (`mp:acks`). A cache hit is trusted while the lease holds, the entry was filled in the
  current lease run, and its digest has no pending local mark, nor a settle read after the
  entry's read began: a dict look-up and two compares.
- After its commit, a revoke **settles**: it waits until every replica with a live lease has
  acknowledged its entry (a stopped replica's lease lapses within `LEASE_SECONDS`), then
  adds a *settled* entry naming it (a change rolled back adds it at once). A replica that
  reads it trusts again a cache entry of that digest filled by a database read that began
  after it did (the commit came before): a change that leaves the key valid (limits,
  credit) costs one read per replica, not a read per request for the mark's lifetime.
- A replica whose lease lapsed in Redis without its saying goodbye is **silent**: it may be
  cut off from Redis and revoking keys nobody hears of. While a peer is silent, no replica
  trusts its cache (every key is checked in the database), until it returns or
  `FORGET_SECONDS` pass. A revoker cut off from Redis returns once it has been silent for
  two lease periods: by then every other replica has noticed, or lost its own lease. A
  Redis that answers with an error is not "cut off": the revoke waits until it accepts.
- Needs Redis 6.2 (`MINID`) and a user allowed `INFO`. A replica whose Redis refuses the
  probe for good (a permanent error) is **incapable**: it sets `mp:leases:off`, which stops
  every replica's renewals, and its revokes answer once every lease has lapsed. Transient
  refusals (READONLY, LOADING, ...) are probed again; meanwhile revokes wait as usual.

`docs/design/leases.md` argues the whole guarantee, Redis restarts included.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import redis.asyncio as aioredis
from redis.exceptions import NoPermissionError, RedisError, ResponseError

from modelport.core.digest import Digest
from modelport.infra.background import stop
from modelport.infra.revocations import Marks, Token

log = logging.getLogger("modelport.revocation")

LEASE_SECONDS = 2.0
"""How long a lease lasts in Redis; a stopped replica delays a revoke by at most this."""
MARGIN_SECONDS = 0.3
"""The local view of a lease ends this much before Redis's: clock rates and the reply's trip."""
FORGET_SECONDS = 30.0
"""A silent peer is forgotten after this long (a replica killed without saying goodbye)."""
FORGET_MS = int(FORGET_SECONDS * 1000)
READ_BLOCK_MS = 1000
"""A blocking stream read returns at least this often, to notice a lost connection."""
RENEWAL_WAIT_SECONDS = 0.05
"""How long a read with no boot marker to read under (none yet, or one Redis has replaced)
waits before it tries again: until a renewal has taken in Redis's marker."""
PRUNE_ABOVE = 10_000
"""Local marks are pruned of expired ones when they pass this, or twice as many as the last
prune left: each prune walks them all, so it happens once per doubling (O(1) amortised)."""

BOOT_KEY = "mp:boot"
BOOT_AT_KEY = "mp:boot:at"
LEASES_KEY = "mp:leases"
ACKS_KEY = "mp:acks"
STREAM_KEY = "mp:revocations"
OFF_KEY = "mp:leases:off"
"""A hash, incapable replica id -> 1, expiring 10 leases after its last refresh: while it
exists, no renewal passes and no lease holds."""
OFF_LEASES = 10
PERMANENT_ERRORS = (
    "unknown command",
    "unknown subcommand",
    "syntax error",
    "wrong number of arguments",
    "noperm",
    "no permissions",
    "can't run this command",
    "wrongtype",
)
"""Probe errors that no retry fixes (an old Redis, an ACL, a key of the wrong type)."""
WARN_EVERY_SECONDS = 60.0

_LIB = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function ms(n) return string.format('%.0f', n) end
local function parse(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end
local function id_less(a, b)
  local ams, aseq = parse(a)
  local bms, bseq = parse(b)
  return ams < bms or (ams == bms and aseq < bseq)
end
-- The boot marker ends with this Redis process's run id: a Redis restarted from a snapshot
-- or AOF, or a replica promoted in a failover, kept the marker but may have lost the last
-- entries, acks and renewals. Its run id differs, so it gets a new marker as if empty.
-- A Redis whose INFO has no run id (some proxies) gets a fixed one: restarts that lose the
-- stream are still noticed (the boot marker goes), restarts from a snapshot are not.
local function run_id()
  return string.match(redis.call('INFO', 'server'), 'run_id:(%x+)') or 'none'
end
local function this_run(value)
  local run = run_id()
  return value and string.sub(value, -#run) == run
end
local function new_boot(now, fresh)
  local value = fresh .. '@' .. run_id()
  redis.call('SET', KEYS[1], value)
  redis.call('SET', KEYS[2], ms(now))
  return value
end
local function boot(now, fresh)
  local value = redis.call('GET', KEYS[1])
  if not this_run(value) then return new_boot(now, fresh) end
  redis.call('SET', KEYS[2], ms(now), 'NX')
  return value
end
"""

_ANNOUNCE = (
    _LIB
    + """
-- KEYS: boot, boot_at, stream; ARGV: fresh boot, digest hex, how long entries matter (ms)
local now = now_ms()
local b = boot(now, ARGV[1])
local id = redis.call(
  'XADD', KEYS[3], 'MINID', '~', ms(now - tonumber(ARGV[3])), '*', 'd', ARGV[2], 'b', b)
return {b, id}
"""
)

_SETTLE = (
    _LIB
    + """
-- KEYS: boot, stream
-- ARGV: digest hex, how long entries matter (ms), the id of the mark's entry, its boot
-- Only into the stream that holds the mark: the entry ids of another Redis run may repeat
-- (a failover's clock behind), and a settle there could end another change's mark.
-- The digest goes in `d` too: code that predates settles takes the entry for a mark (it
-- distrusts a little longer, and moves past it).
local b = redis.call('GET', KEYS[1])
if b ~= ARGV[4] or not this_run(b) then return false end
local now = now_ms()
return redis.call(
  'XADD', KEYS[2], 'MINID', '~', ms(now - tonumber(ARGV[2])), '*',
  'd', ARGV[1], 'm', ARGV[3], 'b', b)
"""
)

_RENEW = (
    _LIB
    + """
-- KEYS: boot, boot_at, leases, acks, stream, off
-- ARGV: fresh boot, replica, lease ms, ack, forget ms, the caller's boot
local now = now_ms()
local b = boot(now, ARGV[1])
-- A replica cannot carry leases: its revokes are not announced, so no lease may hold. The
-- caller's lease is left to lapse (a lapsed one is given back: it is nobody's silent peer).
if redis.call('EXISTS', KEYS[6]) == 1 then
  local mine = redis.call('ZSCORE', KEYS[3], ARGV[2])
  if mine and tonumber(mine) < now then redis.call('ZREM', KEYS[3], ARGV[2]) end
  return {b, -1}
end
-- Under another boot marker the caller's position means nothing here: it reads this stream
-- from its start and comes again, with no lease or ack in between.
if b ~= ARGV[6] then return {b, 0} end
-- The caller has read past this stream's last entry: the stream lost entries while the
-- boot marker stayed (deleted by hand, say; a restart changes the run id). Later entries
-- could get lower ids than what replicas have acked: a new marker for everyone.
local last = '0-0'
local info = redis.pcall('XINFO', 'STREAM', KEYS[5])
if type(info) == 'table' and not info.err then
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then last = info[i + 1] end
  end
end
if id_less(last, ARGV[4]) then return {new_boot(now, ARGV[1]), 0} end
local forgotten = ms(now - tonumber(ARGV[5]))
for _, peer in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', forgotten)) do
  redis.call('HDEL', KEYS[4], peer)
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', forgotten)
local silent = redis.call('ZCOUNT', KEYS[3], '-inf', '(' .. ms(now))
local mine = redis.call('ZSCORE', KEYS[3], ARGV[2])
if mine and tonumber(mine) < now then silent = silent - 1 end
redis.call('ZADD', KEYS[3], ms(now + tonumber(ARGV[3])), ARGV[2])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[4])
return {b, silent}
"""
)

_PROBE = (
    _LIB
    + """
-- KEYS: stream. Fails on a Redis that refuses what the lease needs: scripts, INFO (the run
-- id), XTRIM/XADD with MINID (Redis 6.2), a stream at the key (an ACL denying XADD is
-- caught at settle).
run_id()
redis.call('XTRIM', KEYS[1], 'MINID', '~', '0')
return 0
"""
)

_CURRENT_BOOT = (
    _LIB
    + """
-- KEYS: boot. The boot marker if it is this Redis run's, else nil.
local b = redis.call('GET', KEYS[1])
if this_run(b) then return b end
return false
"""
)

_SETTLED = (
    _LIB
    + """
-- KEYS: boot, boot_at, leases, acks, stream
-- ARGV: boot of the entry, entry id, lease ms, replica
-- 0: every live lease has taken the entry in; 1: not yet; -1: Redis lost it (a restart, or
-- a snapshot or replica without it: a replica that never read it would never ack it)
local now = now_ms()
local b = redis.call('GET', KEYS[1])
if b ~= ARGV[1] or not this_run(b) then return -1 end
if #redis.call('XRANGE', KEYS[5], ARGV[2], ARGV[2]) == 0 then return -1 end
local at = tonumber(redis.call('GET', KEYS[2]) or ms(now))
if now < at + tonumber(ARGV[3]) then return 1 end
for _, peer in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], ms(now), '+inf')) do
  if peer ~= ARGV[4] then
    local ack = redis.call('HGET', KEYS[4], peer)
    if not ack or id_less(ack, ARGV[2]) then return 1 end
  end
end
return 0
"""
)


@dataclass(slots=True)
class Announcement:
    """A revoked digest on its way to every replica; `entry` None until Redis has it."""

    digest: Digest
    token: int = 0
    """Its mark among this replica's own marks (its stream entry is marked once read)."""
    boot: bytes | None = None
    entry: bytes | None = None
    settled: bool = False
    """Whether `settle` or `release` has taken it (a change is settled once)."""
    released: bool = False
    """Rolled back: once its mark is in the stream, its settled entry must follow."""


class CacheLease(Protocol):
    @property
    def holds(self) -> bool:
        """Whether cache hits are trusted with no round trip right now (for /metrics)."""

    @property
    def epoch(self) -> int:
        """The current lease run; a verifier notes it before a database read, and a cache
        entry is vouched for only within the run it was filled in."""

    def vouches(self, digest: Digest, epoch: int, read_since: float) -> bool | None:
        """True: trust a cache entry of `digest` filled in `epoch` by a database read that
        began at `read_since` (`time.monotonic()`), with no I/O. False: do not (ask the
        database). None: the lease cannot tell; ask the revocation ledger."""

    async def announce(self, digest: Digest) -> Announcement:
        """Before the revoke of `digest` commits: tell every replica. Never fails."""

    async def settle(self, announcement: Announcement) -> None:
        """After the commit, before the response: wait until no replica can trust a cached
        verification of the digest any more."""

    async def release(self, announcement: Announcement) -> None:
        """Once the transaction has ended: if it rolled back (nothing settled it), the
        database holds the old state, so every replica may trust its reads again."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class LocalLease:
    """One process, or processes sharing a ledger: the ledger answers every cache hit."""

    @property
    def holds(self) -> bool:
        return False

    @property
    def epoch(self) -> int:
        return 0

    def vouches(self, digest: Digest, epoch: int, read_since: float) -> bool | None:
        return None

    async def announce(self, digest: Digest) -> Announcement:
        return Announcement(digest)

    async def settle(self, announcement: Announcement) -> None:
        return None

    async def release(self, announcement: Announcement) -> None:
        return None

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisLease:
    """A replica's lease in Redis, and its copy of every revocation announced meanwhile.

    `client`: the request path's pool (announce, settle). `reader`: a connection of its own
    for the blocking stream read and the acks. `renewer`: one of its own for renewals, so
    that a burst of requests waiting for the pool cannot make the lease lapse (which would
    send every request to the database: a burst feeding itself)."""

    def __init__(
        self,
        client: aioredis.Redis,
        reader: aioredis.Redis,
        renewer: aioredis.Redis,
        mark_seconds: float,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self._client = client
        self._reader = reader
        self._renewer = renewer
        self._mark_seconds = mark_seconds
        self._lease = lease_seconds
        self._id = secrets.token_hex(8)
        self._announce = client.register_script(_ANNOUNCE)
        self._renew = client.register_script(_RENEW)
        self._settled = client.register_script(_SETTLED)
        self._settle_entry = client.register_script(_SETTLE)
        self._probe = client.register_script(_PROBE)
        self._current_boot = client.register_script(_CURRENT_BOOT)
        self._capable: bool | None = None
        """False: Redis refuses what leases need; every cache hit is left to the ledger."""
        self._off_since: float | None = None
        """Incapable: when `mp:leases:off` was confirmed to hold our field, continuously
        since (None: not confirmed since the last failure)."""
        self._warned_at = -WARN_EVERY_SECONDS
        self._marks = Marks()
        """Each digest's pending marks (the stream entry of each, or for this replica's own
        announcements a number of its own), and when their last settle was read; times are
        `time.monotonic()`, the clock a verifier notes its reads on."""
        self._tokens = itertools.count(1)
        self._prune_above = PRUNE_ABOVE
        self._unsent: dict[Digest, Announcement] = {}
        self._boot: bytes | None = None
        self._position = b"0-0"
        self._epoch = 1
        self._valid_until = 0.0
        self._renewed_at = _now()
        """The latest moment a renewal of this lease may have run in Redis (at first: when
        it started). Not only confirmed ones: one whose reply was lost may have run too."""
        timeout = renewer.connection_pool.connection_kwargs.get("socket_timeout")
        self._renew_timeout: float = lease_seconds if timeout is None else float(timeout)
        """How long a failed renewal's request may still be on its way to Redis."""
        self._unreachable_settles = 0
        """Revokes waiting on a Redis they cannot reach: no renewal is sent meanwhile."""
        self._silent_peers = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def holds(self) -> bool:
        return _now() < self._valid_until

    @property
    def silent_peers(self) -> int:
        """Replicas whose lease lapsed without goodbye, as of the last renewal."""
        return self._silent_peers

    def vouches(self, digest: Digest, epoch: int, read_since: float) -> bool | None:
        if self._capable is False:
            return None
        if epoch != self._epoch or _now() >= self._valid_until:
            return False
        # A mark outlives every cache entry that could hold the old secret. A change that
        # settled (committed) before the entry's read began is in what that read saw.
        return not self._marks.distrusts(digest, read_since, time.monotonic())

    async def announce(self, digest: Digest) -> Announcement:
        announcement = Announcement(digest, next(self._tokens))
        if self._capable is False:
            return announcement  # the ledger's mark does it, as with LocalLease
        self._mark(digest, announcement.token)
        if not await self._try_send(announcement, self._client):
            self._unsent[digest] = announcement
        return announcement

    async def settle(self, announcement: Announcement) -> None:
        announcement.settled = True
        if self._capable is not False:
            # Committed: a read that begins from now sees it (this replica's own mark; its
            # stream entry is settled here once the settled entry below is read).
            self._settle_mark(announcement.digest, announcement.token)
        pause = 0.001
        refused = False
        unreachable = False  # counted in self._unreachable_settles while True
        try:
            while True:
                if self._incapable():  # the probe may find it while this revoke waits
                    return await self._settle_off()
                try:
                    if announcement.entry is None:
                        await self._send(announcement, self._client)
                    if announcement.boot is None or announcement.entry is None:
                        raise RedisError("not announced")
                    done = await self._settled(
                        keys=[BOOT_KEY, BOOT_AT_KEY, LEASES_KEY, ACKS_KEY, STREAM_KEY],
                        args=[announcement.boot, announcement.entry, self._lease_ms, self._id],
                    )
                    if unreachable:
                        unreachable = False
                        self._unreachable_settles -= 1
                    if done == 0:
                        return await self._send_settled(announcement)
                    if done == -1:  # Redis lost the entry: announce it again
                        announcement.entry = None
                        continue
                except ResponseError as exc:
                    # Redis answers but refuses (an ACL, a key of the wrong type, a read-only
                    # replica): the other replicas still renew, so none takes this one for
                    # cut off, and their caches are trusted. Only waiting keeps the guarantee.
                    if not refused:
                        log.error("revocation not announced, Redis refuses: %s; waiting", exc)
                        refused = True
                except (RedisError, OSError):
                    # Only while Redis cannot be reached: a Redis that restarted meanwhile
                    # does not know this replica, so nobody there would take it for silent.
                    # Renewals pause meanwhile: the silence is counted from the last one.
                    if not unreachable:
                        unreachable = True
                        self._unreachable_settles += 1
                    if self._silent_long_enough():
                        return
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.05)
        finally:
            if unreachable:
                self._unreachable_settles -= 1

    async def release(self, announcement: Announcement) -> None:
        if announcement.settled or self._capable is False:
            return
        announcement.settled = announcement.released = True  # the database did not change
        if self._unsent.get(announcement.digest) is announcement:
            del self._unsent[announcement.digest]  # nothing to tell: no one need re-read
        self._settle_mark(announcement.digest, announcement.token)
        await self._send_settled(announcement)  # if a send in flight lands, `_send` does

    async def _send_settled(self, announcement: Announcement) -> None:
        """Tell every replica that the change of `announcement` has ended (committed, or
        rolled back). Not sent, its mark lives out its lifetime: slower, not wrong."""
        if announcement.entry is None or announcement.boot is None:
            return
        try:
            await self._settle_entry(
                keys=[BOOT_KEY, STREAM_KEY],
                args=[
                    announcement.digest.hex(),
                    int(self._mark_seconds * 1000),
                    announcement.entry,
                    announcement.boot,
                ],
                client=self._client,
            )
        except (RedisError, OSError) as exc:
            self._warn("a settled change not announced (its mark lives out its time): %s", exc)

    def _incapable(self) -> bool:
        return self._capable is False

    async def _settle_off(self) -> None:
        """An incapable replica's revoke: not announced, so it answers once no lease can
        hold. `mp:leases:off` stops every renewal; once it has held our field continuously
        for two lease periods, every lease granted before has ended locally."""
        pause = 0.01
        while True:
            await self._refresh_off(self._client)
            since = self._off_since
            if since is not None and _now() >= since + 2 * self._lease + MARGIN_SECONDS:
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    async def _refresh_off(self, client: aioredis.Redis) -> None:
        """Write our field of `mp:leases:off` and push its expiry. A new field (the key had
        expired, or Redis restarted) or a failure starts the count again: leases may have
        been granted meanwhile."""
        try:
            async with client.pipeline(transaction=True) as pipe:
                pipe.hset(OFF_KEY, self._id, 1)
                pipe.pexpire(OFF_KEY, OFF_LEASES * self._lease_ms)
                added, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            self._off_since = None
            self._warn("cannot stop the other replicas' leases: %s; revokes wait", exc)
            return
        if added or self._off_since is None:
            self._off_since = _now()

    def _warn(self, message: str, exc: BaseException) -> None:
        """Log at most once a minute: these repeat on every renewal."""
        now = _now()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning(message, exc)

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._renewing(), name="lease-renew"),
            asyncio.create_task(self._reading(), name="lease-read"),
        ]

    async def close(self) -> None:
        # Every loop has ended before the lease is given back: a renewal still running
        # could otherwise write it again after, leaving a silent peer for FORGET_SECONDS.
        self._closing = True
        for task in self._tasks:
            await stop(task)
        with contextlib.suppress(RedisError, OSError):
            # Leaving cleanly: other replicas need not take this lease for a silent peer.
            await self._renewer.zrem(LEASES_KEY, self._id)
            await self._renewer.hdel(ACKS_KEY, self._id)
        await self._reader.aclose()
        await self._renewer.aclose()

    @property
    def _lease_ms(self) -> int:
        return int(self._lease * 1000)

    def _silent_long_enough(self) -> bool:
        """Whether every other replica has either seen this one's lease lapse or lost its
        own by now: two lease periods since the last renewal that may have run in Redis.
        (A replica that never held one can only wait out the others' leases, in case Redis
        is down for all: the design note's exceptions.)"""
        return _now() >= self._renewed_at + 2 * self._lease + MARGIN_SECONDS

    def _mark(self, digest: Digest, token: Token) -> None:
        """Mark `digest` (`token`: its Redis run and stream entry, or an own announcement's
        number); the expired marks are dropped once per doubling (a prune on every mark
        stalled the event loop half a second per stream batch at 10,000 marks)."""
        now = time.monotonic()
        if len(self._marks) > self._prune_above:
            self._marks.prune(now)
            self._prune_above = max(PRUNE_ABOVE, 2 * len(self._marks))
        self._marks.mark(digest, token, now + self._mark_seconds)

    def _settle_mark(self, digest: Digest, token: Token) -> None:
        now = time.monotonic()
        self._marks.settle(digest, token, now, now + self._mark_seconds)

    async def _send(self, announcement: Announcement, client: aioredis.Redis) -> None:
        boot, entry = await self._announce(
            keys=[BOOT_KEY, BOOT_AT_KEY, STREAM_KEY],
            args=[_fresh_boot(), announcement.digest.hex(), int(self._mark_seconds * 1000)],
            client=client,
        )
        announcement.boot, announcement.entry = _as_bytes(boot), _as_bytes(entry)
        if self._unsent.get(announcement.digest) is announcement:
            del self._unsent[announcement.digest]  # not a later announcement of the digest
        if announcement.released:  # rolled back while this was on its way
            await self._send_settled(announcement)

    async def _try_send(self, announcement: Announcement, client: aioredis.Redis) -> bool:
        try:
            await self._send(announcement, client)
        except (RedisError, OSError):
            return False
        return True

    async def _check_capable(self) -> None:
        """Before the first renewal: whether this Redis can carry leases at all. One that
        refuses for good (older than 6.2, an ACL) would refuse every announcement while
        renewals pass: the replica becomes incapable (`_settle_off`). Any other error
        (READONLY in a failover, LOADING, MISCONF, ...) is probed again; until then the
        replica holds no lease and its revokes are announced (or wait) as usual."""
        while self._capable is None and not self._closing:
            try:
                await self._probe(keys=[STREAM_KEY], client=self._renewer)
            except ResponseError as exc:
                if _permanent(exc):
                    log.warning("Redis cannot carry cache leases (%s): no replica holds one", exc)
                    self._capable = False
                    return
                self._warn("lease probe refused, retrying: %s", exc)
            except (RedisError, OSError):
                pass
            else:
                self._capable = True
                return
            await asyncio.sleep(self._lease / 3)

    async def _renewing(self) -> None:
        await self._check_capable()
        while not self._closing:
            if self._capable is False:
                await self._refresh_off(self._renewer)
                await asyncio.sleep(self._lease)
                continue
            try:
                await self._renew_once()
            except ResponseError as exc:
                self._warn("lease not renewed, Redis refuses: %s", exc)
            except (RedisError, OSError) as exc:
                if _now() >= self._valid_until:
                    log.debug("lease not renewed: %s", exc)
            await asyncio.sleep(self._lease / 3)

    async def _renew_once(self) -> None:
        if self._unreachable_settles:
            return  # a revoke counts this replica's silence from the last renewal sent
        sent = _now()
        for announcement in list(self._unsent.values()):
            if not await self._try_send(announcement, self._renewer):
                return  # announced before this replica may count as present again
        for _ in range(2):
            await self._catch_up()
            try:
                raw_boot, silent = await self._renew(
                    keys=[BOOT_KEY, BOOT_AT_KEY, LEASES_KEY, ACKS_KEY, STREAM_KEY, OFF_KEY],
                    args=[
                        _fresh_boot(),
                        self._id,
                        self._lease_ms,
                        self._position,
                        FORGET_MS,
                        self._boot or b"",
                    ],
                    client=self._renewer,
                )
            except (RedisError, OSError):
                # Its reply was lost, not necessarily the renewal: it may have run, or run
                # once its request arrives, and pushed the lease's end in Redis later.
                self._renewed_at = _now() + self._renew_timeout
                raise
            self._renewed_at = _now()
            boot = _as_bytes(raw_boot)
            if boot == self._boot:
                break
            if self._boot is not None:
                log.warning("Redis lost its revocations (restart?); cached keys forgotten")
            self._boot, self._position = boot, b"0-0"
            self._break()
        else:
            return
        if int(silent) < 0:  # a replica cannot carry leases: none holds
            self._silent_peers = 0
            self._break()
            return
        self._silent_peers = int(silent)
        if self._silent_peers:
            self._break()
            return
        if _now() >= self._valid_until:
            self._epoch += 1  # a new run: nothing cached before it is vouched for
        self._valid_until = sent + self._lease - MARGIN_SECONDS

    def _break(self) -> None:
        if _now() < self._valid_until:
            self._epoch += 1
        self._valid_until = 0.0

    async def _catch_up(self) -> None:
        """Take in the stream up to its tip, without blocking."""
        while await self._read(self._renewer, block=None):
            pass

    async def _reading(self) -> None:
        while not self._closing and self._capable is not False:
            try:
                if await self._read(self._reader, block=READ_BLOCK_MS):
                    await self._reader.hset(ACKS_KEY, self._id, self._position)
            except (RedisError, OSError):
                await asyncio.sleep(0.2)

    async def _read(self, client: aioredis.Redis, block: int | None) -> bool:
        """Take in the entries after our position; False if it found none or was dropped."""
        boot, position = self._boot, self._position
        if boot is None:
            await asyncio.sleep(RENEWAL_WAIT_SECONDS)
            return False
        entries = _entries(await client.xread({STREAM_KEY: position}, count=1000, block=block))
        if any(e.boot not in (None, boot) for e in entries) and not await self._current(
            boot, client
        ):
            await asyncio.sleep(RENEWAL_WAIT_SECONDS)  # the new stream is read from its start
            return False
        return self._take_in(entries, boot)

    async def _current(self, boot: bytes, client: aioredis.Redis) -> bool:
        """Whether `boot` is still Redis's boot marker, after a read found an entry written
        under another one.

        Either the read was answered by a later Redis run, or under a later marker: redis-py
        retries a read cut by a restart on a fresh connection, and a read sent after a
        reconnect reaches the new run before a renewal notices it. Marked under our marker,
        those entries would never see their settles (read under the new one), so the read is
        dropped. Or the entries are older than our marker: a restart from a snapshot, or a
        lost marker, leaves the stream as it was, and those are read as ours, as before."""
        current = await self._current_boot(keys=[BOOT_KEY], client=client)
        return current is not None and _as_bytes(current) == boot

    def _take_in(self, entries: list[Entry], boot: bytes) -> bool:
        """Mark and settle what a read of the stream of `boot` found, moving the position
        past every entry, of a kind this code knows or not; False if there were none or
        the read was dropped (True even if the other read had taken them all in already).

        A read that began before the boot marker changed is dropped: the new stream is read
        from its start, and the change of run already distrusts every cache entry.
        An entry at or before the position was taken in by the other read of the stream
        (the reader's and the renewer's overlap): marked again after its settle, it would
        stay pending."""
        if self._boot != boot:
            return False
        for entry, digest, settles, _ in entries:
            if _order(entry) <= _order(self._position):
                continue
            if digest is not None:
                if settles is None:
                    self._mark(digest, boot + b"/" + entry)
                else:
                    self._settle_mark(digest, boot + b"/" + settles)
            self._position = entry
        return bool(entries)


def _permanent(exc: ResponseError) -> bool:
    if isinstance(exc, NoPermissionError):
        return True
    message = str(exc).lower()
    return any(kind in message for kind in PERMANENT_ERRORS)


class Entry(NamedTuple):
    """A stream entry."""

    id: bytes
    digest: Digest | None
    """None: a kind of entry this code does not know."""
    settles: bytes | None
    """For a settle, the id of the mark it settles; None: the entry is a mark."""
    boot: bytes | None
    """The boot marker it was written under (None: written by code that predates it)."""


def _entries(answer: object) -> list[Entry]:
    """Every entry of an XREAD answer on our one stream."""
    if not isinstance(answer, list) or not answer:
        return []
    found: list[Entry] = []
    for raw_entry, fields in answer[0][1]:
        digest = fields.get(b"d") or fields.get("d")
        settles = fields.get(b"m") or fields.get("m")
        boot = fields.get(b"b") or fields.get("b")
        found.append(
            Entry(
                _as_bytes(raw_entry),
                None if digest is None else _digest(digest),
                None if settles is None else _as_bytes(settles),
                None if boot is None else _as_bytes(boot),
            )
        )
    return found


def _order(entry: bytes) -> tuple[int, int]:
    """A stream entry id (`<ms>-<seq>`) as what orders it."""
    ms, _, seq = entry.partition(b"-")
    return int(ms), int(seq)


def _digest(hex_text: bytes | str) -> Digest:
    return Digest(bytes.fromhex(_as_bytes(hex_text).decode()))


def _clock() -> Callable[[], float]:
    """Seconds that keep counting while the host sleeps (CLOCK_BOOTTIME on Linux): the
    monotonic clock stops during a suspend, and a lease would outlive its end in Redis.
    (A paused VM's clock may not count the pause: the design note's assumptions.)"""
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    if boottime is None:
        return time.monotonic
    return functools.partial(time.clock_gettime, boottime)


_now = _clock()


def _fresh_boot() -> str:
    """A boot marker for Redis to keep if it has none (it restarted): new on every call, so
    that a restart is noticed even by the replica that set the marker before it."""
    return secrets.token_hex(16)


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else value
