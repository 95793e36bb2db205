"""The unit of work: one transaction per request, with hooks for after the commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

AfterCommit = Callable[[], Awaitable[None] | None]


class UnitOfWork:
    """A session inside one transaction. Services write through it; they never commit.

    Work that must follow a durable change (evicting a verifier cache, telling other
    replicas) registers with `after_commit`, so it can never run for a rolled-back change.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._after_commit: list[AfterCommit] = []

    def after_commit(self, hook: AfterCommit) -> None:
        self._after_commit.append(hook)

    async def committed(self) -> None:
        """Run the after-commit hooks in order; called by `Database.write` only."""
        hooks, self._after_commit = self._after_commit, []
        for hook in hooks:
            result = hook()
            if result is not None:
                await result
