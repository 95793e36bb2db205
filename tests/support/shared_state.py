"""The parent's side of `serve --workers` in a test's own event loop: a real `StateServer` on
a real Unix socket, holding the in-memory pieces a test gives it."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from modelport.infra.cooldown import CooldownPolicy, MemoryDeploymentHealth
from modelport.infra.credit import MemoryCreditLedger
from modelport.infra.key_counters import MemoryKeyLimitStore
from modelport.infra.ratelimit import MemoryRateLimiter
from modelport.infra.shared_state import (
    HealthBoard,
    SharedTargets,
    StateClient,
    StateServer,
    WorkerLink,
)
from modelport.infra.spend import SettledLoader


async def _nothing_spent(key_id: uuid.UUID, month: str = "") -> int:
    return 0


def targets(
    *,
    settled: SettledLoader = _nothing_spent,
    credit: MemoryCreditLedger | None = None,
    policy: CooldownPolicy | None = None,
) -> SharedTargets:
    """What a parent holds, with the loaders a test gives."""
    return SharedTargets(
        MemoryRateLimiter(),
        MemoryKeyLimitStore(settled),
        credit or MemoryCreditLedger(_nothing_spent),
        HealthBoard(MemoryDeploymentHealth(policy or CooldownPolicy(3, 60.0, 30.0))),
    )


@asynccontextmanager
async def parent(held: SharedTargets) -> AsyncIterator[StateClient]:
    """A worker's client of a parent serving `held`."""
    folder = Path(tempfile.mkdtemp(prefix="mp-state-"))  # short: a socket path has a limit
    link = WorkerLink(folder)
    server = StateServer(link.socket, held)
    await server.start()
    client = StateClient(link.socket)
    try:
        yield client
    finally:
        await client.close()
        await server.close()
        shutil.rmtree(folder, ignore_errors=True)


def parent_gone() -> StateClient:
    """A worker's client whose parent has died: nothing listens on its socket."""
    return StateClient(Path(tempfile.gettempdir()) / f"mp-gone-{uuid.uuid4().hex}.sock")
