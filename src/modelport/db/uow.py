"""The unit of work: one transaction per request, with hooks for after it ends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

AfterCommit = Callable[[], Awaitable[None] | None]


class UnitOfWork:
    """A session inside one transaction. Services write through it; they never commit.

    Work that must follow a durable change (evicting a verifier cache, telling other
    replicas) registers with `after_commit`, so it can never run for a rolled-back change.
    Work that must follow the transaction's end either way registers with `after_end`.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._hooks: list[tuple[AfterCommit, bool]] = []
        """Each hook, and whether it runs after a rollback too."""

    def after_commit(self, hook: AfterCommit) -> None:
        self._hooks.append((hook, False))

    def after_end(self, hook: AfterCommit) -> None:
        """Run `hook` once the transaction has committed (in order with the after-commit
        hooks) or rolled back; not when the commit itself failed (it may have happened)."""
        self._hooks.append((hook, True))

    async def committed(self) -> None:
        """Run the hooks in order; called by `Database` only, once the commit succeeded."""
        await self._run(everything=True)

    async def rolled_back(self) -> None:
        """Run the after-end hooks in order; called by `Database` only, once the rollback
        has been done (or failed with the connection: nothing was committed either way)."""
        await self._run(everything=False)

    async def _run(self, *, everything: bool) -> None:
        hooks, self._hooks = self._hooks, []
        for hook, on_rollback in hooks:
            if everything or on_rollback:
                result = hook()
                if result is not None:
                    await result
