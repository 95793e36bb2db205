"""Counters one server's workers share without Redis: the parent holds them, workers ask.

`serve --workers N` on one machine with no Redis: the rate limiters, the per-key limit
counters, prepaid credit and deployment cooldowns must count once for the whole server
(a key with 10 requests a minute gets 10, not 10 x N). The parent keeps the in-memory
implementations, exactly those a single process uses, and serves them on a Unix socket;
each worker's `Shared*` stand-ins forward a call (an admission: one round trip; a
settlement: one message nobody waits for), and only when the call counts something (a key
with no limits costs nothing). Calls are pickled frames between processes of one server,
over a socket in a private folder; the unpickler still accepts only the few types the
calls carry.

If the parent cannot be reached (it died: its workers are being stopped), a worker answers
from its own counters, as a replica does when Redis is away.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import logging
import os
import pickle
import struct
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelport.errors import StorageUnavailable
from modelport.infra.background import Poller
from modelport.infra.breaker import Breaker
from modelport.infra.cooldown import MemoryDeploymentHealth
from modelport.infra.credit import MemoryCreditLedger
from modelport.infra.key_counters import (
    LimitCheck,
    MemoryKeyLimitStore,
    MinuteCounts,
    SpendHold,
    Verdict,
)
from modelport.infra.ratelimit import Allowance, MemoryRateLimiter

log = logging.getLogger("modelport.workers")

_LENGTH = struct.Struct("!I")
NO_ANSWER = -1
"""The call id of a call whose answer nobody waits for."""
POLL_SECONDS = 1.0
"""How often a worker copies the cooldowns in force from the parent (as from Redis)."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        found = _CLASSES.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a shared call")
        return found


_CLASSES: dict[tuple[str, str], type] = {
    (kind.__module__, kind.__qualname__): kind
    for kind in (uuid.UUID, LimitCheck, SpendHold, Verdict, Allowance, MinuteCounts)
}
"""The only classes a frame may name."""
_REDUCERS: dict[type, Any] = {
    # Each by its constructor's arguments: a slots dataclass's own pickling goes through
    # `dataclasses.fields()`, about a third of a call's CPU.
    uuid.UUID: lambda u: (uuid.UUID, (None, None, None, None, u.int)),
    LimitCheck: lambda c: (LimitCheck, (c.key_id, c.rpm_limit, c.tpm_limit, c.spend)),
    SpendHold: lambda h: (SpendHold, (h.month, h.limit, h.amount, h.request_id)),
    Verdict: lambda v: (Verdict, (v.requests, v.tokens, v.refused)),
    Allowance: lambda a: (Allowance, (a.limit, a.remaining, a.reset_at)),
    MinuteCounts: lambda m: (MinuteCounts, (m.requests, m.tokens, m.reset_at)),
}


def _frame(value: object) -> bytes:
    body = io.BytesIO()
    body.write(b"\0\0\0\0")
    pickler = pickle.Pickler(body, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _REDUCERS
    pickler.dump(value)
    frame = body.getbuffer()
    _LENGTH.pack_into(frame, 0, len(frame) - _LENGTH.size)
    return bytes(frame)


async def _read(reader: asyncio.StreamReader) -> Any:
    """The next frame's value; raises IncompleteReadError at the end of the stream."""
    (length,) = _LENGTH.unpack(await reader.readexactly(_LENGTH.size))
    return _Unpickler(io.BytesIO(await reader.readexactly(length))).load()


class _Outbox:
    """Frames written in one turn of the event loop leave in one write: under load a worker's
    many calls cost the parent one wakeup, and each side one system call."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self._frames: list[bytes] = []

    def send(self, frame: bytes) -> None:
        if not self._frames:
            asyncio.get_running_loop().call_soon(self._flush)
        self._frames.append(frame)

    def _flush(self) -> None:
        frames, self._frames = self._frames, []
        if not self.writer.is_closing():
            self.writer.write(b"".join(frames))


@dataclass(frozen=True, slots=True)
class WorkerLink:
    """Where one server's workers meet their parent and each other: a private folder the
    parent made; and which worker this is."""

    folder: Path
    index: int = 0
    """The worker's number; a replacement takes the number of the worker it replaces."""

    @property
    def socket(self) -> Path:
        return self.folder / "state.sock"

    @property
    def revocations(self) -> Path:
        return self.folder / "revocations"

    @property
    def heartbeats(self) -> Path:
        return self.folder / "heartbeats"

    def metrics(self, index: int) -> Path:
        """Where worker `index` answers the others' scrapes."""
        return self.folder / f"metrics-{index}.sock"

    def numbered(self, index: int) -> WorkerLink:
        return WorkerLink(self.folder, index)


class HealthBoard:
    """The parent's cooldowns, with the two calls workers make."""

    def __init__(self, health: MemoryDeploymentHealth) -> None:
        self._health = health
        self._cooled: set[str] = set()

    async def failed(self, deployment: str, retry_after: float | None) -> float | None:
        """Note a failure; the cooldown's end (monotonic, one clock for every worker)."""
        await self._health.failed(deployment, retry_after)
        until = self._health.until(deployment)
        if until is not None:
            self._cooled.add(deployment)
        return until

    async def snapshot(self) -> dict[str, float]:
        """The cooldowns in force."""
        found = {name: self._health.until(name) for name in self._cooled}
        self._cooled = {name for name, until in found.items() if until is not None}
        return {name: until for name, until in found.items() if until is not None}


@dataclass(frozen=True, slots=True)
class SharedTargets:
    """What the parent holds for its workers: the single-process implementations."""

    rate_limiter: MemoryRateLimiter
    key_limits: MemoryKeyLimitStore
    credit: MemoryCreditLedger
    health: HealthBoard

    def methods(self) -> Mapping[str, Mapping[str, Any]]:
        """Every call a worker may make, by target and method name."""
        return {
            "rate": {"hit": self.rate_limiter.hit},
            "limits": {
                "admit": self.key_limits.admit,
                "settle": self.key_limits.settle,
                "minute": self.key_limits.minute,
            },
            "credit": {"reserve": self.credit.reserve, "settle": self.credit.settle},
            "health": {"failed": self.health.failed, "snapshot": self.health.snapshot},
        }


class _Holds:
    """What one worker's calls reserved (monthly spend, credit) and it has not settled yet.

    A worker killed mid-request never settles: its connection closes, and the parent
    releases these at no cost at once, as nothing was spent; without this they would hold
    the key's spend or credit for `RESERVATION_SECONDS`, and a prepaid key be refused
    meanwhile.
    """

    def __init__(self, targets: SharedTargets) -> None:
        self._targets = targets
        self._held: dict[tuple[str, uuid.UUID, str], Any] = {}
        """By (target, key, request id): the `LimitCheck`, or the credit's amount."""

    def note(self, target: str, method: str, args: tuple[Any, ...], result: Any) -> None:
        """Record what a call that succeeded reserved or settled."""
        if target == "limits" and method in ("admit", "settle"):
            check: LimitCheck = args[0]
            if check.spend is None:
                return
            slot = (target, check.key_id, check.spend.request_id)
            if method == "settle":
                self._held.pop(slot, None)
            elif result.refused is None:
                self._held[slot] = check
        elif target == "credit" and method == "reserve" and result:
            key_id, _granted, amount, request_id = args
            self._held[(target, key_id, request_id)] = amount
        elif target == "credit" and method == "settle":
            key_id, request_id, _amount, _cost = args
            self._held.pop((target, key_id, request_id), None)

    async def release(self) -> None:
        held, self._held = self._held, {}
        for (target, key_id, request_id), hold in held.items():
            if target == "limits":
                await self._targets.key_limits.settle(hold, 0, 0)
            else:
                await self._targets.credit.settle(key_id, request_id, hold, 0)


class StateServer:
    """The parent's side: answers workers' calls on a Unix socket, concurrently."""

    def __init__(self, path: Path, targets: SharedTargets) -> None:
        self._path = path
        self._targets = targets
        self._methods = targets.methods()
        self._server: asyncio.Server | None = None
        self._lines: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}
        """Each worker connection's handler, and its end of the connection."""

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._connection, path=self._path)
        os.chmod(self._path, 0o600)

    async def close(self) -> None:
        """Stop listening and close every worker's connection; return once their handlers
        have ended (as when a worker goes: no handler is left to be cancelled)."""
        if self._server is not None:
            self._server.close()
        lines = dict(self._lines)
        for writer in lines.values():
            writer.close()
        if lines:
            await asyncio.wait(lines)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        self._lines[handler] = writer
        try:
            await self._serve(reader, writer)
        finally:
            del self._lines[handler]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        outbox = _Outbox(writer)
        holds = _Holds(self._targets)
        calls: set[asyncio.Task[None]] = set()
        try:
            while True:
                call_id, target, method, args = await _read(reader)
                task = asyncio.create_task(
                    self._answer(outbox, holds, call_id, target, method, args)
                )
                calls.add(task)
                task.add_done_callback(calls.discard)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the worker is gone
        except pickle.UnpicklingError:
            log.exception("a shared call was refused")
        finally:
            writer.close()
        if calls:  # its last calls may still be reserving
            await asyncio.wait(calls)
        await holds.release()

    async def _answer(
        self,
        outbox: _Outbox,
        holds: _Holds,
        call_id: int,
        target: str,
        method: str,
        args: tuple[Any, ...],
    ) -> None:
        try:
            value = await self._methods[target][method](*args)
            holds.note(target, method, args, value)
            result = ("ok", value)
        except StorageUnavailable as exc:
            result = ("unavailable", str(exc))
        except Exception:
            log.exception("a shared call failed", extra={"target": target, "method": method})
            result = ("failed", None)
        if call_id != NO_ANSWER:
            outbox.send(_frame((call_id, *result)))


class StateUnreachable(Exception):
    """The parent did not answer: the caller falls back to its own counters."""


class StateClient:
    """A worker's one connection to its parent, shared by every call in flight."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._ids = itertools.count()
        self._pending: dict[int, asyncio.Future[tuple[str, Any]]] = {}
        self._outbox: _Outbox | None = None
        self._connecting: asyncio.Lock | None = None
        self._reading: asyncio.Task[None] | None = None
        self._breaker = Breaker()

    async def call(self, target: str, method: str, *args: Any) -> Any:
        """The parent's answer. Raises StateUnreachable, or StorageUnavailable as the
        parent's implementation did."""
        if self._breaker.open:
            raise StateUnreachable
        try:
            outbox = self._outbox or await self._connect()
            call_id = next(self._ids)
            answer = asyncio.get_running_loop().create_future()
            self._pending[call_id] = answer
            outbox.send(_frame((call_id, target, method, args)))
            status, value = await answer
        except (OSError, StateUnreachable):
            self._breaker.trip()
            raise StateUnreachable from None
        if status == "unavailable":
            raise StorageUnavailable(value)
        if status != "ok":
            raise StateUnreachable
        return value

    async def tell(self, target: str, method: str, *args: Any) -> None:
        """Make a call whose answer nobody waits for (a settlement): the parent runs it after
        every call this worker sent before. Raises StateUnreachable if it cannot be sent."""
        if self._breaker.open:
            raise StateUnreachable
        try:
            outbox = self._outbox or await self._connect()
            outbox.send(_frame((NO_ANSWER, target, method, args)))
        except OSError:
            self._breaker.trip()
            raise StateUnreachable from None

    async def _connect(self) -> _Outbox:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._outbox is None:
                reader, writer = await asyncio.open_unix_connection(self._path)
                self._outbox = _Outbox(writer)
                self._reading = asyncio.create_task(self._answers(reader), name="shared-state")
            return self._outbox

    async def _answers(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                call_id, status, value = await _read(reader)
                answer = self._pending.pop(call_id, None)
                if answer is not None and not answer.done():
                    answer.set_result((status, value))
        except (asyncio.IncompleteReadError, OSError, pickle.UnpicklingError):
            log.warning("the parent process is gone: this worker counts on its own")
        finally:
            if self._outbox is not None:
                self._outbox.writer.close()
            self._outbox = None
            pending, self._pending = self._pending, {}
            for answer in pending.values():
                if not answer.done():
                    answer.set_exception(StateUnreachable())

    async def close(self) -> None:
        if self._outbox is not None:
            self._outbox.writer.close()
        if self._reading is not None:
            self._reading.cancel()


class SharedRateLimiter:
    """`RateLimiter` counted in the parent."""

    def __init__(self, client: StateClient, fallback: MemoryRateLimiter) -> None:
        self._client = client
        self._fallback = fallback

    async def hit(self, bucket: str, limit: int, window: int, cost: int = 1) -> Allowance:
        try:
            allowance: Allowance = await self._client.call(
                "rate", "hit", bucket, limit, window, cost
            )
        except StateUnreachable:
            return await self._fallback.hit(bucket, limit, window, cost)
        return allowance


class SharedKeyLimitStore:
    """`KeyLimitStore` counted in the parent; a key with no limits asks nothing."""

    def __init__(self, client: StateClient, fallback: MemoryKeyLimitStore) -> None:
        self._client = client
        self._fallback = fallback

    async def admit(self, check: LimitCheck) -> Verdict:
        if check.rpm_limit is None and check.tpm_limit is None and check.spend is None:
            return Verdict()
        try:
            verdict: Verdict = await self._client.call("limits", "admit", check)
        except StateUnreachable:
            return await self._fallback.admit(check)
        return verdict

    async def settle(self, check: LimitCheck, tokens: int, cost: int) -> None:
        if (check.tpm_limit is None or not tokens) and check.spend is None:
            return
        try:
            await self._client.tell("limits", "settle", check, tokens, cost)
        except StateUnreachable:
            await self._fallback.settle(check, tokens, cost)

    async def minute(self, key_id: uuid.UUID) -> MinuteCounts:
        try:
            counts: MinuteCounts = await self._client.call("limits", "minute", key_id)
        except StateUnreachable:
            return await self._fallback.minute(key_id)
        return counts


class SharedCreditLedger:
    """`CreditLedger` counted in the parent."""

    def __init__(self, client: StateClient, fallback: MemoryCreditLedger) -> None:
        self._client = client
        self._fallback = fallback

    async def reserve(self, key_id: uuid.UUID, granted: int, amount: int, request_id: str) -> bool:
        try:
            reserved: bool = await self._client.call(
                "credit", "reserve", key_id, granted, amount, request_id
            )
        except StateUnreachable:
            return await self._fallback.reserve(key_id, granted, amount, request_id)
        return reserved

    async def settle(self, key_id: uuid.UUID, request_id: str, amount: int, cost: int) -> None:
        try:
            await self._client.tell("credit", "settle", key_id, request_id, amount, cost)
        except StateUnreachable:
            await self._fallback.settle(key_id, request_id, amount, cost)


class SharedDeploymentHealth:
    """`DeploymentHealth` counted in the parent: a failure is noted there, and every worker
    copies the cooldowns in force each `POLL_SECONDS` (as replicas do from Redis); the
    worker that saw the failure applies its cooldown at once."""

    def __init__(
        self,
        client: StateClient,
        local: MemoryDeploymentHealth,
        poll: float = POLL_SECONDS,
    ) -> None:
        self._client = client
        self._local = local
        self._poller = Poller(self._refresh, poll, "cooldown-poll")

    def cooling(self, deployment: str, now: float) -> bool:
        return self._local.cooling(deployment, now)

    def until(self, deployment: str) -> float | None:
        return self._local.until(deployment)

    async def failed(self, deployment: str, retry_after: float | None = None) -> None:
        try:
            until = await self._client.call("health", "failed", deployment, retry_after)
        except StateUnreachable:
            await self._local.failed(deployment, retry_after)
            return
        if until is not None:
            self._local.cool(deployment, until)

    async def start(self) -> None:
        """Learn the cooldowns in force, then keep learning them in the background."""
        await self._poller.start()

    async def close(self) -> None:
        await self._poller.close()

    async def _refresh(self) -> None:
        """Copy the parent's cooldowns in force into this worker's memory."""
        with contextlib.suppress(StateUnreachable):
            cooling = await self._client.call("health", "snapshot")
            for deployment, until in cooling.items():
                self._local.cool(deployment, until)
